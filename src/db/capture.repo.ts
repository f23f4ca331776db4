import {
  contactsWanted,
  planContacts,
  planWork,
  triage,
  type CaptureAction,
  type CaptureIdentity,
  type CaptureOptions,
  type ContactPlan,
  type Decide,
  type LivePost,
} from '../capture/planner.js';
import type { Decision } from '../classifier/index.js';
import { PostError } from '../errors.js';
import type { Label } from '../types.js';
import { lockBatch, lockOpenWork, readContactMatches } from './capture.read.js';
import { writeContacts, writeWork } from './capture.write.js';
import type { Sql, Tx } from './client.js';
import { appendCaptureEvents } from './outbox.repo.js';
import { postKey, type PostRef } from './post-key.js';

/** Re-exported: capture's callers take its options and actions from the repository they call. */
export type { CaptureAction, CaptureOptions } from '../capture/planner.js';

/** What capture did with a post, and the records it went to. */
export interface CaptureOutcome {
  action: CaptureAction;
  label: Label | null;
  contactId: number | null;
  leadId: number | null;
  caseId: number | null;
  decision: Decision | null;
}

/** Per post of a batch: its outcome, or why the post itself cannot be processed. */
export type BatchResult = Map<string, CaptureOutcome | PostError>;

const ALREADY: CaptureOutcome = { action: 'already-decided', label: null, contactId: null, leadId: null, caseId: null, decision: null };

/** Decide one pending post: {@link captureBatch} of one. */
export async function capturePost(sql: Sql, ref: PostRef, decide: Decide, opts: CaptureOptions): Promise<CaptureOutcome> {
  const result = (await captureBatch(sql, [ref], decide, opts)).get(postKey(ref))!;
  if (result instanceof PostError) throw result;
  return result;
}

/**
 * Decide a batch of posts and apply the decisions, in ONE transaction and a fixed number of round
 * trips whatever the batch size: classify, resolve each author to a contact, create or attach the
 * lead or case, mark the posts processed. Idempotent on the post key: post rows are locked first,
 * and a post that is no longer pending is left as it is. The planner (src/capture/planner.ts)
 * decides; this reads, locks and writes.
 *
 * Lock order (the one place it is stated): posts, then identities, then contacts, each in id
 * order, so batches in other workers never deadlock with this one. The locks are FOR NO KEY
 * UPDATE: no key ever changes, and unlike FOR UPDATE they do not conflict with the KEY SHARE locks
 * that inserting posts (foreign key to identities) or leads and cases (to contacts) take in other
 * transactions. An author's identity row is locked before a contact is looked up or created, so
 * workers that meet the same new author converge on one contact (invariant 4); the contact row is
 * locked before its open lead or case is looked up, so two batches never open two of them. Within
 * the batch posts apply in id order, so a reply in the same batch as the complaint it answers
 * attaches to the case that complaint opens.
 *
 * A post that is bad in itself (gone, no author) is reported as a PostError in the result and
 * left pending for the caller to quarantine; anything else throws and rolls the batch back.
 */
export async function captureBatch(sql: Sql, refs: readonly PostRef[], decide: Decide, opts: CaptureOptions): Promise<BatchResult> {
  return sql.begin((tx) => applyBatch(tx, refs, decide, opts)) as Promise<BatchResult>;
}

async function applyBatch(tx: Tx, refs: readonly PostRef[], decide: Decide, opts: CaptureOptions): Promise<BatchResult> {
  const results: BatchResult = new Map();
  const { posts, identities, nowUs } = await lockBatch(tx, refs);
  const found = new Set(posts.map((r) => postKey(r)));
  for (const ref of refs) {
    if (!found.has(postKey(ref))) results.set(postKey(ref), new PostError(`no post ${ref.platform}/${ref.externalId} in the inbox`));
  }
  const { decided, rejected, live, needContact } = triage(posts, identities, decide, opts);
  for (const post of decided) results.set(postKey(post), ALREADY);
  for (const { post, reason } of rejected) results.set(postKey(post), new PostError(reason));
  if (live.length === 0) return results;

  if (needContact.length > 0) await resolveContacts(tx, needContact, identities);
  const plan = planWork(live, await lockOpenWork(tx, live, nowUs, opts), opts);
  // The batch's events (the outbox) commit with what they describe.
  const written = await writeWork(tx, plan, opts, (posts) =>
    appendCaptureEvents(
      tx,
      plan.posts.map((p, i) => ({ row: p.post, outcome: { action: p.action, contactId: p.contactId, ...posts[i]! } })),
    ),
  );
  plan.posts.forEach((p, i) => {
    const { leadId, caseId } = written.posts[i]!;
    results.set(postKey(p.post), { action: p.action, label: p.decision.label, contactId: p.contactId, leadId, caseId, decision: p.decision });
  });
  return results;
}

/** Give the authors who need one a contact, as the planner matches them; updates `identities` in place. */
async function resolveContacts(
  tx: Tx,
  needContact: readonly LivePost[],
  identities: Map<number, CaptureIdentity>,
): Promise<{ plan: ContactPlan; ids: number[] }> {
  const wanted = contactsWanted(needContact);
  const { handleRows, emailRows } = await readContactMatches(tx, wanted);
  const plan = planContacts(wanted, handleRows, emailRows);
  return { plan, ids: await writeContacts(tx, plan, identities) };
}

/** Quarantine a post that cannot be processed: visible as `failed` with its reason. */
export async function markFailed(sql: Sql, ref: PostRef, reason: string, attempts: number): Promise<boolean> {
  const rows = await sql`
    update social_posts set status = 'failed', error = ${reason.slice(0, 2000)}, attempts = ${attempts},
                            processed_at = clock_timestamp()
    where platform = ${ref.platform} and external_id = ${ref.externalId} and status = 'pending'
    returning id`;
  return rows.length > 0;
}
