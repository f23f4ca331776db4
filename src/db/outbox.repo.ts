import { GoneError } from '../errors.js';
import type { Platform } from '../types.js';
import type { Sql, Tx } from './client.js';
import { caseColumns } from './read-models/cases.read.js';
import { contactColumns } from './read-models/contacts.read.js';
import { leadColumns } from './read-models/leads.read.js';
import { ISO } from './read-models/common.js';

/**
 * The transactional outbox: every change writes its event in the transaction that makes it
 * ({@link appendEvents}), numbered in commit order as that transaction's last statement; the pull
 * feed ({@link readFeed}) and the webhook relay read them in that order.
 */

/** Every event type, with the kind of record (aggregate) it is about. */
export const EVENT_TYPES = {
  'lead.created': 'lead',
  'lead.qualified': 'lead',
  'lead.disqualified': 'lead',
  'opportunity.won': 'opportunity',
  'opportunity.lost': 'opportunity',
  'case.created': 'case',
  'case.post_attached': 'case',
  'case.status_changed': 'case',
  'case.priority_changed': 'case',
  'contact.created': 'contact',
  'contact.merged': 'contact',
  'contact.unmerged': 'contact',
  'contact.erased': 'contact',
  'feedback.recorded': 'feedback',
} as const;
export type EventType = keyof typeof EVENT_TYPES;
export type AggregateType = (typeof EVENT_TYPES)[EventType];

/** An event to append. */
export interface NewEvent {
  type: EventType;
  aggregateId: number;
  /** The record's JSON; omitted for leads, cases and contacts, whose snapshot is read in the same statement. */
  data?: Record<string, unknown>;
  /** What changed beyond the record: from/to, the post attached, the merge. */
  change?: Record<string, unknown>;
  /**
   * Append only if: `first`, the record has no event yet; `changed:<field>`, the field differs from
   * the record's last published snapshot (the change then says from and to).
   */
  when?: 'first' | `changed:${string}`;
}

/** Which records' snapshot comes from which read model: the same columns the API returns. */
function snapshotSql(tx: Tx) {
  return tx`case w.agg
    when 'lead' then (select to_jsonb(s) from (select ${leadColumns(tx)} from leads l where l.id = w.id) s)
    when 'case' then (select to_jsonb(s) from (select ${caseColumns(tx)} from cases c where c.id = w.id) s)
    when 'contact' then (select to_jsonb(s) from (select ${contactColumns(tx)} from contacts k where k.id = w.id) s)
  end`;
}

/**
 * The fields a `changed:<field>` condition may name, per record kind: each read from its column in one
 * index lookup, as the snapshot shows it, so an unchanged record costs no snapshot.
 */
const CHANGE_FIELDS: Record<string, (tx: Tx) => ReturnType<Tx>> = {
  'case:priority': (tx) => tx`(select to_jsonb(c.priority) from cases c where c.id = u.id)`,
  'case:status': (tx) => tx`(select to_jsonb(c.status) from cases c where c.id = u.id)`,
  'lead:status': (tx) => tx`(select to_jsonb(l.status) from leads l where l.id = u.id)`,
};

/** The current value of the field each `changed:` condition of the list names (null for other events). */
function changedFieldSql(tx: Tx, list: readonly NewEvent[]) {
  const keys = new Set<string>();
  for (const e of list) {
    if (!e.when?.startsWith('changed:')) continue;
    const key = `${EVENT_TYPES[e.type]}:${e.when.slice('changed:'.length)}`;
    if (!CHANGE_FIELDS[key]) throw new RangeError(`appendEvents: no cheap read of ${key} for ${e.when} (add it to CHANGE_FIELDS)`);
    keys.add(key);
  }
  if (keys.size === 0) return tx`null::jsonb`;
  const arms = [...keys].map((k) => tx`when ${k} then ${CHANGE_FIELDS[k]!(tx)}`);
  return tx`case u.agg || ':' || substr(u.cond, 9) ${arms.reduce((a, b) => tx`${a} ${b}`)} end`;
}

