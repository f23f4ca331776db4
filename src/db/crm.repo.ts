import { ConflictError, NotFoundError } from '../errors.js';
import type { Platform } from '../types.js';
import type { Sql, Tx } from './client.js';
import { erasureKey, recordErasedAuthors } from './erasure.repo.js';
import type { PostRef } from './post-key.js';
import { caseColumns } from './read-models/cases.read.js';
import { contactColumns } from './read-models/contacts.read.js';
import { leadColumns } from './read-models/leads.read.js';
import { appendEvents, caseStatusChanged, contactMerged, eraseFromEvents } from './outbox.repo.js';

/**
 * The CRM side: the transitions people make on leads, opportunities and cases, and the records they
 * read. Each transition locks its row, checks the state it starts from and fails with a
 * ConflictError saying why when that state does not allow it.
 */

export type LeadStatus = 'open' | 'qualified' | 'disqualified';
export type CaseStatus = 'new' | 'in_progress' | 'resolved' | 'cancelled';
export type OpportunityStatus = 'open' | 'won' | 'lost';
export const DISQUALIFY_REASONS = ['junk', 'duplicate', 'no_fit', 'lost_interest'] as const;
export type DisqualifyReason = (typeof DISQUALIFY_REASONS)[number];

const none = (tx: Sql | Tx) => tx``;
/** Timestamps are selected as ISO 8601 text in UTC (`to_char(t at time zone 'UTC', ISO)`), the form JSON clients parse. */
const ISO = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';

// ---------------------------------------------------------------- reads

/** A lead with the posts that made it (and their decisions). */
export async function getLead(sql: Sql, id: number) {
  const [lead] = await sql`select ${leadColumns(sql)} from leads l where l.id = ${id}`;
  if (!lead) throw new NotFoundError(`no lead ${id}`);
  return { ...lead, postList: await postsOf(sql, sql`p.lead_id = ${id}`) };
}

/** A case with its posts, the time left to resolve it and the customer's other cases of the last 90 days. */
export async function getCase(sql: Sql, id: number) {
  const [row] = await sql`
    select ${caseColumns(sql)}, (extract(epoch from c.resolve_by - now()) * 1000)::float8 as "msToResolveBy" from cases c where c.id = ${id}`;
  if (!row) throw new NotFoundError(`no case ${id}`);
  const [postList, otherRecentCases, entitlements] = await Promise.all([
    postsOf(sql, sql`p.case_id = ${id}`),
    sql`select c.id, c.status, c.priority, c.origin, c.title, to_char(c.created_at at time zone 'UTC', ${ISO}) as "createdAt" from cases c
        where c.contact_id = ${row.contactId as number} and c.id <> ${id} and c.created_at > now() - interval '90 days'
        order by c.id desc limit 20`,
    sql`select e.id, e.name, e.account_id as "accountId", e.contact_id as "contactId", to_char(e.starts_at at time zone 'UTC', ${ISO}) as "startsAt", to_char(e.ends_at at time zone 'UTC', ${ISO}) as "endsAt"
        from entitlements e left join contacts k on k.id = ${row.contactId as number}
        where (e.contact_id = k.id or e.account_id = k.account_id) and e.starts_at <= now() and (e.ends_at is null or e.ends_at > now())`,
  ]);
  return { ...row, postList, otherRecentCases, entitlements };
}

async function postsOf(sql: Sql, where: ReturnType<Sql>) {
  return sql`
    select p.id, p.platform, p.external_id as "externalId", p.source_id as "sourceId", p.text, p.status, p.label,
           p.decision, to_char(p.posted_at at time zone 'UTC', ${ISO}) as "postedAt", to_char(p.received_at at time zone 'UTC', ${ISO}) as "receivedAt"
    from social_posts p where ${where} order by p.id`;
}

export async function getContact(sql: Sql, id: number) {
  const [row] = await sql`select ${contactColumns(sql)} from contacts k where k.id = ${id} and k.erased_at is null`;
  if (!row) throw new NotFoundError(`no contact ${id}`);
  return row;
}

export async function listOpportunities(sql: Sql, f: { status?: OpportunityStatus | undefined; limit: number }) {
  return sql`
    select o.id, o.lead_id as "leadId", o.account_id as "accountId", o.contact_id as "contactId", o.name, o.status,
           o.estimated_value::float8 as "estimatedValue", o.close_reason as "closeReason", to_char(o.closed_at at time zone 'UTC', ${ISO}) as "closedAt", to_char(o.created_at at time zone 'UTC', ${ISO}) as "createdAt"
    from opportunities o where true ${f.status ? sql`and o.status = ${f.status}` : none(sql)}
    order by o.id desc limit ${f.limit}`;
}

