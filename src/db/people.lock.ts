import type { Tx } from './client.js';

/**
 * Lock a person's rows in the order capture locks them: posts, identities, contacts, each in id
 * order. An erasure or a merge then waits for a capture batch (or it for them) and never deadlocks with one.
 */
export async function lockPeople(tx: Tx, contactIds: readonly number[], identityIds: readonly number[] = []): Promise<void> {
  const c = tx.array([...contactIds]);
  const i = tx.array([...identityIds]);
  await tx`
    select p.id from social_posts p
    where p.contact_id = any(${c}::bigint[])
       or p.identity_id in (select id from identities where contact_id = any(${c}::bigint[]) or id = any(${i}::bigint[]))
    order by p.id for update`;
  await tx`select id from identities where contact_id = any(${c}::bigint[]) or id = any(${i}::bigint[]) order by id for update`;
  await tx`select id from contacts where id = any(${c}::bigint[]) order by id for update`;
}

/** The ids of rows a query returned. */

export const ids = (rows: readonly { id: number }[]) => rows.map((r) => r.id);
