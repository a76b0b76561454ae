/** A read started ahead of its use: if the run stops before awaiting it, its failure is
 * not an unhandled rejection (awaiting it still throws). */
export function ahead<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined)
  return p
}
