/**
 * The live change stream (`GET /api/v1/audit/stream`, Server-Sent Events) read with fetch, so
 * the session token goes in the Authorization header (EventSource cannot send one). Resumes
 * after its last id when the connection drops.
 */
import { type ChangeEvent, session } from './api.js'

export interface StreamHandle {
  close(): void
}

export function followStream(
  params: string,
  onEvent: (e: ChangeEvent) => void,
  onState: (live: boolean) => void,
): StreamHandle {
  const abort = new AbortController()
  let lastId: string | undefined
  const run = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' }
        if (session.token !== null) headers.authorization = `Bearer ${session.token}`
        if (lastId !== undefined) headers['last-event-id'] = lastId
        const res = await fetch(`/api/v1/audit/stream${params}`, { headers, signal: abort.signal })
        if (res.status === 401) {
          // The session ended (expired, signed out elsewhere): retrying cannot help.
          const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } }
          session.ended(body.error?.message ?? 'the session is no longer valid.')
          return
        }
        if (!res.ok || res.body === null) throw new Error(`stream answered ${res.status}`)
        onState(true)
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
          let end = buffer.indexOf('\n\n')
          while (end >= 0) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const msg = parseBlock(block)
            if (msg.id !== undefined) lastId = msg.id
            if (msg.event === 'change' && msg.data !== '') onEvent(JSON.parse(msg.data) as ChangeEvent)
            end = buffer.indexOf('\n\n')
          }
        }
      } catch {
        if (abort.signal.aborted) return
      }
      onState(false)
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
  void run()
  return { close: () => abort.abort() }
}

function parseBlock(block: string): { id?: string; event: string; data: string } {
  let id: string | undefined
  let event = 'message'
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'id') id = value
    else if (field === 'event') event = value
    else if (field === 'data') data.push(value)
  }
  return { ...(id === undefined ? {} : { id }), event, data: data.join('\n') }
}
