import type { ClassifierInput, Decision } from '../classifier/index.js';
import { PostError } from '../errors.js';
import type { Label, Platform, Priority } from '../types.js';
import type { Sql, Tx } from './client.js';
import { appendCaptureEvents } from './outbox.repo.js';
import { postKey, type PostRef } from './post-key.js';

/** How capture attaches posts to open work. */
export interface CaptureOptions {
  /** A new problem post attaches to the contact's open case on the same channel active this recently. */
  caseWindowMs: number;
  /** Time to resolve, per priority: sets a new case's resolve-by. */
  slaMs: Record<Priority, number>;
  /** After a case is resolved, a new problem post from its contact on its channel this soon reopens it. @defaultValue 0 (never) */
  reopenWindowMs?: number;
  /** The brand's own accounts, by handle (any case, with or without @) or user id: their posts never become leads or cases. */
  ownAccounts?: { twitter: readonly string[]; facebook: readonly string[] };
  /** Sources whose retweets are decided like any post; every other source's retweets never become leads or cases. */
  captureRetweetSources?: ReadonlySet<string>;
}

export type CaptureAction =
  | 'lead-created'
  | 'lead-attached'
  | 'case-created'
  | 'case-attached'
  /** A problem post reopened the contact's case resolved within the reopen window. */
  | 'case-reopened'
  /** By one of the brand's own accounts, or a retweet the source ignores: recorded, never a lead or case. */
  | 'suppressed'
  | 'recorded'
  /** The post was already decided: a redelivered job, a re-enqueue after a Redis flush. */
  | 'already-decided';

export interface CaptureOutcome {
  action: CaptureAction;
  label: Label | null;
  contactId: number | null;
  leadId: number | null;
  caseId: number | null;
  decision: Decision | null;
}

/** Per post of a batch: its outcome, or why the post itself cannot be processed. */
export type BatchResult = Map<string, CaptureOutcome | PostError>;

type Decide = (input: ClassifierInput) => Decision;

interface PostRow {
  id: number;
  platform: Platform;
  externalId: string;
  text: string;
  status: string;
  sourceId: string;
  identityId: number | null;
  inReplyTo: string | null;
  conversationId: string | null;
  lang: string | null;
  /** From the raw payload, the only parts capture reads (the payload itself never leaves Postgres). */
  followers: unknown;
  email: unknown;
  isRetweet: boolean;
}

interface IdentityRow {
  id: number;
  platform: Platform;
  externalUserId: string;
  contactId: number | null;
  handle: string | null;
  name: string | null;
}

interface OpenCase {
  id: number;
  contactId: number;
  /** Epoch milliseconds. */
  lastActivity: number;
}

type NewRecord = { row: PostRow; contactId: number; decision: Decision; priority?: Priority; priorityReason?: string };

/** What raises a new case's priority above its rules': read once per batch for the contacts that open cases. */
interface PriorityFacts {
  relationship: string | null;
  entitlement: string | null;
  openCases: number;
}
/** A lead or case the batch found open, or the index of one it creates. */
type RecordRef = { kind: 'existing'; id: number } | { kind: 'new'; index: number };

const TITLE_MAX = 140;
const OPEN_CASE = `('new', 'in_progress')`;

function titleOf(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= TITLE_MAX ? oneLine || '(no text)' : `${oneLine.slice(0, TITLE_MAX - 1)}…`;
}

function isReplyRow(p: PostRow): boolean {
  return p.inReplyTo !== null || (p.conversationId !== null && p.conversationId !== p.externalId);
}

const ALREADY: CaptureOutcome = { action: 'already-decided', label: null, contactId: null, leadId: null, caseId: null, decision: null };

/** Decide one pending post: {@link captureBatch} of one. */
export async function capturePost(sql: Sql, ref: PostRef, decide: Decide, opts: CaptureOptions): Promise<CaptureOutcome> {
  const result = (await captureBatch(sql, [ref], decide, opts)).get(postKey(ref))!;
  if (result instanceof PostError) throw result;
  return result;
}

