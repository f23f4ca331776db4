import type { Sql } from '../client.js';
import { ISO, none, type LabelValue, type PlatformValue, type PostStatusValue, type PriorityValue } from './common.js';

/** A post with its decision trace, as every listing shows it. */
export interface PostRow {
  id: number;
  platform: PlatformValue;
  externalId: string;
  sourceId: string;
  status: PostStatusValue;
  error: string | null;
  attempts: number;
  label: LabelValue | null;
  score: number | null;
  priority: PriorityValue | null;
  /** Handle (`@x`) or name of the author; their platform id when neither is known. */
  author: string | null;
  text: string;
  /** The classifier's explanation: rules, matched terms, per-label scores. */
  decision: unknown;
  rulesetVersion: string | null;
  contactId: number | null;
  leadId: number | null;
  caseId: number | null;
  receivedAt: string;
  processedAt: string | null;
}

export interface PostFilter {
  status?: PostStatusValue | undefined;
  label?: LabelValue | undefined;
  platform?: PlatformValue | undefined;
  limit: number;
}

/** Posts, newest first. */
export async function listPosts(sql: Sql, f: PostFilter): Promise<PostRow[]> {
  return sql<PostRow[]>`
    select p.id, p.platform, p.external_id as "externalId", p.source_id as "sourceId", p.status, p.error, p.attempts, p.label,
           p.score, p.priority, coalesce('@' || i.handle, i.name, p.author_external_id) as author, p.text, p.decision,
           p.ruleset_version as "rulesetVersion", p.contact_id as "contactId", p.lead_id as "leadId", p.case_id as "caseId",
           to_char(p.received_at at time zone 'UTC', ${ISO}) as "receivedAt", to_char(p.processed_at at time zone 'UTC', ${ISO}) as "processedAt"
    from social_posts p left join identities i on i.id = p.identity_id
    where true ${f.status ? sql`and p.status = ${f.status}` : none(sql)} ${f.label ? sql`and p.label = ${f.label}` : none(sql)}
      ${f.platform ? sql`and p.platform = ${f.platform}` : none(sql)}
    order by p.id desc limit ${f.limit}`;
}

/** Counts by post status and by outcome: what a run did, at a glance. */
export interface InboxSummary {
  pending: number;
  processed: number;
  failed: number;
  leads: number;
  cases: number;
  contacts: number;
}

/** {@link InboxSummary}; contacts counts live ones (not erased, not merged), as `capture contacts` lists them. */
export async function inboxSummary(sql: Sql): Promise<InboxSummary> {
  const [row] = await sql<InboxSummary[]>`select
      (select count(*)::int from social_posts where status = 'pending') as pending,
      (select count(*)::int from social_posts where status = 'processed') as processed,
      (select count(*)::int from social_posts where status = 'failed') as failed,
      (select count(*)::int from leads) as leads,
      (select count(*)::int from cases) as cases,
      (select count(*)::int from contacts where erased_at is null and merged_into_id is null) as contacts`;
  return row!;
}
