import type { Kysely } from 'kysely'
import { CompactRange, fromHex, toHex } from '../packages/audited/src/integrity/merkle.js'

/**
 * What a database owner rewriting a log does last, after changing events and their leaves:
 * stores the right edge of the tree the leaves now make, as the sealer would have (verify
 * checks the stored right edge against the rebuilt tree).
 */
// biome-ignore lint/suspicious/noExplicitAny: the test edits the library's tables directly.
export async function rewriteRightEdge(k: Kysely<any>, logKey: string): Promise<void> {
  const leaves = await k
    .selectFrom('audited_log_leaves')
    .select('leaf_hash')
    .where('log_key', '=', logKey)
    .orderBy('leaf_index')
    .execute()
  const range = new CompactRange()
  for (const l of leaves) range.append(fromHex(String(l.leaf_hash)))
  await k
    .updateTable('audited_logs')
    .set({ frontier: range.hashes.map(toHex).join(',') })
    .where('log_key', '=', logKey)
    .execute()
}