/**
 * Decide a batch of posts and apply the decisions, in ONE transaction and a fixed number of round
 * trips whatever the batch size: classify, resolve each author to a contact, create or attach the
 * lead or case, mark the posts processed. Idempotent on the post key: post rows are locked first,
 * and a post that is no longer pending is left as it is.
 *
 * Concurrency: rows are locked in id order (posts, then identities, then contacts), so batches in
 * other workers never deadlock with this one. The locks are FOR NO KEY UPDATE: no key ever
 * changes, and unlike FOR UPDATE they do not conflict with the KEY SHARE locks that inserting
 * posts (foreign key to identities) or leads and cases (to contacts) take in other transactions. An author's identity row is locked before a contact
 * is looked up or created, so workers that meet the same new author converge on one contact
 * (invariant 4); the contact row is locked before its open lead or case is looked up, so two
 * batches never open two of them. Within the batch posts apply in id order, so a reply in the
 * same batch as the complaint it answers attaches to the case that complaint opens.
 *
 * A post that is bad in itself (gone, no author) is reported as a PostError in the result and
 * left pending for the caller to quarantine; anything else throws and rolls the batch back.
 */
export async function captureBatch(sql: Sql, refs: readonly PostRef[], decide: Decide, opts: CaptureOptions): Promise<BatchResult> {
  return sql.begin((tx) => applyBatch(tx, refs, decide, opts)) as Promise<BatchResult>;
}

