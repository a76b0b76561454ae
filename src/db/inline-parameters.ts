/**
 * Replaces the placeholders of a compiled statement (`$1` or `?`) with rendered literals,
 * skipping quoted identifiers and string literals. Used only to send several statements
 * in one round trip; values are escaped by the driver's own escaping function.
 */
export function inlineParameters(
  sql: string,
  parameters: readonly unknown[],
  style: '$' | '?',
  render: (value: unknown) => string,
): string {
  let out = ''
  let next = 0
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = sql.indexOf(ch, i + 1)
      const stop = end === -1 ? sql.length : end
      out += sql.slice(i, stop + 1)
      i = stop
    } else if (style === '$' && ch === '$' && /\d/.test(sql[i + 1] ?? '')) {
      let j = i + 1
      while (j < sql.length && /\d/.test(sql[j]!)) j++
      out += render(parameters[Number(sql.slice(i + 1, j)) - 1])
      i = j - 1
    } else if (style === '?' && ch === '?') {
      out += render(parameters[next++])
    } else {
      out += ch
    }
  }
  return out
}