/** Arbitrary constant: the advisory lock under which events get their feed positions, held to commit. */
const FEED_LOCK = 7_345_002_020;

/**
 * Append events in the caller's transaction, in ONE statement whatever their number: each gets the
 * next sequence number of its record and, unless given, the record's snapshot as it stands after
 * the statements before this one. Sent before the caller's next await, so a pipelined batch
 * (capture) runs it after its writes.
 *
 * Feed positions are handed out in commit order: the statement first takes a transaction-level
 * advisory lock, then numbers the events after the highest position committed. The lock is held
 * until the transaction ends, and a transaction's commit is visible before its locks are released,
 * so the next holder sees it and numbers after it: a position is never given to an event that
 * commits before an event with a lower one, and a feed reader never skips one. It must therefore
 * be the transaction's LAST write: every caller appends its events after its other writes (and
 * reads only after), so holding the lock never waits on another lock (no deadlock) and is short.
 *
 * The snapshot (the API's JSON of the record, the costly part) is read once per record of the
 * list, after the conditions are settled from the record's last event and, for `changed:`, from
 * the one column it names: a `contact.created` already published, or a case whose priority did
 * not change, costs no snapshot.
 */
export function appendEvents(tx: Tx, list: readonly NewEvent[]): Promise<unknown> {
  if (list.length === 0) return Promise.resolve();
  const rows = list.map((e, ord) => ({
    ord,
    type: e.type,
    agg: EVENT_TYPES[e.type],
    id: e.aggregateId,
    data: e.data ?? null,
    change: e.change ?? null,
    cond: e.when ?? null,
  }));
  // w: the events kept, each with the record's last event (one index lookup: the next sequence number,
  // and the published value a `changed:` compares with) and the field's current value; y: the snapshot,
  // read for the first kept event of each record that needs one and shared by the record's others.
  // Two statements, pipelined: the insert's snapshot is taken after the lock is granted.
  const lock = tx`select pg_advisory_xact_lock(${FEED_LOCK})`;
  const insert = tx`
    insert into events (type, aggregate_type, aggregate_id, sequence, feed_position, data, change)
    select y.type, y.agg, y.id, coalesce(y.last_seq, 0) + row_number() over (partition by y.agg, y.id order by y.ord),
           (select coalesce(max(e.feed_position), 0) from events e) + row_number() over (order by y.ord),
           coalesce(y.data, first_value(y.snap) over (partition by y.agg, y.id, y.data is null order by y.ord), jsonb_build_object('id', y.id)),
           case when y.cond like 'changed:%'
                then jsonb_build_object('field', substr(y.cond, 9), 'from', y.last_data -> substr(y.cond, 9), 'to', y.cur)
                else y.change end
    from (
      select w.*, case when w.data is null and w.nth = 1 then ${snapshotSql(tx)} end as snap
      from (
        select u.*, last.sequence as last_seq, last.data as last_data, cur.v as cur,
               row_number() over (partition by u.agg, u.id, u.data is null order by u.ord) as nth
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as u(ord int, type text, agg text, id bigint, data jsonb, change jsonb, cond text)
        left join lateral (
          select x.sequence, x.data from events x where x.aggregate_type = u.agg and x.aggregate_id = u.id order by x.sequence desc limit 1
        ) last on true
        cross join lateral (select case when u.cond like 'changed:%' then ${changedFieldSql(tx, list)} end as v) cur
        where (u.cond is distinct from 'first' or last.sequence is null)
          and (u.cond is null or u.cond not like 'changed:%' or (last.sequence is not null and (last.data -> substr(u.cond, 9)) is distinct from cur.v))
      ) w
    ) y
    order by y.ord`;
  return Promise.all([lock, insert]);
}

// ---------------------------------------------------------------- what capture wrote, as events

/** One post of a capture batch as applied: the fields of capture's outcome the events are derived from. */
export interface CapturedPost {
  row: { id: number; platform: Platform; externalId: string };
  outcome: { action: string; contactId: number | null; leadId: number | null; caseId: number | null };
}