async function applyBatch(tx: Tx, refs: readonly PostRef[], decide: Decide, opts: CaptureOptions): Promise<BatchResult> {
  const results: BatchResult = new Map();
  const keys = () => sqlFragmentKeys(tx, refs);
  // Pipelined (one round trip; the server runs them in order): lock the posts, then their authors'
  // identities, both in id order. Each post is found by its key, one index lookup per post (the
  // LIMIT keeps the planner from turning a generic plan into a scan of every pending post).
  const [, rows, identityRows] = await Promise.all([
    // The commit need not wait for its WAL flush: should the server crash and lose it, the posts
    // are pending again with nothing of theirs written, and the reconciler re-enqueues them.
    // Every statement here names its rows by key, so the plans are index lookups, always: a generic
    // plan made while a table was small (statistics lag a fast-growing inbox) would otherwise keep
    // scanning the whole table as it grows, and capture would slow down with every post stored.
    tx`select set_config('synchronous_commit', 'off', true), set_config('enable_seqscan', 'off', true),
              set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`,
    tx<PostRow[]>`
      select p.id, p.platform, p.external_id as "externalId", p.text, p.status, p.source_id as "sourceId", p.identity_id as "identityId",
             p.in_reply_to as "inReplyTo", p.conversation_id as "conversationId", p.lang,
             p.payload->'author'->'followers' as followers, p.payload->'author'->'email' as email, p.payload ? 'retweet_of' as "isRetweet"
      from social_posts p join ${keys()} on p.platform = k.platform and p.external_id = k.external_id
      order by p.id
      for no key update of p`,
    tx<IdentityRow[]>`
      select id, platform, external_user_id as "externalUserId", contact_id as "contactId", handle, name from identities
      where id in (select p.identity_id from ${keys()}
                   cross join lateral (select identity_id from social_posts p where p.platform = k.platform and p.external_id = k.external_id
                                       limit 1) p)
      order by id
      for no key update`,
  ]);
  const found = new Set(rows.map((r) => postKey(r)));
  for (const ref of refs) {
    if (!found.has(postKey(ref))) results.set(postKey(ref), new PostError(`no post ${ref.platform}/${ref.externalId} in the inbox`));
  }
  const pending: PostRow[] = [];
  for (const row of rows) {
    if (row.status !== 'pending') results.set(postKey(row), ALREADY);
    else if (row.identityId === null) results.set(postKey(row), new PostError('post has no author identity'));
    else pending.push(row);
  }
  if (pending.length === 0) return results;

  const decisions = new Map<number, Decision>();
  for (const row of pending) {
    decisions.set(
      row.id,
      decide({
        text: row.text,
        platform: row.platform,
        ...(row.lang ? { lang: row.lang } : {}),
        isReply: isReplyRow(row),
        ...(typeof row.followers === 'number' ? { followers: row.followers } : {}),
      }),
    );
  }

  const identities = new Map(identityRows.map((i) => [i.id, i]));
  for (const row of pending) {
    if (!identities.has(row.identityId!)) {
      results.set(postKey(row), new PostError('post author identity is missing'));
      decisions.delete(row.id);
    }
  }
  const live = pending.filter((r) => decisions.has(r.id));
  const suppressedBy = new Map<number, 'own account' | 'retweet'>();
  for (const row of live) {
    const reason = suppression(row, identities.get(row.identityId!)!, opts);
    if (reason === null) continue;
    suppressedBy.set(row.id, reason);
    decisions.set(row.id, { ...decisions.get(row.id)!, label: 'none', priority: null, priorityRule: null, suppressed: reason });
  }

  // Authors whose post becomes a lead or a case get a contact: by identity, else a handle or
  // e-mail ops stored on a contact, else a new contact. Never by display name.
  const needContact = new Map<number, PostRow>();
  for (const row of live) {
    const ident = identities.get(row.identityId!)!;
    if (ident.contactId === null && decisions.get(row.id)!.label !== 'none') needContact.set(ident.id, row);
  }
  if (needContact.size > 0) await resolveContacts(tx, [...needContact.values()], identities);

  const contactIds = [...new Set([...identities.values()].map((i) => i.contactId).filter((c): c is number => c !== null))].sort((a, b) => a - b);
  const openLeads = new Map<number, number>();
  const openCases = new Map<string, OpenCase>();
  const replies = live.filter(isReplyRow);
  const reopenWindowMs = opts.reopenWindowMs ?? 0;
  const casesAhead = contactIds.length > 0 && live.some((r) => decisions.get(r.id)!.label === 'case');
  // Pipelined: the contacts' lock is taken before their open work is read, in the same round trip.
  const [, leadRows, caseRows, threadCases, resolvedRows, factRows] = await Promise.all([
    contactIds.length > 0 ? tx`select id from contacts where id = any(${tx.array(contactIds)}::bigint[]) order by id for no key update` : null,
    contactIds.length > 0
      ? tx<{ id: number; contactId: number }[]>`
          select id, contact_id as "contactId" from leads where contact_id = any(${tx.array(contactIds)}::bigint[]) and status = 'open'`
      : [],
    contactIds.length > 0
      ? tx<{ id: number; contactId: number; origin: Platform; lastActivity: number }[]>`
          select id, contact_id as "contactId", origin, (extract(epoch from last_activity_at) * 1000)::float8 as "lastActivity" from cases
          where contact_id = any(${tx.array(contactIds)}::bigint[]) and status in ${tx.unsafe(OPEN_CASE)}
            and last_activity_at > now() - ${opts.caseWindowMs} * interval '1 millisecond'
          order by last_activity_at`
      : [],
    findThreadCases(tx, replies),
    casesAhead && reopenWindowMs > 0
      ? tx<{ id: number; contactId: number; origin: Platform }[]>`
          select id, contact_id as "contactId", origin from cases
          where contact_id = any(${tx.array(contactIds)}::bigint[]) and status = 'resolved'
            and resolved_at > now() - ${reopenWindowMs} * interval '1 millisecond'
          order by resolved_at`
      : [],
    casesAhead
      ? tx<({ contactId: number } & PriorityFacts)[]>`
          select k.id as "contactId", a.relationship::text as relationship,
                 (select e.name from entitlements e
                  where (e.contact_id = k.id or e.account_id = k.account_id) and e.starts_at <= now() and (e.ends_at is null or e.ends_at > now())
                  order by e.id limit 1) as entitlement,
                 (select count(*)::int from cases c where c.contact_id = k.id and c.status in ${tx.unsafe(OPEN_CASE)}) as "openCases"
          from contacts k left join accounts a on a.id = k.account_id
          where k.id = any(${tx.array(contactIds)}::bigint[])`
      : [],
  ]);
  // The latest resolved case per contact and channel: a problem post reopens it instead of opening another.
  const resolvedCase = new Map(resolvedRows.map((c) => [`${c.contactId}/${c.origin}`, c.id]));
  const facts = new Map(factRows.map((f) => [f.contactId, f]));
  const reopened = new Set<number>();
  for (const l of leadRows) openLeads.set(l.contactId, l.id);
  for (const c of caseRows) openCases.set(`${c.contactId}/${c.origin}`, { id: c.id, contactId: c.contactId, lastActivity: c.lastActivity });

  // Apply in post order, with placeholders for the leads and cases this batch creates.
  const newLeads: NewRecord[] = [];
  const newCases: NewRecord[] = [];
  const leadTouches = new Map<number, number>(); // lead id → best score
  const caseTouches = new Map<number, Decision | null>(); // case id → most urgent decision
  const leadOf = new Map<number, RecordRef>(); // contact → open lead
  for (const [c, id] of openLeads) leadOf.set(c, { kind: 'existing', id });
  const caseOfContact = new Map<string, RecordRef>(); // `${contact}/${origin}` → open case
  for (const [k, c] of openCases) caseOfContact.set(k, { kind: 'existing', id: c.id });
  const caseOfThread = new Map<string, { ref: RecordRef; contactId: number }>(); // `${platform}/${conversation}` → case
  const applied: { row: PostRow; action: CaptureAction; contactId: number | null; lead: RecordRef | null; case: RecordRef | null }[] = [];

  for (const row of live) {
    const decision = decisions.get(row.id)!;
    const ident = identities.get(row.identityId!)!;
    let thread: { ref: RecordRef; contactId: number } | undefined;
    if (isReplyRow(row)) {
      for (const k of [row.inReplyTo, row.conversationId]) if (k !== null) thread ??= caseOfThread.get(`${row.platform}/${k}`);
      const known = threadCases.get(row.id);
      if (!thread && known) thread = { ref: { kind: 'existing', id: known.id }, contactId: known.contactId };
    }
    const conversation = `${row.platform}/${row.conversationId ?? row.externalId}`;
    if (decision.label === 'case') {
      const contactId = ident.contactId!;
      const key = `${contactId}/${row.platform}`;
      const open = thread?.ref ?? caseOfContact.get(key);
      const resolved = open ? undefined : resolvedCase.get(key);
      if (resolved !== undefined) {
        const ref: RecordRef = { kind: 'existing', id: resolved };
        reopened.add(resolved);
        resolvedCase.delete(key);
        caseTouches.set(resolved, moreUrgent(caseTouches.get(resolved) ?? null, decision));
        caseOfContact.set(key, ref);
        caseOfThread.set(conversation, { ref, contactId });
        applied.push({ row, action: 'case-reopened', contactId, lead: null, case: ref });
      } else if (open) {
        if (open.kind === 'existing') caseTouches.set(open.id, moreUrgent(caseTouches.get(open.id) ?? null, decision));
        applied.push({ row, action: 'case-attached', contactId, lead: null, case: open });
        caseOfThread.set(conversation, { ref: open, contactId: thread?.contactId ?? contactId });
      } else {
        const { priority, reason } = casePriority(decision, facts.get(contactId));
        const ref: RecordRef = { kind: 'new', index: newCases.push({ row, contactId, decision, priority, priorityReason: reason }) - 1 };
        caseOfContact.set(key, ref);
        caseOfThread.set(conversation, { ref, contactId });
        applied.push({ row, action: 'case-created', contactId, lead: null, case: ref });
      }
    } else if (decision.label === 'lead') {
      const contactId = ident.contactId!;
      const open = leadOf.get(contactId);
      if (open) {
        if (open.kind === 'existing') leadTouches.set(open.id, Math.max(leadTouches.get(open.id) ?? -Infinity, decision.score));
        applied.push({ row, action: 'lead-attached', contactId, lead: open, case: null });
      } else {
        const ref: RecordRef = { kind: 'new', index: newLeads.push({ row, contactId, decision }) - 1 };
        leadOf.set(contactId, ref);
        applied.push({ row, action: 'lead-created', contactId, lead: ref, case: null });
      }
    } else if (thread && ident.contactId !== null && thread.contactId === ident.contactId) {
      // A customer's own follow-up in their case's thread ("any update?") belongs on the case even
      // when it carries no problem words of its own.
      if (thread.ref.kind === 'existing') caseTouches.set(thread.ref.id, caseTouches.get(thread.ref.id) ?? null);
      applied.push({ row, action: 'case-attached', contactId: ident.contactId, lead: null, case: thread.ref });
    } else {
      applied.push({ row, action: suppressedBy.has(row.id) ? 'suppressed' : 'recorded', contactId: ident.contactId, lead: null, case: null });
    }
  }

  const { leads: leadIds, cases: caseIds } = await reserveIds(tx, { leads: newLeads.length, cases: newCases.length });
  const resolve = (ref: RecordRef | null, created: number[]) => (ref === null ? null : ref.kind === 'existing' ? ref.id : created[ref.index]!);
  const outcomes = applied.map((a) => {
    const decision = decisions.get(a.row.id)!;
    const outcome: CaptureOutcome = {
      action: a.action,
      label: decision.label,
      contactId: a.contactId,
      leadId: resolve(a.lead, leadIds),
      caseId: resolve(a.case, caseIds),
      decision,
    };
    return { row: a.row, decision, outcome };
  });
  // Pipelined: every write of the batch in one round trip.
  await Promise.all([
    insertLeads(tx, newLeads, leadIds),
    insertCases(tx, newCases, caseIds, opts),
    touchLeads(tx, leadTouches),
    touchCases(tx, caseTouches),
    reopenCases(tx, reopened, opts),
    // The decisions go as one jsonb document: each decision is stored as it is, with no second
    // escaping into an array literal, and Postgres parses the batch once. Label, score, priority and
    // ruleset version are read off the decision, so the row cannot disagree with its explanation.
    tx`
    update social_posts p set
      status = 'processed', attempts = p.attempts + 1, error = null,
      label = (u.decision->>'label')::label, score = (u.decision->>'score')::real,
      priority = (u.decision->>'priority')::case_priority, decision = u.decision,
      ruleset_version = u.decision->>'rulesetVersion', contact_id = u.contact_id, lead_id = u.lead_id, case_id = u.case_id,
      processed_at = clock_timestamp()
    from jsonb_to_recordset(${JSON.stringify(
      outcomes.map((o) => ({ id: o.row.id, decision: o.decision, contact_id: o.outcome.contactId, lead_id: o.outcome.leadId, case_id: o.outcome.caseId })),
    )}::jsonb) as u(id bigint, decision jsonb, contact_id bigint, lead_id bigint, case_id bigint)
    where p.id = u.id`,
    appendCaptureEvents(tx, outcomes),
  ]);
  for (const o of outcomes) results.set(postKey(o.row), o.outcome);
  return results;
}

