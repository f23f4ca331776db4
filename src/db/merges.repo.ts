import { ConflictError, NotFoundError } from '../errors.js';
import type { Sql, Tx } from './client.js';
import { ISO } from './read-models/common.js';
import { appendEvents, contactMerged } from './outbox.repo.js';
import { ids, lockPeople } from './people.lock.js';

// ---------------------------------------------------------------- identity: merge, undo, suggestions

interface Moved {
  identities: number[];
  handles: number[];
  posts: number[];
  leads: number[];
  cases: number[];
  opportunities: number[];
  entitlements: number[];
  /** The merged contact's e-mail, moved to a survivor that had none. */
  email: string | null;
}

/**
 * Merge `mergedId` into `survivorId`: identities, handles, posts, leads, cases, opportunities and
 * entitlements move to the survivor; the merged contact stays, marked, so the merge can be undone.
 */
export async function mergeContacts(sql: Sql, survivorId: number, mergedId: number) {
  if (survivorId === mergedId) throw new ConflictError('a contact cannot be merged into itself');
  return sql.begin(async (tx) => {
    await lockPeople(
      tx,
      [survivorId, mergedId].sort((a, b) => a - b),
    );
    const rows = await tx<{ id: number; email: string | null; mergedIntoId: number | null; erasedAt: Date | null }[]>`
      select id, email, merged_into_id as "mergedIntoId", to_char(erased_at at time zone 'UTC', ${ISO}) as "erasedAt" from contacts
      where id in (${survivorId}, ${mergedId}) order by id for update`;
    const survivor = rows.find((r) => r.id === survivorId);
    const merged = rows.find((r) => r.id === mergedId);
    if (!survivor || survivor.erasedAt) throw new NotFoundError(`no contact ${survivorId}`);
    if (!merged || merged.erasedAt) throw new NotFoundError(`no contact ${mergedId}`);
    for (const c of [survivor, merged]) {
      if (c.mergedIntoId !== null) throw new ConflictError(`contact ${c.id} is already merged into contact ${c.mergedIntoId}`);
    }
    const [open] = await tx<{ n: number }[]>`
      select count(distinct contact_id)::int as n from leads where contact_id in (${survivorId}, ${mergedId}) and status = 'open'`;
    if (open!.n === 2) throw new ConflictError(`contacts ${survivorId} and ${mergedId} both have an open lead: qualify or disqualify one first`);
    const move = (table: string, column = 'contact_id') => tx<{ id: number }[]>`
      update ${tx(table)} set ${tx(column)} = ${survivorId} where ${tx(column)} = ${mergedId} returning id`;
    const [identities, handles, posts, leads, cases, opportunities, entitlements] = await Promise.all([
      move('identities'),
      move('contact_handles'),
      move('social_posts'),
      move('leads'),
      move('cases'),
      move('opportunities'),
      move('entitlements'),
    ]);
    let email: string | null = null;
    if (survivor.email === null && merged.email !== null) {
      email = merged.email;
      await tx`update contacts set email = null where id = ${mergedId}`;
      await tx`update contacts set email = ${email} where id = ${survivorId}`;
    }
    await tx`update contacts set merged_into_id = ${survivorId}, updated_at = now() where id = ${mergedId}`;
    const moved: Moved = {
      identities: ids(identities),
      handles: ids(handles),
      posts: ids(posts),
      leads: ids(leads),
      cases: ids(cases),
      opportunities: ids(opportunities),
      entitlements: ids(entitlements),
      email,
    };
    const [m] = await tx<{ id: number }[]>`
      insert into contact_merges (survivor_id, merged_id, moved) values (${survivorId}, ${mergedId}, ${JSON.stringify(moved)}::jsonb) returning id`;
    await appendEvents(tx, [contactMerged(m!.id, survivorId, mergedId, moved)]);
    return { mergeId: m!.id, survivorId, mergedId, moved };
  });
}

const MOVED_TABLES = [
  ['identities', 'identities'],
  ['handles', 'contact_handles'],
  ['posts', 'social_posts'],
  ['leads', 'leads'],
  ['cases', 'cases'],
  ['opportunities', 'opportunities'],
  ['entitlements', 'entitlements'],
] as const satisfies readonly (readonly [keyof Moved, string])[];

/**
 * An undo is exact only while every row the merge moved still sits on its survivor. A later merge of the
 * survivor into another contact moved them on: that merge must be undone first, and the error names it.
 */
