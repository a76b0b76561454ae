import type { ServerResponse } from 'node:http'
import type { ChangeEvent, FeedEvent } from 'audited'
import { CHANGE_EVENT_FIELDS } from './schemas/records.js'

/** What one stream wants: equality on each given field (recordId only with table). */
export interface StreamFilter {
  readonly table?: string | undefined
  readonly action?: string | undefined
  readonly recordId?: string | undefined
}

/** Why a stream ended: its client went, it could not keep up, or the server shuts down. */
export type StreamEnd = 'client' | 'slow' | 'shutdown'

/** An event as the API's event routes answer it: the schema's fields, in its order. */
function present(event: ChangeEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of CHANGE_EVENT_FIELDS) out[key] = event[key]
  return out
}

/** One `change` message of the event stream (JSON has no raw line breaks: one data line). */
export function changeFrame(event: FeedEvent): string {
  return `id: ${event.cursor}\nevent: change\ndata: ${JSON.stringify(present(event))}\n\n`
}

/**
 * One client's `text/event-stream`, written straight to the response (a client that reads
 * keeps nothing in this process: the socket hands each frame to the kernel at once).
 * `cursor` is the place up to which every matching event was written (what a reconnect's
 * `Last-Event-ID` names). Writes from the shared follower are bounded: a client with more
 * than `maxBufferedBytes` unsent is disconnected, not buffered without end.
 */
export class LiveStream {
  /** Set once the stream's follower hands it only events after `cursor`. */
  live = false
  #ended: StreamEnd | undefined
  readonly #res: ServerResponse
  readonly #maxBufferedBytes: number
  readonly #onEnd: (stream: LiveStream, why: StreamEnd) => void

  constructor(
    readonly tenantId: string,
    readonly filter: StreamFilter,
    public cursor: string,
    res: ServerResponse,
    maxBufferedBytes: number,
    onEnd: (stream: LiveStream, why: StreamEnd) => void,
  ) {
    this.#res = res
    this.#maxBufferedBytes = maxBufferedBytes
    this.#onEnd = onEnd
    // However the exchange ends (client gone, socket destroyed, response ended), once.
    res.once('close', () => this.#end('client'))
  }

  get ended(): boolean {
    return this.#ended !== undefined
  }

  matches(event: ChangeEvent): boolean {
    const { table, action, recordId } = this.filter
    return (
      (table === undefined || event.table === table) &&
      (action === undefined || event.action === action) &&
      (recordId === undefined || event.recordId === recordId)
    )
  }

  /** Writes an event it matches and moves its cursor past it either way (`bounded`: see write). */
  deliver(event: FeedEvent, bounded: boolean): void {
    if (this.matches(event)) this.write(changeFrame(event), bounded)
    this.cursor = event.cursor
  }

  /** Bytes written and not yet taken by the kernel. */
  buffered(): number {
    return this.#res.writableLength
  }

  /**
   * `bounded`: when more than the bound already waits unsent, the client is disconnected
   * (what waits is dropped with the connection; it resumes from the last id it received).
   * Unbounded writes are the stream's own catch-up reads, which wait for `drained()`.
   */
  write(text: string, bounded: boolean): void {
    if (this.#ended !== undefined) return
    if (bounded && this.buffered() > this.#maxBufferedBytes) {
      this.#end('slow')
      this.#res.destroy()
      return
    }
    this.#res.write(text)
  }

  /** Resolves once what waits unsent was taken (at once when nothing waits) or the stream ended. */
  drained(): Promise<void> {
    if (this.#ended !== undefined || !this.#res.writableNeedDrain) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        this.#res.off('drain', done)
        this.#res.off('close', done)
        resolve()
      }
      this.#res.once('drain', done)
      this.#res.once('close', done)
    })
  }

  /** Ends the response cleanly (shutdown); one whose client does not read is cut after `graceMs`. */
  close(graceMs: number): void {
    if (this.#ended !== undefined) return
    this.#end('shutdown')
    this.#res.end()
    const cut = setTimeout(() => this.#res.destroy(), graceMs)
    cut.unref()
    this.#res.once('close', () => clearTimeout(cut))
  }

  #end(why: StreamEnd): void {
    if (this.#ended !== undefined) return
    this.#ended = why
    this.#onEnd(this, why)
  }
}
