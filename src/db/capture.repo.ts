import type { ClassifierInput, Decision } from '../classifier/index.js';
import { PostError } from '../errors.js';
import type { Label, Platform, Priority, SocialPost } from '../types.js';
import type { Sql, Tx } from './client.js';
import type { PostRef } from './post-key.js';

/** How capture attaches posts to open work. */
export interface CaptureOptions {
  /** A new problem post attaches to the contact's open case on the same channel active this recently. */
  caseWindowMs: number;
  /** Time to resolve, per priority: sets a new case's resolve-by. */
  slaMs: Record<Priority, number>;
}

export type CaptureAction =
  | 'lead-created'
  | 'lead-attached'
  | 'case-created'
  | 'case-attached'
  | 'recorded'
  /** The post was already decided: a redelivered job, a re-enqueue after a Redis flush. */
  | 'already-decided';

export interface CaptureOutcome {
  action: CaptureAction;
  label: Label | null;
  contactId: number | null;
  leadId: number | null;
  caseId: number | null;
  decision: Decision | null;
}

interface PostRow {
  id: number;
  platform: Platform;
  externalId: string;
  text: string;
  status: string;
  identityId: number | null;
  inReplyTo: string | null;
  conversationId: string | null;
  lang: string | null;
  payload: SocialPost;
}

interface IdentityRow {
  id: number;
  contactId: number | null;
  handle: string | null;
  name: string | null;
}

const TITLE_MAX = 140;

function titleOf(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= TITLE_MAX ? oneLine || '(no text)' : `${oneLine.slice(0, TITLE_MAX - 1)}…`;
}

/**
 * Decide one pending post and apply the decision, in ONE transaction: classify, resolve the author
 * to a contact, create or attach the lead or case, mark the post processed. Idempotent on the post
 * key: the post row is locked first, and a post that is no longer pending is left as it is.
 *
 * Concurrency: the author's identity row is locked before a contact is looked up or created, so
 * workers that meet the same new author at once converge on one contact (invariant 4); the contact
 * row is locked before its open lead or case is looked up, so two posts never open two of them.
 */
export async function capturePost(
  sql: Sql,
  ref: PostRef,
  decide: (input: ClassifierInput) => Decision,
  opts: CaptureOptions,
): Promise<CaptureOutcome> {
  return sql.begin(async (tx) => {
    const [post] = await tx<PostRow[]>`
      select id, platform, external_id as "externalId", text, status, identity_id as "identityId",
             in_reply_to as "inReplyTo", conversation_id as "conversationId", lang, payload
      from social_posts where platform = ${ref.platform} and external_id = ${ref.externalId}
      for update`;
    if (!post) throw new PostError(`no post ${ref.platform}/${ref.externalId} in the inbox`);
    if (post.status !== 'pending') {
      return { action: 'already-decided', label: null, contactId: null, leadId: null, caseId: null, decision: null };
    }
    if (post.identityId === null) throw new PostError('post has no author identity');

    const isReply = post.inReplyTo !== null || (post.conversationId !== null && post.conversationId !== post.externalId);
    const decision = decide({
      text: post.text,
      platform: post.platform,
      ...(post.lang ? { lang: post.lang } : {}),
      isReply,
      ...(typeof post.payload?.author?.followers === 'number' ? { followers: post.payload.author.followers } : {}),
    });

    const [identity] = await tx<IdentityRow[]>`
      select id, contact_id as "contactId", handle, name from identities where id = ${post.identityId} for update`;
    if (!identity) throw new PostError('post author identity is missing');

    const threadCase = isReply ? await findThreadCase(tx, post) : null;
    let outcome: Omit<CaptureOutcome, 'decision' | 'label'>;

    if (decision.label === 'case') {
      const contactId = await resolveContact(tx, post, identity);
      await tx`select id from contacts where id = ${contactId} for update`;
      const open = threadCase ?? (await findOpenCase(tx, contactId, post.platform, opts.caseWindowMs));
      if (open) {
        await touchCase(tx, open.id, decision);
        outcome = { action: 'case-attached', contactId, leadId: null, caseId: open.id };
      } else {
        const caseId = await createCase(tx, post, contactId, decision, opts);
        outcome = { action: 'case-created', contactId, leadId: null, caseId };
      }
    } else if (decision.label === 'lead') {
      const contactId = await resolveContact(tx, post, identity);
      await tx`select id from contacts where id = ${contactId} for update`;
      const [open] = await tx<{ id: number }[]>`
        select id from leads where contact_id = ${contactId} and status = 'open'`;
      if (open) {
        await tx`update leads set last_activity_at = now(), updated_at = now(),
                   score = greatest(score, ${decision.score}) where id = ${open.id}`;
        outcome = { action: 'lead-attached', contactId, leadId: open.id, caseId: null };
      } else {
        const [lead] = await tx<{ id: number }[]>`
          insert into leads (contact_id, account_id, source, subject, score, ruleset_version, rules)
          select ${contactId}, c.account_id, ${post.platform}, ${titleOf(post.text)}, ${decision.score},
                 ${decision.rulesetVersion}, ${JSON.stringify(decision.rules)}::jsonb
          from contacts c where c.id = ${contactId}
          returning id`;
        outcome = { action: 'lead-created', contactId, leadId: lead!.id, caseId: null };
      }
    } else if (threadCase && identity.contactId !== null && threadCase.contactId === identity.contactId) {
      // A customer's own follow-up in their case's thread ("any update?") belongs on the case even
      // when it carries no problem words of its own.
      await touchCase(tx, threadCase.id, null);
      outcome = { action: 'case-attached', contactId: identity.contactId, leadId: null, caseId: threadCase.id };
    } else {
      outcome = { action: 'recorded', contactId: identity.contactId, leadId: null, caseId: null };
    }

    await tx`
      update social_posts set
        status = 'processed', attempts = attempts + 1, error = null,
        label = ${decision.label}, score = ${decision.score}, priority = ${decision.priority},
        decision = ${JSON.stringify(decision)}::jsonb, ruleset_version = ${decision.rulesetVersion},
        contact_id = ${outcome.contactId}, lead_id = ${outcome.leadId}, case_id = ${outcome.caseId},
        processed_at = now()
      where id = ${post.id}`;
    return { ...outcome, label: decision.label, decision };
  }) as Promise<CaptureOutcome>;
}

