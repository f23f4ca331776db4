import type { CaptureIdentity, CaptureOptions, CapturePost, ContactWanted, LivePost, OpenWork, ThreadCaseRow } from '../capture/planner.js';
import { isReply } from '../capture/planner.js';
import type { Platform } from '../types.js';
import type { Tx } from './client.js';
import type { PostRef } from './post-key.js';

// Capture's reads, each taking its locks in the order captureBatch states (src/db/capture.repo.ts).

const OPEN_CASE = `('new', 'in_progress')`;

/** A batch's posts and their authors, locked; and the transaction's clock. */
export interface LockedBatch {
  posts: CapturePost[];
  identities: Map<number, CaptureIdentity>;
  /** `now()`, epoch microseconds. */
  nowUs: number;
}

/**
 * Lock the batch's posts, then their authors' identities, both in id order, in one round trip
 * (pipelined; the server runs them in order). Each post is found by its key, one index lookup per
 * post (the LIMIT keeps the planner from turning a generic plan into a scan of every pending post).
 */
export async function lockBatch(tx: Tx, refs: readonly PostRef[]): Promise<LockedBatch> {
  const [[settings], posts, identityRows] = await Promise.all([
    // The commit need not wait for its WAL flush: should the server crash and lose it, the posts
    // are pending again with nothing of theirs written, and the reconciler re-enqueues them.
    // Every statement here names its rows by key, so the plans are index lookups, always: a generic
    // plan made while a table was small (statistics lag a fast-growing inbox) would otherwise keep
    // scanning the whole table as it grows, and capture would slow down with every post stored.
    // JIT off: with scans disabled every plan's cost estimate passes jit_above_cost, and compiling the outbox's
    // snapshot expressions took ~160 ms a batch (auto_explain) for statements that run in well under a millisecond.
    tx<{ nowUs: number }[]>`select set_config('synchronous_commit', 'off', true), set_config('enable_seqscan', 'off', true),
              set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true),
              (extract(epoch from now()) * 1000000)::int8 as "nowUs"`,
    tx<CapturePost[]>`
      select p.id, p.platform, p.external_id as "externalId", p.text, p.status, p.source_id as "sourceId", p.identity_id as "identityId",
             p.in_reply_to as "inReplyTo", p.conversation_id as "conversationId", p.lang,
             p.payload->'author'->'followers' as followers, p.payload->'author'->'email' as email, p.payload ? 'retweet_of' as "isRetweet"
      from social_posts p join ${keysOf(tx, refs)} on p.platform = k.platform and p.external_id = k.external_id
      order by p.id
      for no key update of p`,
    tx<CaptureIdentity[]>`
      select id, platform, external_user_id as "externalUserId", contact_id as "contactId", handle, name from identities
      where id in (select p.identity_id from ${keysOf(tx, refs)}
                   cross join lateral (select identity_id from social_posts p where p.platform = k.platform and p.external_id = k.external_id
                                       limit 1) p)
      order by id
      for no key update`,
  ]);
  return { posts, identities: new Map(identityRows.map((i) => [i.id, i])), nowUs: settings!.nowUs };
}

/** What may link authors to stored contacts: contacts holding their handles (per platform) or e-mails. */
export async function readContactMatches(tx: Tx, wanted: readonly ContactWanted[]) {
  const withHandle = wanted.filter((w) => w.handle !== null);
  const emails = [...new Set(wanted.map((w) => w.email).filter((e): e is string => e !== null))];
  const [handleRows, emailRows] = await Promise.all([
    withHandle.length > 0
      ? tx<{ platform: Platform; handle: string; contactId: number }[]>`
          select h.platform, h.handle, h.contact_id as "contactId" from contact_handles h
          join unnest(${tx.array(withHandle.map((w) => w.identity.platform))}::platform[],
                      ${tx.array(withHandle.map((w) => w.handle!))}::text[]) as k(platform, handle)
            on h.platform = k.platform and h.handle = k.handle`
      : [],
    emails.length > 0
      ? tx<{ id: number; email: string }[]>`select id, lower(email) as email from contacts where lower(email) = any(${tx.array(emails)}::text[])`
      : [],
  ]);
  return { handleRows, emailRows };
}

/**
 * Lock the live posts' contacts, then read their open work, in one round trip (pipelined: the lock
 * is taken before the reads run). The case reads are bounded by the windows so they stay index
 * ranges; the planner applies the windows.
 */