/** Link identities to contacts (handle, then e-mail, else new); updates `identities` in place. */
async function resolveContacts(tx: Tx, rows: PostRow[], identities: Map<number, IdentityRow>): Promise<void> {
  const wanted = rows.map((row) => {
    const ident = identities.get(row.identityId!)!;
    return {
      ident,
      handle: ident.handle?.replace(/^@/, '').toLowerCase() ?? null,
      email: typeof row.email === 'string' ? row.email.toLowerCase() : null,
    };
  });
  const withHandle = wanted.filter((w) => w.handle !== null);
  const emails = [...new Set(wanted.map((w) => w.email).filter((e): e is string => e !== null))];
  const [handleRows, emailRows] = await Promise.all([
    withHandle.length > 0
      ? tx<{ platform: Platform; handle: string; contactId: number }[]>`
          select h.platform, h.handle, h.contact_id as "contactId" from contact_handles h
          join unnest(${tx.array(withHandle.map((w) => w.ident.platform))}::platform[], ${tx.array(withHandle.map((w) => w.handle!))}::text[]) as k(platform, handle)
            on h.platform = k.platform and h.handle = k.handle`
      : [],
    emails.length > 0
      ? tx<{ id: number; email: string }[]>`select id, lower(email) as email from contacts where lower(email) = any(${tx.array(emails)}::text[])`
      : [],
  ]);
  const byHandle = new Map(handleRows.map((h) => [`${h.platform}/${h.handle}`, h.contactId]));
  const byEmail = new Map(emailRows.map((c) => [c.email, c.id]));
  const links: { identityId: number; contactId: number }[] = [];
  const fresh: typeof wanted = [];
  for (const w of wanted) {
    const match = (w.handle !== null ? byHandle.get(`${w.ident.platform}/${w.handle}`) : undefined) ?? (w.email !== null ? byEmail.get(w.email) : undefined);
    if (match !== undefined) links.push({ identityId: w.ident.id, contactId: match });
    else fresh.push(w);
  }
  let newContacts: Promise<unknown> | null = null;
  if (fresh.length > 0) {
    // Two new authors with one e-mail in a batch share the contact the first one makes.
    const creatorOfEmail = new Map<string, (typeof fresh)[number]>();
    const creators = fresh.filter((w) => {
      if (w.email === null) return true;
      if (creatorOfEmail.has(w.email)) return false;
      creatorOfEmail.set(w.email, w);
      return true;
    });
    const { contacts: ids } = await reserveIds(tx, { contacts: creators.length });
    const created = new Map(creators.map((w, i) => [w, ids[i]!]));
    for (const w of fresh) {
      links.push({ identityId: w.ident.id, contactId: created.get(w) ?? created.get(creatorOfEmail.get(w.email!)!)! });
    }
    newContacts = tx`
      insert into contacts (id, name, email) overriding system value
      select * from unnest(${tx.array(ids)}::bigint[], ${tx.array(creators.map((w) => w.ident.name ?? w.ident.handle) as string[])}::text[],
                           ${tx.array(creators.map((w) => w.email) as string[])}::text[])`;
  }
  // Pipelined: the new contacts, then the identities that point at them.
  await Promise.all([
    newContacts,
    tx`
      update identities i set contact_id = u.contact_id
      from unnest(${tx.array(links.map((l) => l.identityId))}::bigint[], ${tx.array(links.map((l) => l.contactId))}::bigint[]) as u(id, contact_id)
      where i.id = u.id`,
  ]);
  for (const l of links) identities.get(l.identityId)!.contactId = l.contactId;
}