/** Quarantine a post that cannot be processed: visible as `failed` with its reason. */
export async function markFailed(sql: Sql, ref: PostRef, reason: string, attempts: number): Promise<boolean> {
  const rows = await sql`
    update social_posts set status = 'failed', error = ${reason.slice(0, 2000)}, attempts = ${attempts},
                            processed_at = now()
    where platform = ${ref.platform} and external_id = ${ref.externalId} and status = 'pending'
    returning id`;
  return rows.length > 0;
}

/** The open case of the conversation this post replies in, if any. */
async function findThreadCase(tx: Tx, post: PostRow): Promise<{ id: number; contactId: number } | null> {
  const ids = [post.inReplyTo, post.conversationId].filter((x): x is string => x !== null);
  const [row] = await tx<{ id: number; contactId: number }[]>`
    select c.id, c.contact_id as "contactId"
    from social_posts p join cases c on c.id = p.case_id
    where p.platform = ${post.platform}
      and (p.external_id = any(${tx.array(ids)}::text[]) or p.conversation_id = any(${tx.array(ids)}::text[]))
      and c.status in ('new', 'in_progress')
    order by c.last_activity_at desc
    limit 1`;
  return row ?? null;
}

async function findOpenCase(tx: Tx, contactId: number, origin: Platform, windowMs: number) {
  const [row] = await tx<{ id: number; contactId: number }[]>`
    select id, contact_id as "contactId" from cases
    where contact_id = ${contactId} and origin = ${origin} and status in ('new', 'in_progress')
      and last_activity_at > now() - ${windowMs} * interval '1 millisecond'
    order by last_activity_at desc
    limit 1`;
  return row ?? null;
}

/** Record activity on a case; a more urgent post escalates it, never lowers it (enums order low < urgent). */
async function touchCase(tx: Tx, caseId: number, decision: Decision | null): Promise<void> {
  const p = decision?.priority ?? 'low';
  const reason = `escalated by rule ${decision?.priorityRule ?? 'default'}`;
  await tx`
    update cases set last_activity_at = now(), updated_at = now(),
      priority_reason = case when ${p}::case_priority > priority then ${reason} else priority_reason end,
      priority = greatest(priority, ${p}::case_priority)
    where id = ${caseId}`;
}

async function createCase(tx: Tx, post: PostRow, contactId: number, decision: Decision, opts: CaptureOptions) {
  const priority: Priority = decision.priority ?? 'normal';
  const reason = decision.priorityRule ? `rule ${decision.priorityRule}` : 'default priority';
  const [row] = await tx<{ id: number }[]>`
    insert into cases (contact_id, title, origin, priority, priority_reason, resolve_by, conversation_id,
                       ruleset_version, rules)
    values (${contactId}, ${titleOf(post.text)}, ${post.platform}, ${priority}, ${reason},
            now() + ${opts.slaMs[priority]} * interval '1 millisecond', ${post.conversationId ?? post.externalId},
            ${decision.rulesetVersion}, ${JSON.stringify(decision.rules)}::jsonb)
    returning id`;
  return row!.id;
}

/**
 * The author's contact: by identity first, then by a handle or e-mail ops stored on a contact,
 * else a new one. Never by display name. Links the identity; the caller holds its row lock.
 */
async function resolveContact(tx: Tx, post: PostRow, identity: IdentityRow): Promise<number> {
  if (identity.contactId !== null) return identity.contactId;
  const handle = identity.handle?.replace(/^@/, '').toLowerCase() ?? null;
  const email = post.payload?.author?.email?.toLowerCase() ?? null;
  let contactId: number | undefined;
  if (handle) {
    const [row] = await tx<{ contactId: number }[]>`
      select contact_id as "contactId" from contact_handles where platform = ${post.platform} and handle = ${handle}`;
    contactId = row?.contactId;
  }
  if (contactId === undefined && email) {
    const [row] = await tx<{ id: number }[]>`select id from contacts where lower(email) = ${email}`;
    contactId = row?.id;
  }
  if (contactId === undefined) {
    const [row] = await tx<{ id: number }[]>`
      insert into contacts (name, email) values (${identity.name ?? identity.handle}, ${email}) returning id`;
    contactId = row!.id;
  }
  await tx`update identities set contact_id = ${contactId} where id = ${identity.id}`;
  return contactId;
}