/**
 * The events of a capture batch, in post order: `contact.created` the first time a contact appears,
 * `lead.created`, `case.created`, `case.status_changed` (reopened), `case.post_attached`, and
 * `case.priority_changed` when a touched case's priority differs from its last published one.
 */
export function captureEvents(posts: readonly CapturedPost[]): NewEvent[] {
  const out: NewEvent[] = [];
  const contacts = new Set<number>();
  const touched = new Set<number>();
  for (const { row, outcome: o } of posts) {
    const post = { postId: row.id, platform: row.platform, externalId: row.externalId };
    const makesWork = o.action.startsWith('lead-') || o.action.startsWith('case-');
    if (makesWork && o.contactId !== null && !contacts.has(o.contactId)) {
      contacts.add(o.contactId);
      out.push({ type: 'contact.created', aggregateId: o.contactId, when: 'first' });
    }
    if (o.action === 'lead-created' && o.leadId !== null) out.push({ type: 'lead.created', aggregateId: o.leadId, change: { post } });
    if (o.caseId === null) continue;
    if (o.action === 'case-created') out.push({ type: 'case.created', aggregateId: o.caseId, change: { post } });
    if (o.action === 'case-reopened') {
      out.push({ type: 'case.status_changed', aggregateId: o.caseId, change: { from: 'resolved', to: 'in_progress', action: 'reopened' } });
    }
    if (o.action === 'case-reopened' || o.action === 'case-attached') {
      out.push({ type: 'case.post_attached', aggregateId: o.caseId, change: { post } });
      touched.add(o.caseId);
    }
  }
  for (const id of touched) out.push({ type: 'case.priority_changed', aggregateId: id, when: 'changed:priority' });
  return out;
}

/** Append the events of what a capture batch wrote: ONE multi-row insert, pipelined after its writes. */
export function appendCaptureEvents(tx: Tx, posts: readonly CapturedPost[]): Promise<unknown> {
  return appendEvents(tx, captureEvents(posts));
}

// ---------------------------------------------------------------- builders for the transitions

const CASE_ACTIONS: Record<string, string> = { in_progress: 'started', resolved: 'resolved', cancelled: 'cancelled' };

/** `case.status_changed` from one status to another: started, resolved, cancelled (reopened comes from capture). */
export function caseStatusChanged(caseId: number, from: string, to: string): NewEvent {
  return { type: 'case.status_changed', aggregateId: caseId, change: { from, to, action: CASE_ACTIONS[to] ?? to } };
}

/** `contact.merged` on the merged contact: which merge, into whom, and the ids of what moved (never the e-mail: personal data stays out of events). */
export function contactMerged<M extends { email: string | null }>(mergeId: number, survivorId: number, mergedId: number, moved: M): NewEvent {
  const { email: _email, ...ids } = moved;
  return { type: 'contact.merged', aggregateId: mergedId, change: { mergeId, survivorId, mergedId, moved: ids } };
}

/**
 * `feedback.recorded`: a person's correction of a post's label. The feedback store (another
 * module) calls `appendEvents(tx, [feedbackRecorded(row)])` in the transaction that stores it.
 */
export function feedbackRecorded(feedback: { id: number } & Record<string, unknown>): NewEvent {
  return { type: 'feedback.recorded', aggregateId: feedback.id, data: feedback };
}

/** The records an erasure touched. */
export interface ErasedRecords {
  contacts: readonly number[];
  leads: readonly number[];
  cases: readonly number[];
  opportunities: readonly number[];
}

/**
 * Erasure reaches the outbox: every stored event of the person's records keeps its ids and type
 * but loses its data (pending deliveries are signed from the stored event, so they send the
 * scrubbed form), and one `contact.erased` per contact says which records went, by id only.
 */
