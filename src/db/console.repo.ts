import type { Label, Platform } from '../types.js';
import type { Sql } from './client.js';
import { ISO } from './read-models/common.js';

/**
 * What the web console shows that the CRM read models (crm.repo.ts) do not give: the author and text of the post
 * that opened a lead or case, a contact's other posts, contact search, merge history, source health, and the
 * decisions over time. Reads only.
 */

/** The first post of a lead or case, with its author. */
export interface OpeningPost {
  ownerId: number;
  postId: number;
  platform: Platform;
  externalId: string;
  sourceId: string;
  text: string;
  decision: { rules?: { id: string; terms?: { term: string; start: number; end: number }[] }[] } | null;
  authorId: string | null;
  handle: string | null;
  name: string | null;
}

/** The post that opened each of these leads (or cases), by lead (case) id. */
export async function openingPosts(sql: Sql, of: 'lead' | 'case', ids: readonly number[]): Promise<Map<number, OpeningPost>> {
  if (ids.length === 0) return new Map();
  const column = sql(of === 'lead' ? 'lead_id' : 'case_id');
  const rows = await sql<OpeningPost[]>`
    select distinct on (p.${column}) p.${column} as "ownerId", p.id as "postId", p.platform, p.external_id as "externalId",
           p.source_id as "sourceId", p.text, p.decision, i.external_user_id as "authorId", i.handle, i.name
    from social_posts p left join identities i on i.id = p.identity_id
    where p.${column} = any(${sql.array([...ids])}::bigint[])
    order by p.${column}, p.id`;
  return new Map(rows.map((r) => [r.ownerId, r]));
}

/** A contact's most recent posts, whatever became of them. */
export async function postsOfContact(sql: Sql, contactId: number, limit: number) {
  return sql<
    {
      id: number;
      platform: Platform;
      externalId: string;
      text: string;
      label: Label | null;
      leadId: number | null;
      caseId: number | null;
      receivedAt: string;
    }[]
  >`
    select p.id, p.platform, p.external_id as "externalId", p.text, p.label, p.lead_id as "leadId", p.case_id as "caseId",
           to_char(p.received_at at time zone 'UTC', ${ISO}) as "receivedAt"
    from social_posts p where p.contact_id = ${contactId} order by p.id desc limit ${limit}`;
}

/** Ids of live contacts whose name, or one of whose identities' handle or platform user id, contains `q`. */
export async function searchContactIds(sql: Sql, q: string, limit: number): Promise<number[]> {
  const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await sql<{ id: number }[]>`
    select k.id from contacts k
    where k.erased_at is null and k.merged_into_id is null
      and (k.name ilike ${like} or exists (
        select 1 from identities i where i.contact_id = k.id and (i.handle ilike ${like} or i.external_user_id = ${q} or i.name ilike ${like})))
    order by k.id desc limit ${limit}`;
  return rows.map((r) => r.id);
}

/** Merges, newest first. */
export async function mergeHistory(sql: Sql, limit: number) {
  return sql<
    { id: number; survivorId: number; mergedId: number; survivorName: string | null; mergedName: string | null; createdAt: string; undoneAt: string | null }[]
  >`
    select m.id, m.survivor_id as "survivorId", m.merged_id as "mergedId", s.name as "survivorName", g.name as "mergedName",
           to_char(m.created_at at time zone 'UTC', ${ISO}) as "createdAt", to_char(m.undone_at at time zone 'UTC', ${ISO}) as "undoneAt"
    from contact_merges m join contacts s on s.id = m.survivor_id join contacts g on g.id = m.merged_id
    order by m.id desc limit ${limit}`;
}

/** Each source's cursor row: health, last success and error, blocked-until, next poll, posts fetched. */
export async function sourceHealth(sql: Sql) {
  return sql<
    {
      sourceId: string;
      healthy: boolean;
      lastSuccessAt: string | null;
      lastErrorAt: string | null;
      lastError: string | null;
      blockedUntil: string | null;
      nextPollAt: string | null;
      postsFetched: number;
      consecutiveFailures: number;
    }[]
  >`
    select c.source_id as "sourceId", c.healthy, to_char(c.last_success_at at time zone 'UTC', ${ISO}) as "lastSuccessAt",
           to_char(c.last_error_at at time zone 'UTC', ${ISO}) as "lastErrorAt", c.last_error as "lastError",
           to_char(c.blocked_until at time zone 'UTC', ${ISO}) as "blockedUntil", to_char(c.next_poll_at at time zone 'UTC', ${ISO}) as "nextPollAt",
           c.posts_fetched as "postsFetched", c.consecutive_failures as "consecutiveFailures"
    from source_cursors c order by c.source_id`;
}

/** Let a blocked source poll at once (its next scheduled poll, or a retry, is no longer skipped). */
export async function unblockSource(sql: Sql, sourceId: string): Promise<boolean> {
  const rows = await sql`update source_cursors set blocked_until = null where source_id = ${sourceId} returning source_id`;
  return rows.length > 0;
}

/** Decided posts per hour, platform and label over the last `days` days. */
export async function decisionsPerHour(sql: Sql, days: number) {
  return sql<{ hour: string; platform: Platform; label: Label; n: number }[]>`
    select to_char(date_trunc('hour', processed_at) at time zone 'UTC', ${ISO}) as hour, platform, label, count(*)::int as n
    from social_posts
    where status = 'processed' and label is not null and processed_at > date_trunc('hour', now()) - ${days} * interval '1 day'
    group by 1, 2, 3 order by 1`;
}

/** A decision as the activity stream sends it. */
export interface DecisionEvent {
  id: number;
  platform: Platform;
  label: Label;
  score: number | null;
  rulesetVersion: string | null;
  leadId: number | null;
  caseId: number | null;
  text: string;
  processedAt: string;
}

/** Where an activity stream has got to: the last decision sent (processed_at, id). */
export interface DecisionCursor {
  processedAt: string;
  id: number;
}

/**
 * Posts decided after the cursor, in (processed_at, id) order: a batch's posts share one processed_at. Only posts
 * with an id above `floorId` are read, which keeps the read to the recent end of the primary key (processed_at has
 * no index).
 */
export async function decisionsSince(sql: Sql, after: DecisionCursor, floorId: number, limit = 100): Promise<DecisionEvent[]> {
  return sql<DecisionEvent[]>`
    select id, platform, label, score, ruleset_version as "rulesetVersion", lead_id as "leadId", case_id as "caseId",
           left(text, 280) as text, to_char(processed_at at time zone 'UTC', ${ISO}) as "processedAt"
    from social_posts
    where id > ${floorId} and status = 'processed' and label is not null
      and (processed_at, id) > (${after.processedAt}::timestamptz, ${after.id})
    order by processed_at, id limit ${limit}`;
}

/** The highest post id now (0 for none): the floor of an activity stream. */
export async function maxPostId(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select coalesce(max(id), 0)::bigint as n from social_posts`;
  return row!.n;
}
