import { randomBytes } from 'node:crypto';
import type { Sql } from './client.js';

/** Setting keys (table `capture_settings`). */
export const SETTING = {
  /** Suffix of this database's capture job ids. */
  queueEpoch: 'queue_epoch',
  /** HMAC key of the erased-author hashes, unless CAPTURE_ERASURE_KEY sets one. */
  erasureKey: 'erasure_key',
} as const;

/** A setting's value, created with `make()` by the first process that asks: every process then reads the same. */
export async function settingOrCreate(sql: Sql, key: string, make: () => string): Promise<string> {
  const [row] = await sql<{ value: string }[]>`
    with ins as (insert into capture_settings (key, value) values (${key}, ${make()}) on conflict (key) do nothing returning value)
    select value from ins union all select value from capture_settings where key = ${key} limit 1`;
  return row!.value;
}

const epochs = new WeakMap<Sql, Promise<string>>();

/**
 * This database's queue epoch: a random word made once per database and part of every capture job id.
 * A fresh database that shares a queue prefix with another (a re-created staging database, a second
 * test run) then never meets the other's completed jobs under its posts' ids, which BullMQ would take
 * for duplicates and ignore. Read once per connection pool.
 */
export function queueEpoch(sql: Sql): Promise<string> {
  let p = epochs.get(sql);
  if (!p) {
    p = settingOrCreate(sql, SETTING.queueEpoch, () => randomBytes(4).toString('hex')).catch((err: unknown) => {
      epochs.delete(sql);
      throw err;
    });
    epochs.set(sql, p);
  }
  return p;
}