/** Ids for rows this transaction inserts, from the tables' own identity sequences, in one round trip. */
async function reserveIds<T extends string>(tx: Tx, counts: Record<T, number>): Promise<Record<T, number[]>> {
  const tables = Object.keys(counts) as T[];
  const out = Object.fromEntries(tables.map((t) => [t, [] as number[]])) as Record<T, number[]>;
  const wanted = tables.filter((t) => counts[t] > 0);
  if (wanted.length === 0) return out;
  const rows = await tx<{ t: T; id: number }[]>`
    select w.t, nextval(pg_get_serial_sequence(w.t, 'id')) as id
    from unnest(${tx.array(wanted)}::text[], ${tx.array(wanted.map((t) => counts[t]))}::int[]) as w(t, n), generate_series(1, w.n)`;
  for (const r of rows) out[r.t].push(r.id);
  return out;
}

/** `unnest(platforms, ids) as k(platform, external_id)`: a batch's post keys as a relation. */
function sqlFragmentKeys(tx: Tx, refs: readonly PostRef[]) {
  return tx`unnest(${tx.array(refs.map((r) => r.platform))}::platform[], ${tx.array(refs.map((r) => r.externalId))}::text[]) as k(platform, external_id)`;
}

/** The open case of each reply's conversation (its parent or its root), by post id. */
async function findThreadCases(tx: Tx, replies: PostRow[]): Promise<Map<number, OpenCase>> {
  const found = new Map<number, OpenCase>();
  if (replies.length === 0) return found;
  const platforms: Platform[] = [];
  const keys: string[] = [];
  for (const r of replies) {
    for (const k of [r.inReplyTo, r.conversationId]) {
      if (k !== null) {
        platforms.push(r.platform);
        keys.push(k);
      }
    }
  }
  // Two index lookups (the parent or root by id, and posts of the same conversation) rather than
  // one OR, and each case read by its key: a join to `cases` as a whole would read every open
  // case per batch in a generic plan, and slow down as they accumulate.
  const rows = await tx<{ platform: Platform; externalId: string; conversationId: string | null; id: number; contactId: number; lastActivity: number }[]>`
    with k(platform, key) as (select * from unnest(${tx.array(platforms)}::platform[], ${tx.array(keys)}::text[])),
    hits as (
      select p.platform, p.external_id, p.conversation_id, p.case_id from k join social_posts p on p.platform = k.platform and p.external_id = k.key
      where p.case_id is not null
      union all
      select p.platform, p.external_id, p.conversation_id, p.case_id from k join social_posts p on p.platform = k.platform and p.conversation_id = k.key
      where p.case_id is not null
    )
    select h.platform, h.external_id as "externalId", h.conversation_id as "conversationId",
           c.id, c.contact_id as "contactId", (extract(epoch from c.last_activity_at) * 1000)::float8 as "lastActivity"
    from hits h cross join lateral (
      select c.id, c.contact_id, c.last_activity_at from cases c where c.id = h.case_id and c.status in ${tx.unsafe(OPEN_CASE)}
      limit 1 -- not pulled up into a join: one primary-key lookup per hit
    ) c`;
  for (const r of replies) {
    const mine = new Set([r.inReplyTo, r.conversationId].filter((x) => x !== null));
    for (const row of rows) {
      if (row.platform !== r.platform || !(mine.has(row.externalId) || (row.conversationId !== null && mine.has(row.conversationId)))) continue;
      const cur = found.get(r.id);
      if (!cur || row.lastActivity > cur.lastActivity) found.set(r.id, { id: row.id, contactId: row.contactId, lastActivity: row.lastActivity });
    }
  }
  return found;
}

