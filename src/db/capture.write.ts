import type { CaptureIdentity, CaptureOptions, CapturePost, ContactPlan, NewCase, NewLead, PlannedPost, RecordRef, WorkPlan } from '../capture/planner.js';
import type { Decision } from '../classifier/index.js';
import type { Tx } from './client.js';

// Capture's writes: what the plan says, on rows the batch has locked (src/db/capture.repo.ts).

const TITLE_MAX = 140;

function titleOf(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= TITLE_MAX ? oneLine || '(no text)' : `${oneLine.slice(0, TITLE_MAX - 1)}…`;
}

/** Ids for rows this transaction inserts, from the tables' own identity sequences, in one round trip. */
async function reserveIds<T extends string>(tx: Tx, counts: Record<T, number>): Promise<Record<T, number[]>> {
  const tables = Object.keys(counts) as T[];
  const out = Object.fromEntries(tables.map((t) => [t, [] as number[]])) as Record<T, number[]>;
  const wanted = tables.filter((t) => counts[t] > 0);
  if (wanted.length === 0) return out;
  const rows = await tx<{ t: T; id: number }[]>`
    select w.t, nextval(pg_get_serial_sequence(w.t, 'id')) as id
    from unnest(${tx.array(wanted)}::text[], ${tx.array(wanted.map((t) => counts[t]))}::int[]) as w(t, n), generate_series(1, w.n)`;
  for (const r of rows) out[r.t].push(r.id);
  return out;
}

/** A plan's reference as an id: a stored row's, or the id reserved for the row it creates. */
function idOf(ref: RecordRef | null, created: readonly number[]): number | null {
  return ref === null ? null : ref.kind === 'existing' ? ref.id : created[ref.index]!;
}

/** Write the contact plan: new contacts, then identities linked; updates `identities` in place. Returns the new contacts' ids. */
export async function writeContacts(tx: Tx, plan: ContactPlan, identities: ReadonlyMap<number, CaptureIdentity>): Promise<number[]> {
  const { contacts: ids } = await reserveIds(tx, { contacts: plan.create.length });
  const links = plan.links.map((l) => ({ identityId: l.identityId, contactId: idOf(l.contact, ids)! }));
  // Pipelined: the new contacts, then the identities that point at them.
  await Promise.all([
    ids.length > 0
      ? tx`
          insert into contacts (id, name, email) overriding system value
          select * from unnest(${tx.array(ids)}::bigint[], ${tx.array(plan.create.map((c) => c.name) as string[])}::text[],
                               ${tx.array(plan.create.map((c) => c.email) as string[])}::text[])`
      : null,
    tx`
      update identities i set contact_id = u.contact_id
      from unnest(${tx.array(links.map((l) => l.identityId))}::bigint[], ${tx.array(links.map((l) => l.contactId))}::bigint[]) as u(id, contact_id)
      where i.id = u.id`,
  ]);
  for (const l of links) identities.get(l.identityId)!.contactId = l.contactId;
  return ids;
}

/** What a batch wrote for its work plan: the ids of the leads and cases it created, in plan order, and each post's ids. */
export interface WrittenWork {
  leadIds: number[];
  caseIds: number[];
  /** Per post of the plan, in its order: the lead and case it went to. */
  posts: { leadId: number | null; caseId: number | null }[];
}

/**
 * Write the work plan in two round trips: reserve the new rows' ids, then every write, pipelined. `alsoWrite`
 * (the outbox's events of the batch) goes last in the same pipeline, so it reads the rows written before it.
 */
export async function writeWork<P extends CapturePost>(
  tx: Tx,
  plan: WorkPlan<P>,
  opts: CaptureOptions,
  alsoWrite?: (posts: WrittenWork['posts']) => Promise<unknown>,
): Promise<WrittenWork> {
  const { leads: leadIds, cases: caseIds } = await reserveIds(tx, { leads: plan.newLeads.length, cases: plan.newCases.length });
  const posts = plan.posts.map((p) => ({ leadId: idOf(p.lead, leadIds), caseId: idOf(p.case, caseIds) }));
  await Promise.all([
    insertLeads(tx, plan.newLeads, leadIds),
    insertCases(tx, plan.newCases, caseIds, opts),
    touchLeads(tx, plan.leadTouches),
    touchCases(tx, plan.caseTouches),
    reopenCases(tx, plan.reopened, opts),
    markProcessed(tx, plan.posts, posts),
    alsoWrite?.(posts),
  ]);
  return { leadIds, caseIds, posts };
}

async function insertLeads(tx: Tx, leads: readonly NewLead[], ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await tx`
    insert into leads (id, contact_id, account_id, source, subject, score, ruleset_version, rules) overriding system value
    select u.id, u.contact_id, c.account_id, u.source, u.subject, u.score, u.ruleset_version, u.rules
    from unnest(${tx.array(ids)}::bigint[], ${tx.array(leads.map((l) => l.contactId))}::bigint[],
                ${tx.array(leads.map((l) => l.post.platform))}::platform[], ${tx.array(leads.map((l) => titleOf(l.post.text)))}::text[],
                ${tx.array(leads.map((l) => l.decision.score))}::real[], ${tx.array(leads.map((l) => l.decision.rulesetVersion))}::text[],
                ${tx.array(leads.map((l) => JSON.stringify(l.decision.rules)))}::jsonb[])
         as u(id, contact_id, source, subject, score, ruleset_version, rules)
    join contacts c on c.id = u.contact_id`;
}

