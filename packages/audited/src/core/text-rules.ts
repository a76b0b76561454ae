/**
 * One rule for text, whatever the database: no NUL character and no lone UTF-16
 * surrogate. SQLite stores both, PostgreSQL refuses them and MariaDB stores some of them
 * mangled, so data accepted on one database could not move to another (issue 7 R11). The
 * engine refuses them before the database, for row values and event JSON alike.
 */

/** `String.prototype.isWellFormed` (Node 20; not in the ES2022 lib types): false when the
 * string holds a lone surrogate. */
const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed

/** Why `text` cannot be stored, or undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'a NUL character (\\u0000)'
  if (!isWellFormed.call(text)) return 'a lone surrogate (invalid UTF-16)'
  return undefined
}

/** Characters as the databases count them in `varchar(n)`: Unicode code points. */
export function characterCount(text: string): number {
  let n = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    // A high surrogate followed by a low one is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--
        i++
      }
    }
  }
  return n
}