export async function getOpportunity(sql: Sql | Tx, id: number) {
  const [row] = await sql`
    select o.id, o.lead_id as "leadId", o.account_id as "accountId", o.contact_id as "contactId", o.name, o.status,
           o.estimated_value::float8 as "estimatedValue", o.close_reason as "closeReason", to_char(o.closed_at at time zone 'UTC', ${ISO}) as "closedAt", to_char(o.created_at at time zone 'UTC', ${ISO}) as "createdAt"
    from opportunities o where o.id = ${id}`;
  if (!row) throw new NotFoundError(`no opportunity ${id}`);
  return row;
}

export async function listAccounts(sql: Sql, f: { limit: number }) {
  return sql`select a.id, a.name, a.relationship, to_char(a.created_at at time zone 'UTC', ${ISO}) as "createdAt" from accounts a order by a.id desc limit ${f.limit}`;
}

export async function getAccount(sql: Sql | Tx, id: number) {
  const [row] = await sql`select a.id, a.name, a.relationship, to_char(a.created_at at time zone 'UTC', ${ISO}) as "createdAt" from accounts a where a.id = ${id}`;
  if (!row) throw new NotFoundError(`no account ${id}`);
  return row;
}

// ---------------------------------------------------------------- accounts, entitlements

export type Relationship = 'prospect' | 'customer' | 'vendor' | 'partner';

/** An account by name, created if none has that name (case-insensitive): never two of one company. */
async function accountNamed(tx: Tx, name: string, relationship?: Relationship): Promise<{ id: number; created: boolean }> {
  const [ins] = await tx<{ id: number }[]>`
    insert into accounts (name, relationship) values (${name}, ${relationship ?? 'prospect'})
    on conflict ((lower(name))) do nothing returning id`;
  if (ins) return { id: ins.id, created: true };
  const [row] = await tx<{ id: number }[]>`select id from accounts where lower(name) = lower(${name})`;
  return { id: row!.id, created: false };
}

export async function createAccount(sql: Sql, input: { name: string; relationship?: Relationship | undefined }) {
  return sql.begin(async (tx) => {
    const { id, created } = await accountNamed(tx, input.name, input.relationship);
    if (!created) throw new ConflictError(`an account named ${JSON.stringify(input.name)} already exists (id ${id})`);
    return getAccount(tx, id);
  });
}

export async function setAccountRelationship(sql: Sql, id: number, relationship: Relationship) {
  const rows = await sql`update accounts set relationship = ${relationship}, updated_at = now() where id = ${id} returning id`;
  if (rows.length === 0) throw new NotFoundError(`no account ${id}`);
  return getAccount(sql, id);
}

export async function addEntitlement(
  sql: Sql,
  input: { accountId?: number | undefined; contactId?: number | undefined; name: string; startsAt?: string | undefined; endsAt?: string | undefined },
) {
  try {
    const [row] = await sql`
      insert into entitlements (account_id, contact_id, name, starts_at, ends_at)
      values (${input.accountId ?? null}, ${input.contactId ?? null}, ${input.name}, coalesce(${input.startsAt ?? null}::timestamptz, now()), ${input.endsAt ?? null})
      returning id, account_id as "accountId", contact_id as "contactId", name, to_char(starts_at at time zone 'UTC', ${ISO}) as "startsAt", to_char(ends_at at time zone 'UTC', ${ISO}) as "endsAt"`;
    return row!;
  } catch (err) {
    if ((err as { code?: string }).code === '23503') throw new NotFoundError(`no ${input.accountId !== undefined ? `account ${input.accountId}` : `contact ${input.contactId}`}`);
    throw err;
  }
}

/** Put a contact under an account (or take it out with null). */
export async function setContactAccount(sql: Sql, contactId: number, accountId: number | null) {
  try {
    const rows = await sql`update contacts set account_id = ${accountId}, updated_at = now() where id = ${contactId} and erased_at is null returning id`;
    if (rows.length === 0) throw new NotFoundError(`no contact ${contactId}`);
  } catch (err) {
    if ((err as { code?: string }).code === '23503') throw new NotFoundError(`no account ${accountId}`);
    throw err;
  }
  return getContact(sql, contactId);
}

// ---------------------------------------------------------------- lead transitions

export interface QualifyInput {
  /** B2B: link the account with this id, or the one with this name (created if none). Omitted: the contact's account, else B2C. */
  account?: { id?: number | undefined; name?: string | undefined } | undefined;
  /** Details learned while qualifying; an e-mail another contact already has links that contact instead. */
  contact?: { name?: string | undefined; email?: string | undefined } | undefined;
  opportunity?: { name?: string | undefined; estimatedValue?: number | undefined } | undefined;
}

