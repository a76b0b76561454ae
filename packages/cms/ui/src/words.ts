/**
 * Word-level difference of two texts: tokens are words, runs of whitespace and single
 * punctuation marks; the longest common subsequence of the tokens is kept, the rest is
 * deleted or added. Pure (no DOM), so the Node tests run it as the browser does.
 */

export interface WordPart {
  readonly op: 'same' | 'add' | 'del'
  readonly text: string
}

/** Above this many token pairs the texts are shown as one deletion and one addition. */
const MAX_CELLS = 4_000_000

export function tokenize(text: string): string[] {
  return text.match(/\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? []
}

export function wordDiff(before: string, after: string): WordPart[] {
  const a = tokenize(before)
  const b = tokenize(after)
  // Common head and tail first: most edits touch a small part of a long text.
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let tail = 0
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++
  const midA = a.slice(head, a.length - tail)
  const midB = b.slice(head, b.length - tail)
  const parts: WordPart[] = []
  const push = (op: WordPart['op'], text: string) => {
    if (text === '') return
    const last = parts[parts.length - 1]
    if (last !== undefined && last.op === op) parts[parts.length - 1] = { op, text: last.text + text }
    else parts.push({ op, text })
  }
  push('same', a.slice(0, head).join(''))
  if (midA.length * midB.length > MAX_CELLS) {
    push('del', midA.join(''))
    push('add', midB.join(''))
  } else {
    for (const p of lcsParts(midA, midB)) push(p.op, p.text)
  }
  push('same', a.slice(a.length - tail).join(''))
  return parts
}

function lcsParts(a: readonly string[], b: readonly string[]): WordPart[] {
  const n = a.length
  const m = b.length
  // lengths[i][j]: LCS length of a[i..] and b[j..], row-major in one array.
  const w = m + 1
  const lengths = new Uint32Array((n + 1) * w)
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lengths[i * w + j] =
        a[i] === b[j]
          ? lengths[(i + 1) * w + j + 1]! + 1
          : Math.max(lengths[(i + 1) * w + j]!, lengths[i * w + j + 1]!)
  const out: WordPart[] = []
  let i = 0
  let j = 0
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: 'same', text: a[i]! })
      i++
      j++
    } else if (lengths[(i + 1) * w + j]! >= lengths[i * w + j + 1]!) out.push({ op: 'del', text: a[i++]! })
    else out.push({ op: 'add', text: b[j++]! })
  }
  while (i < n) out.push({ op: 'del', text: a[i++]! })
  while (j < m) out.push({ op: 'add', text: b[j++]! })
  return out
}
