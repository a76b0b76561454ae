/** bench:http progress lines (stderr) and error text. */

export const log = (line: string) => process.stderr.write(`${line}\n`)
export const errorMessage = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e))
