import { ConflictError, NotFoundError } from '../errors.js';
import type { Sql, Tx } from './client.js';
import { ISO } from './read-models/common.js';
import { getAccount, getContact } from './read-models/records.read.js';

/** Accounts (companies), their relationship, entitlements, and which account a contact is under. */

export type Relationship = 'prospect' | 'customer' | 'vendor' | 'partner';

/** An account by name, created if none has that name (case-insensitive): never two of one company. */
export async function accountNamed(tx: Tx, name: string, relationship?: Relationship): Promise<{ id: number; created: boolean }> {
  const [ins] = await tx<{ id: number }[]>`
    insert into accounts (name, relationship) values (${name}, ${relationship ?? 'prospect'})
    on conflict ((lower(name))) do nothing returning id`;
  if (ins) return { id: ins.id, created: true };
  const [row] = await tx<{ id: number }[]>`select id from accounts where lower(name) = lower(${name})`;
  return { id: row!.id, created: false };
}

export async function createAccount(sql: Sql, input: { name: string; relationship?: Relationship | undefined }) {
  return sql.begin(async (tx) => {
    const { id, created } = await accountNamed(tx, input.name, input.relationship);
    if (!created) throw new ConflictError(`an account named ${JSON.stringify(input.name)} already exists (id ${id})`);
    return getAccount(tx, id);
  });
}

export async function setAccountRelationship(sql: Sql, id: number, relationship: Relationship) {
  const rows = await sql`update accounts set relationship = ${relationship}, updated_at = now() where id = ${id} returning id`;
  if (rows.length === 0) throw new NotFoundError(`no account ${id}`);
  return getAccount(sql, id);
}

export async function addEntitlement(
  sql: Sql,
  input: { accountId?: number | undefined; contactId?: number | undefined; name: string; startsAt?: string | undefined; endsAt?: string | undefined },
) {
  try {
    const [row] = await sql`
      insert into entitlements (account_id, contact_id, name, starts_at, ends_at)
      values (${input.accountId ?? null}, ${input.contactId ?? null}, ${input.name},
              coalesce(${input.startsAt ?? null}::timestamptz, now()), ${input.endsAt ?? null})
      returning id, account_id as "accountId", contact_id as "contactId", name,
                to_char(starts_at at time zone 'UTC', ${ISO}) as "startsAt", to_char(ends_at at time zone 'UTC', ${ISO}) as "endsAt"`;
    return row!;
  } catch (err) {
    if ((err as { code?: string }).code === '23503')
      throw new NotFoundError(`no ${input.accountId !== undefined ? `account ${input.accountId}` : `contact ${input.contactId}`}`);
    throw err;
  }
}

/** Put a contact under an account (or take it out with null). */
export async function setContactAccount(sql: Sql, contactId: number, accountId: number | null) {
  try {
    const rows = await sql`update contacts set account_id = ${accountId}, updated_at = now() where id = ${contactId} and erased_at is null returning id`;
    if (rows.length === 0) throw new NotFoundError(`no contact ${contactId}`);
  } catch (err) {
    if ((err as { code?: string }).code === '23503') throw new NotFoundError(`no account ${accountId}`);
    throw err;
  }
  return getContact(sql, contactId);
}
