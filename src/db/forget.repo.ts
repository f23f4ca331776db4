import { ConflictError, NotFoundError } from '../errors.js';
import type { Platform } from '../types.js';
import type { Sql, Tx } from './client.js';
import { erasureKey, recordErasedAuthors } from './erasure.repo.js';
import type { PostRef } from './post-key.js';
import { eraseFromEvents } from './outbox.repo.js';
import { ids, lockPeople } from './people.lock.js';

// ---------------------------------------------------------------- erasure

export type ErasureMode = 'delete' | 'anonymize';

export interface ErasureReport {
  platform: Platform;
  userId: string;
  mode: ErasureMode;
  contacts: number;
  identities: number;
  posts: number;
  handles: number;
  leads: number;
  cases: number;
  opportunities: number;
  merges: number;
}

/**
 * Erase a person, found by one of their identities, in ONE transaction: their posts, every identity
 * and handle of their contact (and of contacts merged into it), the contact's personal data and its
 * merge history; their leads, cases and opportunities are deleted or anonymized (`mode`).
 */
export async function forgetPerson(sql: Sql, platform: Platform, userId: string, mode: ErasureMode): Promise<ErasureReport & { removedPosts: PostRef[] }> {
  const key = await erasureKey(sql);
  return sql.begin(async (tx) => {
    const [found] = await tx<{ id: number; contactId: number | null }[]>`
      select id, contact_id as "contactId" from identities where platform = ${platform} and external_user_id = ${userId}`;
    if (!found) throw new NotFoundError(`no identity ${platform}/${userId}`);
    const people =
      found.contactId === null
        ? []
        : ids(
            await tx<{ id: number }[]>`
      select id from contacts where id = ${found.contactId} or merged_into_id = ${found.contactId} order by id`,
          );
    await lockPeople(tx, people, [found.id]);
    // Read again under the locks: a capture batch may have linked the identity to a contact meanwhile.
    const [ident] = await tx<{ id: number; contactId: number | null }[]>`
      select id, contact_id as "contactId" from identities where id = ${found.id}`;
    if (!ident) throw new NotFoundError(`no identity ${platform}/${userId}`);
    if (ident.contactId !== found.contactId) throw new ConflictError(`${platform}/${userId} was linked to a contact meanwhile; try again`);
    const contactIds =
      ident.contactId === null
        ? []
        : ids(
            await tx<{ id: number }[]>`
            select id from contacts where id = ${ident.contactId} or merged_into_id = ${ident.contactId} order by id for update`,
          );
    const identityIds =
      contactIds.length === 0
        ? [ident.id]
        : ids(await tx<{ id: number }[]>`select id from identities where contact_id = any(${tx.array(contactIds)}::bigint[]) or id = ${ident.id}`);
    const c = tx.array(contactIds);
    // Kept as keyed hashes: a source that re-reads their old posts stores none of them again.
    await recordErasedAuthors(
      tx,
      key,
      await tx<{ platform: string; userId: string }[]>`
      select platform::text, external_user_id as "userId" from identities where id = any(${tx.array(identityIds)}::bigint[])`,
    );
    const posts = await tx<PostRef[]>`
      delete from social_posts where identity_id = any(${tx.array(identityIds)}::bigint[]) returning platform, external_id as "externalId"`;
    const leads = ids(await tx<{ id: number }[]>`select id from leads where contact_id = any(${c}::bigint[])`);
    const cases = ids(await tx<{ id: number }[]>`select id from cases where contact_id = any(${c}::bigint[])`);
    const opps = ids(
      await tx<{ id: number }[]>`select id from opportunities where contact_id = any(${c}::bigint[]) or lead_id = any(${tx.array(leads)}::bigint[])`,
    );
    const merges = await tx`delete from contact_merges where survivor_id = any(${c}::bigint[]) or merged_id = any(${c}::bigint[]) returning id`;
    const handles = await tx`delete from contact_handles where contact_id = any(${c}::bigint[]) returning id`;
    await removeWork(tx, mode, { contacts: c, identityIds, leads, cases, opps });
    await eraseFromEvents(tx, { contacts: contactIds, leads, cases, opportunities: opps });
    return {
      platform,
      userId,
      mode,
      contacts: contactIds.length,
      identities: identityIds.length,
      posts: posts.length,
      handles: handles.length,
      leads: leads.length,
      cases: cases.length,
      opportunities: opps.length,
      merges: merges.length,
      removedPosts: [...posts],
    };
  });
}

/** The person's leads, cases, opportunities, identities and contacts: deleted, or kept anonymized (`mode`). */
async function removeWork(
  tx: Tx,
  mode: ErasureMode,
  r: { contacts: ReturnType<Tx['array']>; identityIds: number[]; leads: number[]; cases: number[]; opps: number[] },
): Promise<void> {
  if (mode === 'delete') {
    // Others' posts (a brand reply) may sit on the person's lead or case: they stay, unlinked.
    await tx`update social_posts set lead_id = null where lead_id = any(${tx.array(r.leads)}::bigint[])`;
    await tx`update social_posts set case_id = null where case_id = any(${tx.array(r.cases)}::bigint[])`;
    await tx`update social_posts set contact_id = null where contact_id = any(${r.contacts}::bigint[])`;
    await tx`delete from opportunities where id = any(${tx.array(r.opps)}::bigint[])`;
    await tx`delete from leads where id = any(${tx.array(r.leads)}::bigint[])`;
    await tx`delete from cases where id = any(${tx.array(r.cases)}::bigint[])`;
    await tx`delete from identities where id = any(${tx.array(r.identityIds)}::bigint[])`;
    await tx`delete from contacts where id = any(${r.contacts}::bigint[])`;
  } else {
    // The work stays countable (how many cases, how fast resolved) with nothing that names the person.
    await tx`update leads set subject = '(erased)', updated_at = now() where id = any(${tx.array(r.leads)}::bigint[])`;
    await tx`update cases set title = '(erased)', updated_at = now() where id = any(${tx.array(r.cases)}::bigint[])`;
    await tx`update opportunities set name = '(erased)', updated_at = now() where id = any(${tx.array(r.opps)}::bigint[])`;
    await tx`update social_posts set contact_id = null where contact_id = any(${r.contacts}::bigint[])`;
    await tx`delete from identities where id = any(${tx.array(r.identityIds)}::bigint[])`;
    await tx`update contacts set name = null, email = null, erased_at = now(), updated_at = now() where id = any(${r.contacts}::bigint[])`;
  }
}
