import type { Sql } from './client.js';
import type { PostRef } from './post-key.js';

/** One violated invariant: what, how many rows, and a few of them. */
export interface Problem {
  check: string;
  count: number;
  sample: unknown[];
}

/** Posts per status, and the CRM records: what `capture verify` reports beside the problems. */
export interface VerifyCounts {
  posts: { pending: number; processed: number; failed: number };
  leads: number;
  cases: number;
  contacts: { live: number; merged: number; erased: number };
}

/** Each invariant of DESIGN.md as a query that returns the rows breaking it. */
const CHECKS: readonly [string, (sql: Sql) => ReturnType<Sql>][] = [
  ['a post stored twice', (sql) => sql`select platform, external_id from social_posts group by 1, 2 having count(*) > 1 limit 5`],
  [
    'a processed lead post without its lead',
    (sql) => sql`
    select p.id from social_posts p left join leads l on l.id = p.lead_id
    where p.status = 'processed' and p.label = 'lead' and l.id is null limit 5`,
  ],
  [
    'a processed case post without its case',
    (sql) => sql`
    select p.id from social_posts p left join cases c on c.id = p.case_id
    where p.status = 'processed' and p.label = 'case' and c.id is null limit 5`,
  ],
  [
    'a processed lead or case post without its contact',
    (sql) => sql`
    select p.id from social_posts p left join contacts k on k.id = p.contact_id
    where p.status = 'processed' and p.label in ('lead', 'case') and (p.lead_id is not null or p.case_id is not null)
      and p.identity_id is not null and k.id is null limit 5`,
  ],
  [
    'a decided post without its decision',
    (sql) => sql`
    select id from social_posts where status = 'processed' and (decision is null or ruleset_version is null) limit 5`,
  ],
  ['a failed post without its reason', (sql) => sql`select id from social_posts where status = 'failed' and error is null limit 5`],
  [
    'a lead no post made',
    (sql) => sql`select l.id from leads l where not exists (select 1 from social_posts p where p.lead_id = l.id) and l.subject <> '(erased)' limit 5`,
  ],
  [
    'a case no post made',
    (sql) => sql`select c.id from cases c where not exists (select 1 from social_posts p where p.case_id = c.id) and c.title <> '(erased)' limit 5`,
  ],
  [
    'an author with two live contacts',
    (sql) => sql`
    select p.identity_id as "identityId", array_agg(distinct p.contact_id) as contacts from social_posts p
    join contacts k on k.id = p.contact_id and k.erased_at is null and k.merged_into_id is null
    where p.identity_id is not null group by 1 having count(distinct p.contact_id) > 1 limit 5`,
  ],
  [
    'an identity on a merged or erased contact',
    (sql) => sql`
    select i.id, i.contact_id as "contactId" from identities i join contacts k on k.id = i.contact_id
    where k.merged_into_id is not null or k.erased_at is not null limit 5`,
  ],
  [
    'a contact merged into a contact that is not live',
    (sql) => sql`
    select k.id, k.merged_into_id as "mergedIntoId" from contacts k join contacts s on s.id = k.merged_into_id
    where s.merged_into_id is not null or s.erased_at is not null limit 5`,
  ],
  ['two open leads for one contact', (sql) => sql`select contact_id as "contactId" from leads where status = 'open' group by 1 having count(*) > 1 limit 5`],
  [
    'two open cases for one contact on one channel',
    (sql) => sql`
    select contact_id as "contactId", origin from cases where status in ('new', 'in_progress') group by 1, 2 having count(*) > 1 limit 5`,
  ],
];

/** The invariants of the database that are broken, each with a count and a sample; none: []. */
export async function databaseProblems(sql: Sql): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const [check, query] of CHECKS) {
    const rows = await query(sql);
    if (rows.length > 0) problems.push({ check, count: rows.length, sample: [...rows] });
  }
  return problems;
}

export async function verifyCounts(sql: Sql): Promise<VerifyCounts> {
  const [r] = await sql<{ pending: number; processed: number; failed: number; leads: number; cases: number; live: number; merged: number; erased: number }[]>`
    select (select count(*) from social_posts where status = 'pending')::int as pending,
           (select count(*) from social_posts where status = 'processed')::int as processed,
           (select count(*) from social_posts where status = 'failed')::int as failed,
           (select count(*) from leads)::int as leads, (select count(*) from cases)::int as cases,
           (select count(*) from contacts where erased_at is null and merged_into_id is null)::int as live,
           (select count(*) from contacts where erased_at is null and merged_into_id is not null)::int as merged,
           (select count(*) from contacts where erased_at is not null)::int as erased`;
  return {
    posts: { pending: r!.pending, processed: r!.processed, failed: r!.failed },
    leads: r!.leads,
    cases: r!.cases,
    contacts: { live: r!.live, merged: r!.merged, erased: r!.erased },
  };
}

/** Pending posts older than `graceMs`: each must have a live job in the queue. */
export async function pendingPastGrace(sql: Sql, graceMs: number, limit: number): Promise<PostRef[]> {
  return sql<PostRef[]>`
    select platform, external_id as "externalId" from social_posts
    where status = 'pending' and received_at < now() - ${graceMs} * interval '1 millisecond' order by received_at limit ${limit}`;
}
