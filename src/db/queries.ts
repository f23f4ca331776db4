import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { cases, contacts, identities, leads, socialPosts, sourceCursors } from './schema.js';

/** The post that opened a lead or case: its text and author handle, for listings. */
const firstPost = (column: 'lead_id' | 'case_id', id: typeof leads.id | typeof cases.id) => ({
  text: sql<string>`(select p.text from social_posts p where p.${sql.raw(column)} = ${id} order by p.id limit 1)`,
  author: sql<string>`(select coalesce('@' || i.handle, i.name) from social_posts p join identities i on i.id = p.identity_id
                       where p.${sql.raw(column)} = ${id} order by p.id limit 1)`,
  posts: sql<number>`(select count(*)::int from social_posts p where p.${sql.raw(column)} = ${id})`,
});

export async function listLeads(db: Db, limit: number) {
  const fp = firstPost('lead_id', leads.id);
  return db
    .select({
      id: leads.id,
      status: leads.status,
      source: leads.source,
      contactId: leads.contactId,
      contact: contacts.name,
      author: fp.author,
      score: leads.score,
      posts: fp.posts,
      text: fp.text,
      rules: leads.rules,
      rulesetVersion: leads.rulesetVersion,
      createdAt: leads.createdAt,
    })
    .from(leads)
    .leftJoin(contacts, eq(contacts.id, leads.contactId))
    .orderBy(desc(leads.id))
    .limit(limit);
}

export async function listCases(db: Db, limit: number) {
  const fp = firstPost('case_id', cases.id);
  return db
    .select({
      id: cases.id,
      status: cases.status,
      priority: cases.priority,
      priorityReason: cases.priorityReason,
      origin: cases.origin,
      contactId: cases.contactId,
      contact: contacts.name,
      author: fp.author,
      posts: fp.posts,
      text: fp.text,
      rules: cases.rules,
      rulesetVersion: cases.rulesetVersion,
      resolveBy: cases.resolveBy,
      createdAt: cases.createdAt,
    })
    .from(cases)
    .leftJoin(contacts, eq(contacts.id, cases.contactId))
    .orderBy(desc(cases.id))
    .limit(limit);
}

export async function listContacts(db: Db, limit: number) {
  return db
    .select({
      id: contacts.id,
      name: contacts.name,
      email: contacts.email,
      accountId: contacts.accountId,
      identities: sql<{ platform: string; userId: string; handle: string | null }[]>`coalesce((
        select json_agg(json_build_object('platform', i.platform, 'userId', i.external_user_id, 'handle', i.handle) order by i.id)
        from ${identities} i where i.contact_id = ${contacts.id}), '[]'::json)`,
      openLeads: sql<number>`(select count(*)::int from leads l where l.contact_id = ${contacts.id} and l.status = 'open')`,
      openCases: sql<number>`(select count(*)::int from cases c where c.contact_id = ${contacts.id} and c.status in ('new', 'in_progress'))`,
      createdAt: contacts.createdAt,
    })
    .from(contacts)
    .orderBy(desc(contacts.id))
    .limit(limit);
}

export type PostStatus = 'pending' | 'processed' | 'failed';

export async function listPosts(db: Db, limit: number, status?: PostStatus) {
  return db
    .select({
      id: socialPosts.id,
      platform: socialPosts.platform,
      externalId: socialPosts.externalId,
      sourceId: socialPosts.sourceId,
      status: socialPosts.status,
      error: socialPosts.error,
      attempts: socialPosts.attempts,
      label: socialPosts.label,
      score: socialPosts.score,
      priority: socialPosts.priority,
      author: sql<string | null>`coalesce('@' || ${identities.handle}, ${identities.name}, ${socialPosts.authorExternalId})`,
      text: socialPosts.text,
      decision: socialPosts.decision,
      rulesetVersion: socialPosts.rulesetVersion,
      contactId: socialPosts.contactId,
      leadId: socialPosts.leadId,
      caseId: socialPosts.caseId,
      receivedAt: socialPosts.receivedAt,
    })
    .from(socialPosts)
    .leftJoin(identities, eq(identities.id, socialPosts.identityId))
    .where(status ? and(eq(socialPosts.status, status)) : undefined)
    .orderBy(desc(socialPosts.id))
    .limit(limit);
}

export async function listSources(db: Db) {
  return db.select().from(sourceCursors).orderBy(sourceCursors.sourceId);
}

/** Counts by post status and by outcome: what a run did, at a glance. */
export async function inboxSummary(db: Db) {
  const [row] = await db.execute<{
    pending: number;
    processed: number;
    failed: number;
    leads: number;
    cases: number;
    contacts: number;
  }>(sql`select
      (select count(*)::int from social_posts where status = 'pending') as pending,
      (select count(*)::int from social_posts where status = 'processed') as processed,
      (select count(*)::int from social_posts where status = 'failed') as failed,
      (select count(*)::int from leads) as leads,
      (select count(*)::int from cases) as cases,
      (select count(*)::int from contacts) as contacts`);
  return row!;
}