/**
 * Lock a lead after its contact, the order capture takes them in (it locks the contact, then
 * touches the open lead), so a transition and a capture batch wait for each other, never deadlock.
 */
async function lockLead(tx: Tx, id: number) {
  const [first] = await tx<{ contactId: number }[]>`select contact_id as "contactId" from leads where id = ${id}`;
  if (!first) throw new NotFoundError(`no lead ${id}`);
  await tx`select id from contacts where id = ${first.contactId} for no key update`;
  const [lead] = await tx<{ id: number; status: LeadStatus; contactId: number; subject: string }[]>`
    select id, status, contact_id as "contactId", subject from leads where id = ${id} for update`;
  if (!lead) throw new NotFoundError(`no lead ${id}`);
  if (lead.contactId !== first.contactId) throw new ConflictError(`lead ${id} moved to contact ${lead.contactId} meanwhile (a merge); try again`);
  return lead;
}

/**
 * Lock a person's rows in the order capture locks them: posts, identities, contacts, each in id
 * order. An erasure or a merge then waits for a capture batch (or it for them) and never deadlocks with one.
 */
async function lockPeople(tx: Tx, contactIds: readonly number[], identityIds: readonly number[] = []): Promise<void> {
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

/**
 * open → qualified: link or create the account (B2B) and the contact, and create the opportunity, in one
 * transaction. The lead's row lock makes a second qualify wait and then see `qualified` (409); the unique
 * index on opportunities.lead_id stands behind it.
 */
export async function qualifyLead(sql: Sql, id: number, input: QualifyInput) {
  return sql.begin(async (tx) => {
    const lead = await lockLead(tx, id);
    if (lead.status !== 'open') throw new ConflictError(`lead ${id} is ${lead.status}: only an open lead can be qualified`);
    let contactId = lead.contactId;
    const email = input.contact?.email?.trim();
    if (email) {
      const [other] = await tx<{ id: number }[]>`
        select id from contacts where lower(email) = lower(${email}) and erased_at is null and merged_into_id is null`;
      if (other) contactId = other.id;
      else await tx`update contacts set email = ${email}, updated_at = now() where id = ${contactId}`;
    }
    if (input.contact?.name) await tx`update contacts set name = ${input.contact.name}, updated_at = now() where id = ${contactId}`;
    const [contact] = await tx<{ accountId: number | null }[]>`select account_id as "accountId" from contacts where id = ${contactId} for update`;
    let accountId = contact!.accountId;
    if (input.account?.id !== undefined) {
      const [a] = await tx`select id from accounts where id = ${input.account.id}`;
      if (!a) throw new NotFoundError(`no account ${input.account.id}`);
      accountId = input.account.id;
    } else if (input.account?.name) {
      accountId = (await accountNamed(tx, input.account.name)).id;
    }
    if (accountId !== null && contact!.accountId === null) {
      await tx`update contacts set account_id = ${accountId}, updated_at = now() where id = ${contactId}`;
    }
    await tx`update leads set status = 'qualified', contact_id = ${contactId}, account_id = ${accountId}, updated_at = now() where id = ${id}`;
    const [opp] = await tx<{ id: number }[]>`
      insert into opportunities (lead_id, account_id, contact_id, name, estimated_value)
      values (${id}, ${accountId}, ${contactId}, ${input.opportunity?.name ?? lead.subject}, ${input.opportunity?.estimatedValue ?? null})
      returning id`;
    await appendEvents(tx, [{ type: 'lead.qualified', aggregateId: id, change: { opportunityId: opp!.id } }]);
    return { leadId: id, status: 'qualified' as const, contactId, accountId, opportunity: await getOpportunity(tx, opp!.id) };
  });
}

/** open → disqualified, with the reason. */
export async function disqualifyLead(sql: Sql, id: number, reason: DisqualifyReason) {
  return sql.begin(async (tx) => {
    const lead = await lockLead(tx, id);
    if (lead.status !== 'open') throw new ConflictError(`lead ${id} is ${lead.status}: only an open lead can be disqualified`);
    await tx`update leads set status = 'disqualified', disqualify_reason = ${reason}, updated_at = now() where id = ${id}`;
    await appendEvents(tx, [{ type: 'lead.disqualified', aggregateId: id, change: { reason } }]);
    return { leadId: id, status: 'disqualified' as const, disqualifyReason: reason };
  });
}

// ---------------------------------------------------------------- opportunity transitions

async function lockOpportunity(tx: Tx, id: number) {
  const [o] = await tx<{ status: OpportunityStatus; accountId: number | null }[]>`
    select status, account_id as "accountId" from opportunities where id = ${id} for update`;
  if (!o) throw new NotFoundError(`no opportunity ${id}`);
  if (o.status !== 'open') throw new ConflictError(`opportunity ${id} is already ${o.status}: only an open opportunity can be won or lost`);
  return o;
}

/** open → won; the account, if a prospect, becomes a customer. */
export async function winOpportunity(sql: Sql, id: number, input: { actualValue?: number | undefined }) {
  return sql.begin(async (tx) => {
    const o = await lockOpportunity(tx, id);
    await tx`
      update opportunities set status = 'won', closed_at = now(), updated_at = now(),
        estimated_value = coalesce(${input.actualValue ?? null}::numeric, estimated_value)
      where id = ${id}`;
    if (o.accountId !== null) {
      await tx`update accounts set relationship = 'customer', updated_at = now() where id = ${o.accountId} and relationship = 'prospect'`;
    }
    const won = await getOpportunity(tx, id);
    await appendEvents(tx, [{ type: 'opportunity.won', aggregateId: id, data: won }]);
    return won;
  });
}

/** open → lost, with an optional reason. */
export async function loseOpportunity(sql: Sql, id: number, input: { reason?: string | undefined }) {
  return sql.begin(async (tx) => {
    await lockOpportunity(tx, id);
    await tx`update opportunities set status = 'lost', close_reason = ${input.reason ?? null}, closed_at = now(), updated_at = now() where id = ${id}`;
    const lost = await getOpportunity(tx, id);
    await appendEvents(tx, [{ type: 'opportunity.lost', aggregateId: id, data: lost }]);
    return lost;
  });
}

// ---------------------------------------------------------------- case transitions

const CASE_TRANSITIONS = {
  start: { from: ['new'], to: 'in_progress', says: 'only a new case can be started' },
  resolve: { from: ['new', 'in_progress'], to: 'resolved', says: 'only a new or in-progress case can be resolved' },
  cancel: { from: ['new', 'in_progress'], to: 'cancelled', says: 'only a new or in-progress case can be cancelled' },
  reopen: { from: ['resolved', 'cancelled'], to: 'in_progress', says: 'only a resolved or cancelled case can be reopened' },
} as const satisfies Record<string, { from: CaseStatus[]; to: CaseStatus; says: string }>;
export type CaseAction = keyof typeof CASE_TRANSITIONS;

/** new → in_progress (start), new|in_progress → resolved (resolve) or cancelled (cancel), resolved|cancelled → in_progress (reopen). */
export async function transitionCase(sql: Sql, id: number, action: CaseAction) {
  const t = CASE_TRANSITIONS[action];
  return sql.begin(async (tx) => {
    const [c] = await tx<{ status: CaseStatus }[]>`select status from cases where id = ${id} for update`;
    if (!c) throw new NotFoundError(`no case ${id}`);
    if (!(t.from as readonly CaseStatus[]).includes(c.status)) throw new ConflictError(`case ${id} is ${c.status}: ${t.says}`);
    await tx`
      update cases set status = ${t.to}, updated_at = now(),
        resolved_at = ${t.to === 'resolved' ? tx`now()` : action === 'reopen' ? tx`null` : tx`resolved_at`},
        reopen_count = reopen_count + ${action === 'reopen' ? 1 : 0}
      where id = ${id}`;
    await appendEvents(tx, [caseStatusChanged(id, c.status, t.to)]);
    const [row] = await tx`select ${caseColumns(tx)} from cases c where c.id = ${id}`;
    return row!;
  });
}

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

const ids = (rows: readonly { id: number }[]) => rows.map((r) => r.id);

/**
 * Merge `mergedId` into `survivorId`: identities, handles, posts, leads, cases, opportunities and
 * entitlements move to the survivor; the merged contact stays, marked, so the merge can be undone.
 */
export async function mergeContacts(sql: Sql, survivorId: number, mergedId: number) {
  if (survivorId === mergedId) throw new ConflictError('a contact cannot be merged into itself');
  return sql.begin(async (tx) => {
    await lockPeople(tx, [survivorId, mergedId].sort((a, b) => a - b));
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
      identities: ids(identities), handles: ids(handles), posts: ids(posts), leads: ids(leads),
      cases: ids(cases), opportunities: ids(opportunities), entitlements: ids(entitlements), email,
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
      `merge ${mergeId} cannot be undone exactly: contact ${m.survivorId} was merged into contact ${later.survivorId} later (merge ${later.id}); undo merge ${later.id} first`,
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
      select survivor_id as "survivorId", merged_id as "mergedId", moved, to_char(undone_at at time zone 'UTC', ${ISO}) as "undoneAt" from contact_merges where id = ${mergeId} for update`;
    if (!m) throw new NotFoundError(`no merge ${mergeId}`);
    if (m.undoneAt) throw new ConflictError(`merge ${mergeId} was already undone`);
    await lockPeople(tx, [m.survivorId, m.mergedId].sort((a, b) => a - b));
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
    const people = found.contactId === null ? [] : ids(await tx<{ id: number }[]>`
      select id from contacts where id = ${found.contactId} or merged_into_id = ${found.contactId} order by id`);
    await lockPeople(tx, people, [found.id]);
    // Read again under the locks: a capture batch may have linked the identity to a contact meanwhile.
    const [ident] = await tx<{ id: number; contactId: number | null }[]>`
      select id, contact_id as "contactId" from identities where id = ${found.id}`;
    if (!ident) throw new NotFoundError(`no identity ${platform}/${userId}`);
    if (ident.contactId !== found.contactId) throw new ConflictError(`${platform}/${userId} was linked to a contact meanwhile; try again`);
    const contactIds =
      ident.contactId === null
        ? []
        : ids(await tx<{ id: number }[]>`
            select id from contacts where id = ${ident.contactId} or merged_into_id = ${ident.contactId} order by id for update`);
    const identityIds =
      contactIds.length === 0
        ? [ident.id]
        : ids(await tx<{ id: number }[]>`select id from identities where contact_id = any(${tx.array(contactIds)}::bigint[]) or id = ${ident.id}`);
    const c = tx.array(contactIds);
    // Kept as keyed hashes: a source that re-reads their old posts stores none of them again.
    await recordErasedAuthors(tx, key, await tx<{ platform: string; userId: string }[]>`
      select platform::text, external_user_id as "userId" from identities where id = any(${tx.array(identityIds)}::bigint[])`);
    const posts = await tx<PostRef[]>`
      delete from social_posts where identity_id = any(${tx.array(identityIds)}::bigint[]) returning platform, external_id as "externalId"`;
    const leads = ids(await tx<{ id: number }[]>`select id from leads where contact_id = any(${c}::bigint[])`);
    const cases = ids(await tx<{ id: number }[]>`select id from cases where contact_id = any(${c}::bigint[])`);
    const opps = ids(await tx<{ id: number }[]>`select id from opportunities where contact_id = any(${c}::bigint[]) or lead_id = any(${tx.array(leads)}::bigint[])`);
    const merges = await tx`delete from contact_merges where survivor_id = any(${c}::bigint[]) or merged_id = any(${c}::bigint[]) returning id`;
    const handles = await tx`delete from contact_handles where contact_id = any(${c}::bigint[]) returning id`;
    if (mode === 'delete') {
      // Others' posts (a brand reply) may sit on the person's lead or case: they stay, unlinked.
      await tx`update social_posts set lead_id = null where lead_id = any(${tx.array(leads)}::bigint[])`;
      await tx`update social_posts set case_id = null where case_id = any(${tx.array(cases)}::bigint[])`;
      await tx`update social_posts set contact_id = null where contact_id = any(${c}::bigint[])`;
      await tx`delete from opportunities where id = any(${tx.array(opps)}::bigint[])`;
      await tx`delete from leads where id = any(${tx.array(leads)}::bigint[])`;
      await tx`delete from cases where id = any(${tx.array(cases)}::bigint[])`;
      await tx`delete from identities where id = any(${tx.array(identityIds)}::bigint[])`;
      await tx`delete from contacts where id = any(${c}::bigint[])`;
    } else {
      // The work stays countable (how many cases, how fast resolved) with nothing that names the person.
      await tx`update leads set subject = '(erased)', updated_at = now() where id = any(${tx.array(leads)}::bigint[])`;
      await tx`update cases set title = '(erased)', updated_at = now() where id = any(${tx.array(cases)}::bigint[])`;
      await tx`update opportunities set name = '(erased)', updated_at = now() where id = any(${tx.array(opps)}::bigint[])`;
      await tx`update social_posts set contact_id = null where contact_id = any(${c}::bigint[])`;
      await tx`delete from identities where id = any(${tx.array(identityIds)}::bigint[])`;
      await tx`update contacts set name = null, email = null, erased_at = now(), updated_at = now() where id = any(${c}::bigint[])`;
    }
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