export async function eraseFromEvents(tx: Tx, r: ErasedRecords): Promise<void> {
  await tx`
    update events set data = jsonb_build_object('id', aggregate_id, 'erased', true), change = null
    where (aggregate_type = 'contact' and aggregate_id = any(${tx.array([...r.contacts])}::bigint[]))
       or (aggregate_type = 'lead' and aggregate_id = any(${tx.array([...r.leads])}::bigint[]))
       or (aggregate_type = 'case' and aggregate_id = any(${tx.array([...r.cases])}::bigint[]))
       or (aggregate_type = 'opportunity' and aggregate_id = any(${tx.array([...r.opportunities])}::bigint[]))`;
  await appendEvents(
    tx,
    r.contacts.map((id) => ({
      type: 'contact.erased' as const,
      aggregateId: id,
      data: { id, erased: true },
      change: { leads: [...r.leads], cases: [...r.cases], opportunities: [...r.opportunities] },
    })),
  );
}

// ---------------------------------------------------------------- the pull feed

/** An event as the feed and the webhooks carry it. */
export interface EventMessage {
  id: string;
  type: EventType;
  /** When the change happened, ISO 8601 UTC. */
  timestamp: string;
  aggregate: { type: AggregateType; id: number; sequence: number };
  data: Record<string, unknown>;
  change: Record<string, unknown> | null;
  /** The feed position: pass it as `after` to read on from this event. */
  cursor: string;
}

const EVENT_TIMESTAMP = (sql: Sql | Tx) => sql`to_char(e.occurred_at at time zone 'UTC', ${ISO})`;
const EVENT_AGGREGATE = (sql: Sql | Tx) => sql`json_build_object('type', e.aggregate_type, 'id', e.aggregate_id, 'sequence', e.sequence)`;

/** The columns of an {@link EventMessage}, selected from `events e`. */
export const EVENT_MESSAGE = (sql: Sql | Tx) => sql`
  e.id, e.type, ${EVENT_TIMESTAMP(sql)} as timestamp, ${EVENT_AGGREGATE(sql)} as aggregate,
  e.data, e.change, e.feed_position::text as cursor`;

/**
 * An {@link EventMessage} without its cursor, as JSON text built by Postgres from `events e`: the webhook
 * body, never parsed and re-serialized in Node (Postgres spaces it its own way: `"id" : …`).
 */
export const EVENT_BODY = (sql: Sql | Tx) => sql`
  json_build_object('id', e.id, 'type', e.type, 'timestamp', ${EVENT_TIMESTAMP(sql)}, 'aggregate', ${EVENT_AGGREGATE(sql)},
                    'data', e.data, 'change', e.change)::text`;

/** `case.*,lead.created` → SQL LIKE patterns; `*` or nothing: every type. Throws naming the bad one. */
export function typePatterns(types: string | readonly string[] | undefined): string[] {
  const list = (typeof types === 'string' ? types.split(',') : (types ?? [])).map((t) => t.trim()).filter(Boolean);
  const known = Object.keys(EVENT_TYPES);
  for (const t of list) {
    const ok = t === '*' || known.includes(t) || (t.endsWith('.*') && known.some((k) => k.startsWith(t.slice(0, -1))));
    if (!ok) throw new RangeError(`unknown event type ${JSON.stringify(t)} (one of ${known.join(', ')}, a prefix like case.*, or *)`);
  }
  return list.includes('*') ? [] : list.map((t) => t.replace('*', '%'));
}

export interface FeedQuery {
  /** A cursor from an earlier page; omitted: from the start. */
  after?: string | undefined;
  types?: readonly string[] | undefined;
  limit: number;
}

/**
 * Events in commit order after the cursor. `next` is where to read on from: the last event returned,
 * or, when fewer than `limit` matched, the highest position committed (events of other types up to
 * it are behind the reader: every lower position is committed too).
 */
