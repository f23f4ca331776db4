import { ConflictError, NotFoundError } from '../errors.js';
import type { Sql, Tx } from './client.js';
import { caseColumns } from './read-models/cases.read.js';
import { appendEvents, caseStatusChanged } from './outbox.repo.js';
import { accountNamed } from './accounts.repo.js';
import { getOpportunity } from './read-models/records.read.js';

/**
 * The transitions people make on leads, opportunities and cases. Each locks its row, checks the state it starts
 * from and fails with a ConflictError saying why when that state does not allow it.
 */

export type LeadStatus = 'open' | 'qualified' | 'disqualified';
export type CaseStatus = 'new' | 'in_progress' | 'resolved' | 'cancelled';
export type OpportunityStatus = 'open' | 'won' | 'lost';
export const DISQUALIFY_REASONS = ['junk', 'duplicate', 'no_fit', 'lost_interest'] as const;
export type DisqualifyReason = (typeof DISQUALIFY_REASONS)[number];

// ---------------------------------------------------------------- lead transitions

export interface QualifyInput {
  /** B2B: link the account with this id, or the one with this name (created if none). Omitted: the contact's account, else B2C. */
  account?: { id?: number | undefined; name?: string | undefined } | undefined;
  /** Details learned while qualifying; an e-mail another contact already has links that contact instead. */
  contact?: { name?: string | undefined; email?: string | undefined } | undefined;
  opportunity?: { name?: string | undefined; estimatedValue?: number | undefined } | undefined;
}

/**
 * Lock a lead after its contact, the order capture takes them in (it locks the contact, then
 * touches the open lead), so a transition and a capture batch wait for each other, never deadlock.
 */
async function lockLead(tx: Tx, id: number) {
  const [first] = await tx<{ contactId: number }[]>`select contact_id as "contactId" from leads where id = ${id}`;
  if (!first) throw new NotFoundError(`no lead ${id}`);
  await tx`select id from contacts where id = ${first.contactId} for no key update`;
  const [lead] = await tx<{ id: number; status: LeadStatus; contactId: number; subject: string }[]>`
    select id, status, contact_id as "contactId", subject from leads where id = ${id} for update`;
  if (!lead) throw new NotFoundError(`no lead ${id}`);
  if (lead.contactId !== first.contactId) throw new ConflictError(`lead ${id} moved to contact ${lead.contactId} meanwhile (a merge); try again`);
  return lead;
}

/**
 * open → qualified: link or create the account (B2B) and the contact, and create the opportunity, in one
 * transaction. The lead's row lock makes a second qualify wait and then see `qualified` (409); the unique
 * index on opportunities.lead_id stands behind it.
 */
export async function qualifyLead(sql: Sql, id: number, input: QualifyInput) {
  return sql.begin(async (tx) => {
    const lead = await lockLead(tx, id);
    if (lead.status !== 'open') throw new ConflictError(`lead ${id} is ${lead.status}: only an open lead can be qualified`);
    let contactId = lead.contactId;
    const email = input.contact?.email?.trim();
    if (email) {
      const [other] = await tx<{ id: number }[]>`
        select id from contacts where lower(email) = lower(${email}) and erased_at is null and merged_into_id is null`;
      if (other) contactId = other.id;
      else await tx`update contacts set email = ${email}, updated_at = now() where id = ${contactId}`;
    }
    if (input.contact?.name) await tx`update contacts set name = ${input.contact.name}, updated_at = now() where id = ${contactId}`;
    const [contact] = await tx<{ accountId: number | null }[]>`select account_id as "accountId" from contacts where id = ${contactId} for update`;
    let accountId = contact!.accountId;
    if (input.account?.id !== undefined) {
      const [a] = await tx`select id from accounts where id = ${input.account.id}`;
      if (!a) throw new NotFoundError(`no account ${input.account.id}`);
      accountId = input.account.id;
    } else if (input.account?.name) {
      accountId = (await accountNamed(tx, input.account.name)).id;
    }
    if (accountId !== null && contact!.accountId === null) {
      await tx`update contacts set account_id = ${accountId}, updated_at = now() where id = ${contactId}`;
    }
    await tx`update leads set status = 'qualified', contact_id = ${contactId}, account_id = ${accountId}, updated_at = now() where id = ${id}`;
    const [opp] = await tx<{ id: number }[]>`
      insert into opportunities (lead_id, account_id, contact_id, name, estimated_value)
      values (${id}, ${accountId}, ${contactId}, ${input.opportunity?.name ?? lead.subject}, ${input.opportunity?.estimatedValue ?? null})
      returning id`;
    await appendEvents(tx, [{ type: 'lead.qualified', aggregateId: id, change: { opportunityId: opp!.id } }]);
    return { leadId: id, status: 'qualified' as const, contactId, accountId, opportunity: await getOpportunity(tx, opp!.id) };
  });
}