const RANK: Record<Priority, number> = { low: 0, normal: 1, high: 2, urgent: 3 };
const BY_RANK: readonly Priority[] = ['low', 'normal', 'high', 'urgent'];

/** Own-account posts, and retweets from a source that ignores them, never become leads or cases. */
function suppression(row: PostRow, ident: IdentityRow, opts: CaptureOptions): 'own account' | 'retweet' | null {
  const own = opts.ownAccounts?.[row.platform] ?? [];
  if (own.length > 0) {
    const handle = ident.handle?.replace(/^@/, '').toLowerCase();
    for (const o of own) {
      const want = o.replace(/^@/, '').toLowerCase();
      if (want === ident.externalUserId || (handle !== undefined && want === handle)) return 'own account';
    }
  }
  if (row.isRetweet && !opts.captureRetweetSources?.has(row.sourceId)) return 'retweet';
  return null;
}

/**
 * A new case's priority: its rules' priority, one step up for each of a customer or partner
 * account, an active entitlement, and two or more other open cases; at most urgent. The reason
 * says which applied.
 */
export function casePriority(decision: Pick<Decision, 'priority' | 'priorityRule'>, f: PriorityFacts | undefined): { priority: Priority; reason: string } {
  const base = decision.priority ?? 'normal';
  const parts = [decision.priorityRule ? `rule ${decision.priorityRule}: ${base}` : `default priority: ${base}`];
  let rank = RANK[base];
  if (f?.relationship === 'customer' || f?.relationship === 'partner') {
    rank += 1;
    parts.push(`${f.relationship} account +1`);
  }
  if (f?.entitlement) {
    rank += 1;
    parts.push(`entitlement ${JSON.stringify(f.entitlement)} +1`);
  }
  if (f && f.openCases >= 2) {
    rank += 1;
    parts.push(`${f.openCases} other open cases +1`);
  }
  const priority = BY_RANK[Math.min(rank, RANK.urgent)]!;
  return { priority, reason: parts.length > 1 ? `${parts.join('; ')} → ${priority}` : parts[0]! };
}

