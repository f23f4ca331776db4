/**
 * X ids are snowflakes: the top 41 bits are milliseconds since X's epoch, so an id stands for a
 * moment. That lets a poll re-read a short window below its since_id (posts indexed late carry
 * older ids) and tells when a since_id is older than what recent search still accepts.
 * BigInt throughout: X ids exceed 2^53.
 */

/** X's snowflake epoch, 2010-11-04T01:42:54.657Z. */
export const X_EPOCH_MS = 1288834974657n;
const TIME_SHIFT = 22n;

/** The moment an X id was minted, in ms since 1970. */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> TIME_SHIFT) + X_EPOCH_MS);
}

/** The smallest X id minted at `ms` (ms since 1970); ids minted later compare greater. */
export function snowflakeAt(ms: number): string {
  const since = BigInt(Math.max(0, Math.floor(ms))) - X_EPOCH_MS;
  return (since > 0n ? since << TIME_SHIFT : 0n).toString();
}

/** The larger of two X ids (compared as numbers, never as strings). */
export function maxId(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return BigInt(a) >= BigInt(b) ? a : b;
}