export async function readFeed(sql: Sql, q: FeedQuery): Promise<{ events: EventMessage[]; next: string }> {
  const after = q.after === undefined ? 0 : parseCursor(q.after);
  const pruned = await prunedThrough(sql);
  if (q.after !== undefined && after < pruned) {
    throw new GoneError(`after: events up to cursor ${pruned} are past their retention and deleted; read again without after (from the oldest kept)`);
  }
  let patterns: string[];
  try {
    patterns = typePatterns(q.types);
  } catch (err) {
    throw new RangeError(`types: ${(err as Error).message}`);
  }
  // One snapshot for both reads: events committed in between must not move `next` past what this page missed.
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const rows = await tx<EventMessage[]>`
      select ${EVENT_MESSAGE(tx)} from events e
      where e.feed_position > ${after} ${patterns.length > 0 ? tx`and e.type like any(${tx.array(patterns)}::text[])` : tx``}
      order by e.feed_position limit ${q.limit}`;
    let next = rows.length > 0 ? rows[rows.length - 1]!.cursor : String(after);
    if (rows.length < q.limit) {
      const [top] = await tx<{ max: string | null }[]>`select max(feed_position)::text as max from events`;
      if (top?.max && BigInt(top.max) > BigInt(next)) next = top.max;
    }
    return { events: [...rows], next };
  }) as Promise<{ events: EventMessage[]; next: string }>;
}

/** A feed cursor: the decimal feed position. Throws a RangeError naming it otherwise. */
export function parseCursor(cursor: string): number {
  if (!/^\d{1,15}$/.test(cursor)) throw new RangeError(`after: not a feed cursor: ${JSON.stringify(cursor)}`);
  return Number(cursor);
}

// ---------------------------------------------------------------- retention

/** `capture_settings` key: the highest feed position deleted by {@link pruneEvents}. */
const PRUNED_THROUGH = 'events_pruned_through';

/** The highest feed position pruned so far (0: none). A feed cursor below it may have missed events. */
export async function prunedThrough(sql: Sql | Tx): Promise<number> {
  const [row] = await sql<{ value: string }[]>`select value from capture_settings where key = ${PRUNED_THROUGH}`;
  return row ? Number(row.value) : 0;
}

/**
 * Delete the events older than the retention, oldest first in feed order, a page at a time, never
 * one a webhook delivery still owes (pending: kept until it is delivered or dead-lettered). Their
 * delivery history goes with them. Stops at the first event young enough to keep. Records the
 * highest feed position deleted, so a feed reader whose cursor is older learns it (410) rather
 * than skipping events silently. Returns how many were deleted.
 */
export async function pruneEvents(sql: Sql, retentionMs: number, page = 5000): Promise<number> {
  let deleted = 0;
  let after = 0;
  for (;;) {
    const step = (await sql.begin(async (tx) => {
      const rows = await tx<{ id: string; pos: string; old: boolean }[]>`
        select id, feed_position::text as pos, occurred_at < now() - ${retentionMs} * interval '1 millisecond' as old
        from events where feed_position > ${after} order by feed_position limit ${page}`;
      const young = rows.findIndex((r) => !r.old);
      const old = young === -1 ? rows : rows.slice(0, young);
      if (old.length === 0) return { n: 0, last: after, more: false };
      const gone = await tx<{ pos: string }[]>`
        delete from events e where e.id = any(${tx.array(old.map((r) => r.id))}::uuid[])
          and not exists (select 1 from webhook_deliveries d where d.event_id = e.id and d.status = 'pending')
        returning e.feed_position::text as pos`;
      if (gone.length > 0) {
        const top = gone.reduce((m, r) => Math.max(m, Number(r.pos)), 0);
        await tx`
          insert into capture_settings (key, value) values (${PRUNED_THROUGH}, ${String(top)})
          on conflict (key) do update set value = greatest(capture_settings.value::bigint, excluded.value::bigint)::text`;
      }
      return { n: gone.length, last: Number(old[old.length - 1]!.pos), more: young === -1 && rows.length === page };
    })) as { n: number; last: number; more: boolean };
    deleted += step.n;
    if (!step.more) return deleted;
    after = step.last;
  }
}