function moreUrgent(a: Decision | null, b: Decision): Decision {
  if (a === null) return b;
  return RANK[b.priority ?? 'low'] > RANK[a.priority ?? 'low'] ? b : a;
}

async function insertLeads(tx: Tx, leads: NewRecord[], ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await tx`
    insert into leads (id, contact_id, account_id, source, subject, score, ruleset_version, rules) overriding system value
    select u.id, u.contact_id, c.account_id, u.source, u.subject, u.score, u.ruleset_version, u.rules
    from unnest(${tx.array(ids)}::bigint[], ${tx.array(leads.map((l) => l.contactId))}::bigint[],
                ${tx.array(leads.map((l) => l.row.platform))}::platform[], ${tx.array(leads.map((l) => titleOf(l.row.text)))}::text[],
                ${tx.array(leads.map((l) => l.decision.score))}::real[], ${tx.array(leads.map((l) => l.decision.rulesetVersion))}::text[],
                ${tx.array(leads.map((l) => JSON.stringify(l.decision.rules)))}::jsonb[])
         as u(id, contact_id, source, subject, score, ruleset_version, rules)
    join contacts c on c.id = u.contact_id`;
}

async function insertCases(tx: Tx, cases: NewRecord[], ids: number[], opts: CaptureOptions): Promise<void> {
  if (ids.length === 0) return;
  const priorities = cases.map((c) => c.priority ?? c.decision.priority ?? 'normal');
  await tx`
    insert into cases (id, contact_id, title, origin, priority, priority_reason, resolve_by, conversation_id, ruleset_version, rules)
    overriding system value
    select u.id, u.contact_id, u.title, u.origin, u.priority, u.reason, now() + u.sla_ms * interval '1 millisecond',
           u.conversation_id, u.ruleset_version, u.rules
    from unnest(${tx.array(ids)}::bigint[], ${tx.array(cases.map((c) => c.contactId))}::bigint[], ${tx.array(cases.map((c) => titleOf(c.row.text)))}::text[],
                ${tx.array(cases.map((c) => c.row.platform))}::platform[], ${tx.array(priorities)}::case_priority[],
                ${tx.array(cases.map((c) => c.priorityReason ?? (c.decision.priorityRule ? `rule ${c.decision.priorityRule}` : 'default priority')))}::text[],
                ${tx.array(priorities.map((p) => opts.slaMs[p]))}::bigint[],
                ${tx.array(cases.map((c) => c.row.conversationId ?? c.row.externalId))}::text[],
                ${tx.array(cases.map((c) => c.decision.rulesetVersion))}::text[], ${tx.array(cases.map((c) => JSON.stringify(c.decision.rules)))}::jsonb[])
         as u(id, contact_id, title, origin, priority, reason, sla_ms, conversation_id, ruleset_version, rules)`;
}

