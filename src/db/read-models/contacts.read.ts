import type { Sql, Tx } from '../client.js';
import { ISO, none, type PlatformValue } from './common.js';

/** One identity of a contact: who they are on one platform. */
export interface ContactIdentity {
  id: number;
  platform: PlatformValue;
  userId: string;
  handle: string | null;
}

/** A contact as every listing shows it. Erased contacts are never listed; merged ones only on request. */
export interface ContactRow {
  id: number;
  name: string | null;
  email: string | null;
  accountId: number | null;
  mergedIntoId: number | null;
  identities: ContactIdentity[];
  openLeads: number;
  openCases: number;
  createdAt: string;
}

export interface ContactFilter {
  /** List contacts merged into another too. @defaultValue false */
  includeMerged?: boolean | undefined;
  limit: number;
}

/**
 * The select list of {@link ContactRow} over `contacts k`. Every correlation names its alias: an
 * unqualified `id` would bind to the subquery's own table (issue 17, item 1).
 */
export const contactColumns = (sql: Sql | Tx) => sql`
  k.id, k.name, k.email, k.account_id as "accountId", k.merged_into_id as "mergedIntoId",
  coalesce((select json_agg(json_build_object('id', i.id, 'platform', i.platform, 'userId', i.external_user_id, 'handle', i.handle) order by i.id)
            from identities i where i.contact_id = k.id), '[]'::json) as identities,
  (select count(*)::int from leads l where l.contact_id = k.id and l.status = 'open') as "openLeads",
  (select count(*)::int from cases c where c.contact_id = k.id and c.status in ('new', 'in_progress')) as "openCases",
  to_char(k.created_at at time zone 'UTC', ${ISO}) as "createdAt"`;

/** Live contacts, newest first. */
export async function listContacts(sql: Sql, f: ContactFilter): Promise<ContactRow[]> {
  return sql<ContactRow[]>`
    select ${contactColumns(sql)} from contacts k
    where k.erased_at is null ${f.includeMerged ? none(sql) : sql`and k.merged_into_id is null`}
    order by k.id desc limit ${f.limit}`;
}