async function assertUndoIsExact(tx: Tx, mergeId: number, m: { survivorId: number; mergedId: number; moved: Moved }): Promise<void> {
  const [later] = await tx<{ id: number; survivorId: number }[]>`
    select id, survivor_id as "survivorId" from contact_merges
    where id > ${mergeId} and undone_at is null and merged_id = ${m.survivorId} order by id desc limit 1`;
  if (later) {
    throw new ConflictError(
      `merge ${mergeId} cannot be undone exactly: contact ${m.survivorId} was merged into contact ${later.survivorId} later ` +
        `(merge ${later.id}); undo merge ${later.id} first`,
    );
  }
  for (const [key, table] of MOVED_TABLES) {
    const list = m.moved[key];
    if (list.length === 0) continue;
    const [gone] = await tx<{ n: number }[]>`
      select count(*)::int as n from ${tx(table)} where id = any(${tx.array(list)}::bigint[]) and contact_id is distinct from ${m.survivorId}`;
    if (gone!.n > 0) {
      throw new ConflictError(`merge ${mergeId} cannot be undone exactly: ${gone!.n} of the ${table} it moved no longer belong to contact ${m.survivorId}`);
    }
  }
}

/**
 * Undo a merge: what moved goes back; the merged contact is itself again. Refused (409) when it can no
 * longer be exact: see {@link assertUndoIsExact}.
 */
export async function undoMerge(sql: Sql, mergeId: number) {
  return sql.begin(async (tx) => {
    const [m] = await tx<{ survivorId: number; mergedId: number; moved: Moved; undoneAt: Date | null }[]>`
      select survivor_id as "survivorId", merged_id as "mergedId", moved, to_char(undone_at at time zone 'UTC', ${ISO}) as "undoneAt"
      from contact_merges where id = ${mergeId} for update`;
    if (!m) throw new NotFoundError(`no merge ${mergeId}`);
    if (m.undoneAt) throw new ConflictError(`merge ${mergeId} was already undone`);
    await lockPeople(
      tx,
      [m.survivorId, m.mergedId].sort((a, b) => a - b),
    );
    const [c] = await tx`select id from contacts where id in (${m.survivorId}, ${m.mergedId}) and erased_at is null order by id for update`;
    if (!c) throw new ConflictError(`merge ${mergeId} cannot be undone: the contact was erased`);
    await assertUndoIsExact(tx, mergeId, m);
    const back = (table: string, list: number[]) =>
      list.length === 0
        ? Promise.resolve()
        : tx`update ${tx(table)} set contact_id = ${m.mergedId} where id = any(${tx.array(list)}::bigint[]) and contact_id = ${m.survivorId}`;
    const mv = m.moved;
    await Promise.all([
      back('identities', mv.identities),
      back('contact_handles', mv.handles),
      back('social_posts', mv.posts),
      back('leads', mv.leads),
      back('cases', mv.cases),
      back('opportunities', mv.opportunities),
      back('entitlements', mv.entitlements),
    ]);
    if (mv.email !== null) {
      await tx`update contacts set email = null where id = ${m.survivorId} and email = ${mv.email}`;
      await tx`update contacts set email = ${mv.email} where id = ${m.mergedId}`;
    }
    await tx`update contacts set merged_into_id = null, updated_at = now() where id = ${m.mergedId}`;
    await tx`update contact_merges set undone_at = now() where id = ${mergeId}`;
    await appendEvents(tx, [{ type: 'contact.unmerged', aggregateId: m.mergedId, change: { mergeId, survivorId: m.survivorId, mergedId: m.mergedId } }]);
    return { mergeId, survivorId: m.survivorId, mergedId: m.mergedId, undone: true };
  });
}

/**
 * Pairs of contacts that are probably one person: the same handle on two platforms, or an author
 * whose posts carry the e-mail another contact has. Listed for a person to accept; never applied.
 */
export async function mergeSuggestions(sql: Sql) {
  return sql<{ contactId: number; otherContactId: number; reason: string; evidence: string }[]>`
    with pairs as (
      select least(a.contact_id, b.contact_id) as c1, greatest(a.contact_id, b.contact_id) as c2,
             'same handle on two platforms' as reason, lower(a.handle) as evidence
      from identities a join identities b
        on lower(a.handle) = lower(b.handle) and a.platform <> b.platform and a.contact_id <> b.contact_id
      union
      select least(k.id, i.contact_id), greatest(k.id, i.contact_id), 'same e-mail', lower(k.email)
      from contacts k
      join social_posts p on lower(p.payload->'author'->>'email') = lower(k.email)
      join identities i on i.id = p.identity_id and i.contact_id is not null and i.contact_id <> k.id
    )
    select distinct p.c1 as "contactId", p.c2 as "otherContactId", p.reason, p.evidence
    from pairs p join contacts x on x.id = p.c1 join contacts y on y.id = p.c2
    where x.merged_into_id is null and y.merged_into_id is null and x.erased_at is null and y.erased_at is null
    order by 1, 2`;
}