async function touchLeads(tx: Tx, touches: Map<number, number>): Promise<void> {
  if (touches.size === 0) return;
  await tx`
    update leads l set last_activity_at = now(), updated_at = now(), score = greatest(l.score, u.score)
    from unnest(${tx.array([...touches.keys()])}::bigint[], ${tx.array([...touches.values()])}::real[]) as u(id, score)
    where l.id = u.id`;
}

/** Record activity on cases; a more urgent post escalates its case, never lowers it (enum order low < urgent). */
async function touchCases(tx: Tx, touches: Map<number, Decision | null>): Promise<void> {
  if (touches.size === 0) return;
  const entries = [...touches.entries()];
  await tx`
    update cases c set last_activity_at = now(), updated_at = now(),
      priority_reason = case when u.priority > c.priority then u.reason else c.priority_reason end,
      priority = greatest(c.priority, u.priority)
    from unnest(${tx.array(entries.map(([id]) => id))}::bigint[], ${tx.array(entries.map(([, d]) => d?.priority ?? 'low'))}::case_priority[],
                ${tx.array(entries.map(([, d]) => `escalated by rule ${d?.priorityRule ?? 'default'}`))}::text[]) as u(id, priority, reason)
    where c.id = u.id`;
}

/** Cases a new problem post reopened: back in progress, with a fresh resolve-by for their priority. */
async function reopenCases(tx: Tx, ids: ReadonlySet<number>, opts: CaptureOptions): Promise<void> {
  if (ids.size === 0) return;
  const sla = opts.slaMs;
  await tx`
    update cases c set status = 'in_progress', resolved_at = null, reopen_count = c.reopen_count + 1, updated_at = now(),
      resolve_by = now() + (case c.priority when 'urgent' then ${sla.urgent} when 'high' then ${sla.high} when 'normal' then ${sla.normal} else ${sla.low} end)::bigint
                   * interval '1 millisecond'
    where c.id = any(${tx.array([...ids])}::bigint[]) and c.status = 'resolved'`;
}

/** Quarantine a post that cannot be processed: visible as `failed` with its reason. */
export async function markFailed(sql: Sql, ref: PostRef, reason: string, attempts: number): Promise<boolean> {
  const rows = await sql`
    update social_posts set status = 'failed', error = ${reason.slice(0, 2000)}, attempts = ${attempts},
                            processed_at = clock_timestamp()
    where platform = ${ref.platform} and external_id = ${ref.externalId} and status = 'pending'
    returning id`;
  return rows.length > 0;
}