async function insertCases(tx: Tx, cases: readonly NewCase[], ids: number[], opts: CaptureOptions): Promise<void> {
  if (ids.length === 0) return;
  await tx`
    insert into cases (id, contact_id, title, origin, priority, priority_reason, resolve_by, conversation_id, ruleset_version, rules)
    overriding system value
    select u.id, u.contact_id, u.title, u.origin, u.priority, u.reason, now() + u.sla_ms * interval '1 millisecond',
           u.conversation_id, u.ruleset_version, u.rules
    from unnest(${tx.array(ids)}::bigint[], ${tx.array(cases.map((c) => c.contactId))}::bigint[], ${tx.array(cases.map((c) => titleOf(c.post.text)))}::text[],
                ${tx.array(cases.map((c) => c.post.platform))}::platform[], ${tx.array(cases.map((c) => c.priority))}::case_priority[],
                ${tx.array(cases.map((c) => c.priorityReason))}::text[], ${tx.array(cases.map((c) => opts.slaMs[c.priority]))}::bigint[],
                ${tx.array(cases.map((c) => c.post.conversationId ?? c.post.externalId))}::text[],
                ${tx.array(cases.map((c) => c.decision.rulesetVersion))}::text[], ${tx.array(cases.map((c) => JSON.stringify(c.decision.rules)))}::jsonb[])
         as u(id, contact_id, title, origin, priority, reason, sla_ms, conversation_id, ruleset_version, rules)`;
}

async function touchLeads(tx: Tx, touches: ReadonlyMap<number, number>): Promise<void> {
  if (touches.size === 0) return;
  await tx`
    update leads l set last_activity_at = now(), updated_at = now(), score = greatest(l.score, u.score)
    from unnest(${tx.array([...touches.keys()])}::bigint[], ${tx.array([...touches.values()])}::real[]) as u(id, score)
    where l.id = u.id`;
}

/** Record activity on cases; a more urgent post escalates its case, never lowers it (enum order low < urgent). */
async function touchCases(tx: Tx, touches: ReadonlyMap<number, Decision | null>): Promise<void> {
  if (touches.size === 0) return;
  const entries = [...touches.entries()];
  await tx`
    update cases c set last_activity_at = now(), updated_at = now(),
      priority_reason = case when u.priority > c.priority then u.reason else c.priority_reason end,
      priority = greatest(c.priority, u.priority)
    from unnest(${tx.array(entries.map(([id]) => id))}::bigint[], ${tx.array(entries.map(([, d]) => d?.priority ?? 'low'))}::case_priority[],
                ${tx.array(entries.map(([, d]) => `escalated by rule ${d?.priorityRule ?? 'default'}`))}::text[]) as u(id, priority, reason)
    where c.id = u.id`;
}

/** Cases a new problem post reopened: back in progress, with a fresh resolve-by for their priority. */
async function reopenCases(tx: Tx, ids: ReadonlySet<number>, opts: CaptureOptions): Promise<void> {
  if (ids.size === 0) return;
  const sla = opts.slaMs;
  await tx`
    update cases c set status = 'in_progress', resolved_at = null, reopen_count = c.reopen_count + 1, updated_at = now(),
      resolve_by = now() + (case c.priority when 'urgent' then ${sla.urgent} when 'high' then ${sla.high}
                                            when 'normal' then ${sla.normal} else ${sla.low} end)::bigint * interval '1 millisecond'
    where c.id = any(${tx.array([...ids])}::bigint[]) and c.status = 'resolved'`;
}

/** Store each post's decision and where it went, and mark it processed. */
async function markProcessed(tx: Tx, planned: readonly PlannedPost[], ids: readonly { leadId: number | null; caseId: number | null }[]): Promise<void> {
  // The decisions go as one jsonb document: each decision is stored as it is, with no second
  // escaping into an array literal, and Postgres parses the batch once. Label, score, priority and
  // ruleset version are read off the decision, so the row cannot disagree with its explanation.
  await tx`
    update social_posts p set
      status = 'processed', attempts = p.attempts + 1, error = null,
      label = (u.decision->>'label')::label, score = (u.decision->>'score')::real,
      priority = (u.decision->>'priority')::case_priority, decision = u.decision,
      ruleset_version = u.decision->>'rulesetVersion', contact_id = u.contact_id, lead_id = u.lead_id, case_id = u.case_id,
      processed_at = clock_timestamp()
    from jsonb_to_recordset(${JSON.stringify(
      planned.map((p, i) => ({ id: p.post.id, decision: p.decision, contact_id: p.contactId, lead_id: ids[i]!.leadId, case_id: ids[i]!.caseId })),
    )}::jsonb) as u(id bigint, decision jsonb, contact_id bigint, lead_id bigint, case_id bigint)
    where p.id = u.id`;
}
