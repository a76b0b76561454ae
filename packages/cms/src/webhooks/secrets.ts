/** The secrets that sign a subscription's deliveries now: its own, and the one it rotated
 * away from while that still signs (24 h after the rotation). */
export function signingSecrets(
  row: { secret: unknown; previous_secret?: unknown; previous_secret_until?: unknown },
  now = Date.now(),
): string[] {
  const secrets = [String(row.secret)]
  const until =
    row.previous_secret_until === null || row.previous_secret_until === undefined
      ? 0
      : new Date(row.previous_secret_until as string | Date).getTime()
  if (row.previous_secret !== null && row.previous_secret !== undefined && until > now)
    secrets.push(String(row.previous_secret))
  return secrets
}