/** open → disqualified, with the reason. */
export async function disqualifyLead(sql: Sql, id: number, reason: DisqualifyReason) {
  return sql.begin(async (tx) => {
    const lead = await lockLead(tx, id);
    if (lead.status !== 'open') throw new ConflictError(`lead ${id} is ${lead.status}: only an open lead can be disqualified`);
    await tx`update leads set status = 'disqualified', disqualify_reason = ${reason}, updated_at = now() where id = ${id}`;
    await appendEvents(tx, [{ type: 'lead.disqualified', aggregateId: id, change: { reason } }]);
    return { leadId: id, status: 'disqualified' as const, disqualifyReason: reason };
  });
}

// ---------------------------------------------------------------- opportunity transitions

async function lockOpportunity(tx: Tx, id: number) {
  const [o] = await tx<{ status: OpportunityStatus; accountId: number | null }[]>`
    select status, account_id as "accountId" from opportunities where id = ${id} for update`;
  if (!o) throw new NotFoundError(`no opportunity ${id}`);
  if (o.status !== 'open') throw new ConflictError(`opportunity ${id} is already ${o.status}: only an open opportunity can be won or lost`);
  return o;
}

/** open → won; the account, if a prospect, becomes a customer. */
export async function winOpportunity(sql: Sql, id: number, input: { actualValue?: number | undefined }) {
  return sql.begin(async (tx) => {
    const o = await lockOpportunity(tx, id);
    await tx`
      update opportunities set status = 'won', closed_at = now(), updated_at = now(),
        estimated_value = coalesce(${input.actualValue ?? null}::numeric, estimated_value)
      where id = ${id}`;
    if (o.accountId !== null) {
      await tx`update accounts set relationship = 'customer', updated_at = now() where id = ${o.accountId} and relationship = 'prospect'`;
    }
    const won = await getOpportunity(tx, id);
    await appendEvents(tx, [{ type: 'opportunity.won', aggregateId: id, data: won }]);
    return won;
  });
}

/** open → lost, with an optional reason. */
export async function loseOpportunity(sql: Sql, id: number, input: { reason?: string | undefined }) {
  return sql.begin(async (tx) => {
    await lockOpportunity(tx, id);
    await tx`update opportunities set status = 'lost', close_reason = ${input.reason ?? null}, closed_at = now(), updated_at = now() where id = ${id}`;
    const lost = await getOpportunity(tx, id);
    await appendEvents(tx, [{ type: 'opportunity.lost', aggregateId: id, data: lost }]);
    return lost;
  });
}

// ---------------------------------------------------------------- case transitions

const CASE_TRANSITIONS = {
  start: { from: ['new'], to: 'in_progress', says: 'only a new case can be started' },
  resolve: { from: ['new', 'in_progress'], to: 'resolved', says: 'only a new or in-progress case can be resolved' },
  cancel: { from: ['new', 'in_progress'], to: 'cancelled', says: 'only a new or in-progress case can be cancelled' },
  reopen: { from: ['resolved', 'cancelled'], to: 'in_progress', says: 'only a resolved or cancelled case can be reopened' },
} as const satisfies Record<string, { from: CaseStatus[]; to: CaseStatus; says: string }>;
export type CaseAction = keyof typeof CASE_TRANSITIONS;

/** new → in_progress (start), new|in_progress → resolved (resolve) or cancelled (cancel), resolved|cancelled → in_progress (reopen). */
export async function transitionCase(sql: Sql, id: number, action: CaseAction) {
  const t = CASE_TRANSITIONS[action];
  return sql.begin(async (tx) => {
    const [c] = await tx<{ status: CaseStatus }[]>`select status from cases where id = ${id} for update`;
    if (!c) throw new NotFoundError(`no case ${id}`);
    if (!(t.from as readonly CaseStatus[]).includes(c.status)) throw new ConflictError(`case ${id} is ${c.status}: ${t.says}`);
    await tx`
      update cases set status = ${t.to}, updated_at = now(),
        resolved_at = ${t.to === 'resolved' ? tx`now()` : action === 'reopen' ? tx`null` : tx`resolved_at`},
        reopen_count = reopen_count + ${action === 'reopen' ? 1 : 0}
      where id = ${id}`;
    await appendEvents(tx, [caseStatusChanged(id, c.status, t.to)]);
    const [row] = await tx`select ${caseColumns(tx)} from cases c where c.id = ${id}`;
    return row!;
  });
}
