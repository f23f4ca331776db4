import type { Sql, Tx } from '../client.js';
import { ISO, none, type LeadStatusValue, type PlatformValue } from './common.js';

/** A lead as every listing shows it (CLI `capture leads --json`, `GET /api/leads`, `GET /api/leads/:id`). */
export interface LeadRow {
  id: number;
  status: LeadStatusValue;
  source: PlatformValue;
  contactId: number;
  /** The contact's name; null when unknown or erased. */
  contact: string | null;
  accountId: number | null;
  subject: string;
  score: number;
  rulesetVersion: string;
  /** The rules that fired on the post that opened the lead. */
  rules: unknown;
  disqualifyReason: string | null;
  opportunityId: number | null;
  /** How many posts are on the lead. */
  posts: number;
  /** Handle (`@x`) or name of the first post's author. */
  author: string | null;
  /** The first post's text. */
  text: string | null;
  createdAt: string;
  updatedAt: string;
  lastActivityAt: string;
}

export interface LeadFilter {
  status?: LeadStatusValue | undefined;
  source?: PlatformValue | undefined;
  contactId?: number | undefined;
  /** Only leads scored at least this. */
  minScore?: number | undefined;
  /** Only leads whose opening decision fired this rule. */
  rule?: string | undefined;
  /** Only leads whose first post came from this configured source. */
  sourceId?: string | undefined;
  limit: number;
}

/** The select list of {@link LeadRow} over `leads l`. */
export const leadColumns = (sql: Sql | Tx) => sql`
  l.id, l.status, l.source, l.contact_id as "contactId", (select k.name from contacts k where k.id = l.contact_id) as contact,
  l.account_id as "accountId", l.subject, l.score, l.ruleset_version as "rulesetVersion", l.rules, l.disqualify_reason as "disqualifyReason",
  (select o.id from opportunities o where o.lead_id = l.id) as "opportunityId",
  (select count(*)::int from social_posts p where p.lead_id = l.id) as posts,
  (select coalesce('@' || i.handle, i.name) from social_posts p join identities i on i.id = p.identity_id
   where p.lead_id = l.id order by p.id limit 1) as author,
  (select p.text from social_posts p where p.lead_id = l.id order by p.id limit 1) as text,
  to_char(l.created_at at time zone 'UTC', ${ISO}) as "createdAt", to_char(l.updated_at at time zone 'UTC', ${ISO}) as "updatedAt",
  to_char(l.last_activity_at at time zone 'UTC', ${ISO}) as "lastActivityAt"`;

/** Leads, newest first. */
export async function listLeads(sql: Sql, f: LeadFilter): Promise<LeadRow[]> {
  return sql<LeadRow[]>`
    select ${leadColumns(sql)} from leads l
    where true ${f.status ? sql`and l.status = ${f.status}` : none(sql)} ${f.source ? sql`and l.source = ${f.source}` : none(sql)}
      ${f.contactId !== undefined ? sql`and l.contact_id = ${f.contactId}` : none(sql)}
      ${f.minScore !== undefined ? sql`and l.score >= ${f.minScore}` : none(sql)}
      ${f.rule !== undefined ? sql`and l.rules @> ${JSON.stringify([{ id: f.rule }])}::jsonb` : none(sql)}
      ${f.sourceId !== undefined ? sql`and (select p.source_id from social_posts p where p.lead_id = l.id order by p.id limit 1) = ${f.sourceId}` : none(sql)}
    order by l.id desc limit ${f.limit}`;
}