export async function lockOpenWork(tx: Tx, live: readonly LivePost[], nowUs: number, opts: CaptureOptions): Promise<OpenWork> {
  const contactIds = [...new Set(live.map((l) => l.identity.contactId).filter((c): c is number => c !== null))].sort((a, b) => a - b);
  const replies = live.filter((l) => isReply(l.post)).map((l) => l.post);
  const reopenWindowMs = opts.reopenWindowMs ?? 0;
  const some = contactIds.length > 0;
  const casesAhead = some && live.some((l) => l.decision.label === 'case');
  const ids = tx.array(contactIds);
  const [, openLeads, openCases, threadCases, resolvedCases, priorityFacts] = await Promise.all([
    some ? tx`select id from contacts where id = any(${ids}::bigint[]) order by id for no key update` : null,
    some
      ? tx<OpenWork['openLeads'][number][]>`
          select id, contact_id as "contactId" from leads where contact_id = any(${ids}::bigint[]) and status = 'open'`
      : [],
    some
      ? tx<OpenWork['openCases'][number][]>`
          select id, contact_id as "contactId", origin, (extract(epoch from last_activity_at) * 1000000)::int8 as "lastActivityUs" from cases
          where contact_id = any(${ids}::bigint[]) and status in ${tx.unsafe(OPEN_CASE)}
            and last_activity_at > now() - ${opts.caseWindowMs} * interval '1 millisecond'
          order by last_activity_at`
      : [],
    readThreadCases(tx, replies),
    casesAhead && reopenWindowMs > 0
      ? tx<OpenWork['resolvedCases'][number][]>`
          select id, contact_id as "contactId", origin, (extract(epoch from resolved_at) * 1000000)::int8 as "resolvedAtUs" from cases
          where contact_id = any(${ids}::bigint[]) and status = 'resolved'
            and resolved_at > now() - ${reopenWindowMs} * interval '1 millisecond'
          order by resolved_at`
      : [],
    casesAhead
      ? tx<OpenWork['priorityFacts'][number][]>`
          select k.id as "contactId", a.relationship::text as relationship,
                 (select e.name from entitlements e
                  where (e.contact_id = k.id or e.account_id = k.account_id) and e.starts_at <= now() and (e.ends_at is null or e.ends_at > now())
                  order by e.id limit 1) as entitlement,
                 (select count(*)::int from cases c where c.contact_id = k.id and c.status in ${tx.unsafe(OPEN_CASE)}) as "openCases"
          from contacts k left join accounts a on a.id = k.account_id
          where k.id = any(${ids}::bigint[])`
      : [],
  ]);
  return { nowUs, openLeads, openCases, threadCases, resolvedCases, priorityFacts };
}

/** Open cases held by the posts that are the replies' parents or roots, or in their conversations. */
async function readThreadCases(tx: Tx, replies: readonly CapturePost[]): Promise<ThreadCaseRow[]> {
  if (replies.length === 0) return [];
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
  return tx<ThreadCaseRow[]>`
    with k(platform, key) as (select * from unnest(${tx.array(platforms)}::platform[], ${tx.array(keys)}::text[])),
    hits as (
      select p.platform, p.external_id, p.conversation_id, p.case_id from k join social_posts p on p.platform = k.platform and p.external_id = k.key
      where p.case_id is not null
      union all
      select p.platform, p.external_id, p.conversation_id, p.case_id from k join social_posts p on p.platform = k.platform and p.conversation_id = k.key
      where p.case_id is not null
    )
    select h.platform, h.external_id as "externalId", h.conversation_id as "conversationId",
           c.id, c.contact_id as "contactId", (extract(epoch from c.last_activity_at) * 1000000)::int8 as "lastActivityUs"
    from hits h cross join lateral (
      select c.id, c.contact_id, c.last_activity_at from cases c where c.id = h.case_id and c.status in ${tx.unsafe(OPEN_CASE)}
      limit 1 -- not pulled up into a join: one primary-key lookup per hit
    ) c`;
}

/** `unnest(platforms, ids) as k(platform, external_id)`: a batch's post keys as a relation. */
function keysOf(tx: Tx, refs: readonly PostRef[]) {
  return tx`unnest(${tx.array(refs.map((r) => r.platform))}::platform[], ${tx.array(refs.map((r) => r.externalId))}::text[]) as k(platform, external_id)`;
}
