import type { Sql, Tx } from '../client.js';
import { ISO, none, type CaseStatusValue, type PlatformValue, type PriorityValue } from './common.js';

/** A case as every listing shows it (CLI `capture cases --json`, `GET /api/cases`, the case transitions). */
export interface CaseRow {
  id: number;
  status: CaseStatusValue;
  origin: PlatformValue;
  priority: PriorityValue;
  priorityReason: string | null;
  contactId: number;
  /** The contact's name; null when unknown or erased. */
  contact: string | null;
  title: string;
  resolveBy: string;
  resolvedAt: string | null;
  reopenCount: number;
  conversationId: string | null;
  rulesetVersion: string;
  rules: unknown;
  posts: number;
  author: string | null;
  text: string | null;
  createdAt: string;
  updatedAt: string;
  lastActivityAt: string;
}

export interface CaseFilter {
  status?: CaseStatusValue | undefined;
  /** Any of these statuses (with `status`, both must hold). */
  statuses?: readonly CaseStatusValue[] | undefined;
  /** `newest` (the default): newest first; `queue`: the support queue's order, most urgent first, then the earliest resolve-by. */
  order?: 'newest' | 'queue' | undefined;
  origin?: PlatformValue | undefined;
  priority?: PriorityValue | undefined;
  contactId?: number | undefined;
  limit: number;
}

/** The select list of {@link CaseRow} over `cases c`. */
export const caseColumns = (sql: Sql | Tx) => sql`
  c.id, c.status, c.origin, c.priority, c.priority_reason as "priorityReason", c.contact_id as "contactId",
  (select k.name from contacts k where k.id = c.contact_id) as contact, c.title,
  to_char(c.resolve_by at time zone 'UTC', ${ISO}) as "resolveBy", to_char(c.resolved_at at time zone 'UTC', ${ISO}) as "resolvedAt",
  c.reopen_count as "reopenCount",
  c.conversation_id as "conversationId", c.ruleset_version as "rulesetVersion", c.rules,
  (select count(*)::int from social_posts p where p.case_id = c.id) as posts,
  (select coalesce('@' || i.handle, i.name) from social_posts p join identities i on i.id = p.identity_id
   where p.case_id = c.id order by p.id limit 1) as author,
  (select p.text from social_posts p where p.case_id = c.id order by p.id limit 1) as text,
  to_char(c.created_at at time zone 'UTC', ${ISO}) as "createdAt", to_char(c.updated_at at time zone 'UTC', ${ISO}) as "updatedAt",
  to_char(c.last_activity_at at time zone 'UTC', ${ISO}) as "lastActivityAt"`;

/** Cases, newest first. */
export async function listCases(sql: Sql, f: CaseFilter): Promise<CaseRow[]> {
  return sql<CaseRow[]>`
    select ${caseColumns(sql)} from cases c
    where true ${f.status ? sql`and c.status = ${f.status}` : none(sql)} ${f.origin ? sql`and c.origin = ${f.origin}` : none(sql)}
      ${f.priority ? sql`and c.priority = ${f.priority}` : none(sql)} ${f.contactId !== undefined ? sql`and c.contact_id = ${f.contactId}` : none(sql)}
      ${f.statuses ? sql`and c.status = any(${sql.array([...f.statuses])}::case_status[])` : none(sql)}
    order by ${f.order === 'queue' ? sql`c.priority desc, c.resolve_by, c.id` : sql`c.id desc`} limit ${f.limit}`;
}
