import { NotFoundError } from '../../errors.js';
import type { Sql, Tx } from '../client.js';
import { caseColumns } from './cases.read.js';
import { contactColumns } from './contacts.read.js';
import { leadColumns } from './leads.read.js';
import { ISO, none } from './common.js';
import type { OpportunityStatus } from '../lifecycle.repo.js';

/** One record as the API shows it: a lead or case with its posts, a contact, an opportunity, an account. */

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
    sql`select e.id, e.name, e.account_id as "accountId", e.contact_id as "contactId",
               to_char(e.starts_at at time zone 'UTC', ${ISO}) as "startsAt", to_char(e.ends_at at time zone 'UTC', ${ISO}) as "endsAt"
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
           o.estimated_value::float8 as "estimatedValue", o.close_reason as "closeReason",
           to_char(o.closed_at at time zone 'UTC', ${ISO}) as "closedAt", to_char(o.created_at at time zone 'UTC', ${ISO}) as "createdAt"
    from opportunities o where true ${f.status ? sql`and o.status = ${f.status}` : none(sql)}
    order by o.id desc limit ${f.limit}`;
}

export async function getOpportunity(sql: Sql | Tx, id: number) {
  const [row] = await sql`
    select o.id, o.lead_id as "leadId", o.account_id as "accountId", o.contact_id as "contactId", o.name, o.status,
           o.estimated_value::float8 as "estimatedValue", o.close_reason as "closeReason",
           to_char(o.closed_at at time zone 'UTC', ${ISO}) as "closedAt", to_char(o.created_at at time zone 'UTC', ${ISO}) as "createdAt"
    from opportunities o where o.id = ${id}`;
  if (!row) throw new NotFoundError(`no opportunity ${id}`);
  return row;
}

export async function listAccounts(sql: Sql, f: { limit: number }) {
  return sql`
    select a.id, a.name, a.relationship, to_char(a.created_at at time zone 'UTC', ${ISO}) as "createdAt"
    from accounts a order by a.id desc limit ${f.limit}`;
}

export async function getAccount(sql: Sql | Tx, id: number) {
  const [row] =
    await sql`select a.id, a.name, a.relationship, to_char(a.created_at at time zone 'UTC', ${ISO}) as "createdAt" from accounts a where a.id = ${id}`;
  if (!row) throw new NotFoundError(`no account ${id}`);
  return row;
}
