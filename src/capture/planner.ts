/**
 * The capture planner: what a batch of posts does to the CRM, decided from the rows the batch read
 * and locked. Pure: no I/O, no clock (the transaction's `now()` comes in as a fact), no env; it
 * imports types only. The repository (src/db/capture.repo.ts) reads, locks and writes what it says.
 *
 * A batch is planned in the order its reads allow:
 * 1. {@link triage}: which posts are live, their decisions, suppression, which authors need a contact;
 * 2. {@link planContacts}: for those authors, an existing contact (by handle, then e-mail) or a new one;
 * 3. {@link planWork}: per post, attach to, open or reopen a lead or case, and a new case's priority.
 */
import type { ClassifierInput, Decision } from '../classifier/index.js';
import type { Platform, Priority } from '../types.js';
import { normalizeHandle } from '../util/handle.js';

/** How capture attaches posts to open work. */
export interface CaptureOptions {
  /** A new problem post attaches to the contact's open case on the same channel active this recently. */
  caseWindowMs: number;
  /** Time to resolve, per priority: sets a new case's resolve-by. */
  slaMs: Record<Priority, number>;
  /** After a case is resolved, a new problem post from its contact on its channel this soon reopens it. @defaultValue 0 (never) */
  reopenWindowMs?: number;
  /** The brand's own accounts, by handle (any case, with or without @) or user id: their posts never become leads or cases. */
  ownAccounts?: { twitter: readonly string[]; facebook: readonly string[] };
  /** Sources whose retweets are decided like any post; every other source's retweets never become leads or cases. */
  captureRetweetSources?: ReadonlySet<string>;
}

/** What capture did with a post. */
export type CaptureAction =
  | 'lead-created'
  | 'lead-attached'
  | 'case-created'
  | 'case-attached'
  /** A problem post reopened the contact's case resolved within the reopen window. */
  | 'case-reopened'
  /** By one of the brand's own accounts, or a retweet the source ignores: recorded, never a lead or case. */
  | 'suppressed'
  | 'recorded'
  /** The post was already decided: a redelivered job, a re-enqueue after a Redis flush. */
  | 'already-decided';

/** The classifier, as capture calls it. */
export type Decide = (input: ClassifierInput) => Decision;

/** A post of the batch as read (and locked) from the inbox. */
export interface CapturePost {
  id: number;
  platform: Platform;
  externalId: string;
  text: string;
  status: string;
  sourceId: string;
  identityId: number | null;
  inReplyTo: string | null;
  conversationId: string | null;
  lang: string | null;
  /** From the raw payload, the only parts capture reads (the payload itself never leaves Postgres). */
  followers: unknown;
  email: unknown;
  isRetweet: boolean;
}

/** A post's author as read (and locked); `contactId` is updated in place once {@link planContacts} is written. */
export interface CaptureIdentity {
  id: number;
  platform: Platform;
  externalUserId: string;
  contactId: number | null;
  handle: string | null;
  name: string | null;
}

/** Why a post that would be a lead or case is only recorded. */
export type Suppression = 'own account' | 'retweet';

/** A lead, case or contact the batch found, or the index of one the plan creates. */
export type RecordRef = { kind: 'existing'; id: number } | { kind: 'new'; index: number };

/** A pending post with an author, and its decision (suppression applied). */
export interface LivePost<P extends CapturePost = CapturePost> {
  post: P;
  identity: CaptureIdentity;
  decision: Decision;
  suppressed: Suppression | null;
}

/** Step 1 of a plan: the batch's posts sorted by what happens to them. */
export interface Triage<P extends CapturePost = CapturePost> {
  /** No longer pending: left as they are. */
  decided: P[];
  /** Bad in themselves, with the reason: left pending for the caller to quarantine. */
  rejected: { post: P; reason: string }[];
  /** The rest, in post order. */
  live: LivePost<P>[];
  /** Authors with no contact whose post becomes a lead or case, one entry each (their last post). */
  needContact: LivePost<P>[];
}

/** A reply, by the platform's threading fields: it has a parent, or a conversation that is not itself. */
export function isReply(p: Pick<CapturePost, 'inReplyTo' | 'conversationId' | 'externalId'>): boolean {
  return p.inReplyTo !== null || (p.conversationId !== null && p.conversationId !== p.externalId);
}

/** The classifier's input for a post (the backtest builds the same). */
function classifierInput(p: CapturePost): ClassifierInput {
  return {
    text: p.text,
    platform: p.platform,
    ...(p.lang ? { lang: p.lang } : {}),
    isReply: isReply(p),
    ...(typeof p.followers === 'number' ? { followers: p.followers } : {}),
  };
}

/** Step 1: classify the pending posts, suppress, and find the authors who need a contact. Posts come in id order. */
export function triage<P extends CapturePost>(
  posts: readonly P[],
  identities: ReadonlyMap<number, CaptureIdentity>,
  decide: Decide,
  opts: CaptureOptions,
): Triage<P> {
  const out: Triage<P> = { decided: [], rejected: [], live: [], needContact: [] };
  const needContact = new Map<number, LivePost<P>>();
  for (const post of posts) {
    if (post.status !== 'pending') {
      out.decided.push(post);
      continue;
    }
    if (post.identityId === null) {
      out.rejected.push({ post, reason: 'post has no author identity' });
      continue;
    }
    let decision = decide(classifierInput(post));
    const identity = identities.get(post.identityId);
    if (identity === undefined) {
      out.rejected.push({ post, reason: 'post author identity is missing' });
      continue;
    }
    const suppressed = suppression(post, identity, opts);
    if (suppressed !== null) decision = { ...decision, label: 'none', priority: null, priorityRule: null, suppressed };
    const live: LivePost<P> = { post, identity, decision, suppressed };
    out.live.push(live);
    // Only authors whose post becomes work get a contact, so chatter never fills the CRM.
    if (identity.contactId === null && decision.label !== 'none') needContact.set(identity.id, live);
  }
  out.needContact = [...needContact.values()];
  return out;
}

/** Own-account posts, and retweets from a source that ignores them, never become leads or cases. */
export function suppression(
  post: Pick<CapturePost, 'platform' | 'isRetweet' | 'sourceId'>,
  ident: Pick<CaptureIdentity, 'handle' | 'externalUserId'>,
  opts: CaptureOptions,
): Suppression | null {
  const own = opts.ownAccounts?.[post.platform] ?? [];
  if (own.length > 0) {
    const handle = normalHandle(ident.handle);
    for (const o of own) {
      const want = normalHandle(o);
      if (want === ident.externalUserId || (handle !== null && want === handle)) return 'own account';
    }
  }
  if (post.isRetweet && !opts.captureRetweetSources?.has(post.sourceId)) return 'retweet';
  return null;
}

function normalHandle(h: string | null): string | null {
  return h === null ? null : normalizeHandle(h);
}

/** An author who needs a contact, with the keys that may find one already stored. */
export interface ContactWanted {
  identity: CaptureIdentity;
  /** Normalized (no @, lower case). */
  handle: string | null;
  /** Lower case. */
  email: string | null;
}

/** The authors of {@link Triage.needContact} with the handle and e-mail to look a contact up by. */
export function contactsWanted(needContact: readonly LivePost[]): ContactWanted[] {
  return needContact.map(({ identity, post }) => ({
    identity,
    handle: normalHandle(identity.handle),
    email: typeof post.email === 'string' ? post.email.toLowerCase() : null,
  }));
}

/** Step 2: each author's contact. */
export interface ContactPlan {
  /** Identity → contact: one stored, or the index of one in `create`. */
  links: { identityId: number; contact: RecordRef }[];
  /** Contacts to create, in order. */
  create: { name: string | null; email: string | null }[];
}

/**
 * Step 2: link each author to the contact that has their handle on that platform, else their
 * e-mail, else a new contact; never by display name. Two new authors with one e-mail share the
 * contact the first one makes.
 */
export function planContacts(
  wanted: readonly ContactWanted[],
  handleRows: readonly { platform: Platform; handle: string; contactId: number }[],
  emailRows: readonly { id: number; email: string }[],
): ContactPlan {
  const byHandle = new Map(handleRows.map((h) => [`${h.platform}/${h.handle}`, h.contactId]));
  const byEmail = new Map(emailRows.map((c) => [c.email, c.id]));
  const plan: ContactPlan = { links: [], create: [] };
  const fresh: ContactWanted[] = [];
  for (const w of wanted) {
    const match = (w.handle !== null ? byHandle.get(`${w.identity.platform}/${w.handle}`) : undefined) ?? (w.email !== null ? byEmail.get(w.email) : undefined);
    if (match !== undefined) plan.links.push({ identityId: w.identity.id, contact: { kind: 'existing', id: match } });
    else fresh.push(w);
  }
  const createdFor = new Map<string, number>(); // e-mail → index in create
  for (const w of fresh) {
    let index = w.email === null ? undefined : createdFor.get(w.email);
    if (index === undefined) {
      index = plan.create.push({ name: w.identity.name ?? w.identity.handle, email: w.email }) - 1;
      if (w.email !== null) createdFor.set(w.email, index);
    }
    plan.links.push({ identityId: w.identity.id, contact: { kind: 'new', index } });
  }
  return plan;
}

/** What raises a new case's priority above its rules': read for the contacts that may open cases. */
export interface PriorityFacts {
  relationship: string | null;
  entitlement: string | null;
  openCases: number;
}

/** An open case found through a post of a conversation: the post holding it, and the case. */
export interface ThreadCaseRow {
  platform: Platform;
  /** The post that holds the case. */
  externalId: string;
  conversationId: string | null;
  /** The case. */
  id: number;
  contactId: number;
  /** Epoch microseconds, exact. */
  lastActivityUs: number;
}

/** The open and recent work of the batch's contacts and threads, read after the contacts are locked. */
export interface OpenWork {
  /** The transaction's `now()`, epoch microseconds: the windows are measured from it, as the reads are. */
  nowUs: number;
  openLeads: readonly { id: number; contactId: number }[];
  /** Open cases of the contacts (the read is bounded by the case window). */
  openCases: readonly { id: number; contactId: number; origin: Platform; lastActivityUs: number }[];
  /** Open cases held by the replies' parents, roots and conversations. */
  threadCases: readonly ThreadCaseRow[];
  /** Resolved cases of the contacts (the read is bounded by the reopen window). */
  resolvedCases: readonly { id: number; contactId: number; origin: Platform; resolvedAtUs: number }[];
  priorityFacts: readonly ({ contactId: number } & PriorityFacts)[];
}

/** A live post's part in the plan. */
export interface PlannedPost<P extends CapturePost = CapturePost> {
  post: P;
  decision: Decision;
  action: CaptureAction;
  contactId: number | null;
  lead: RecordRef | null;
  case: RecordRef | null;
}

/** A lead the plan creates. */
export interface NewLead<P extends CapturePost = CapturePost> {
  post: P;
  contactId: number;
  decision: Decision;
}

/** A case the plan creates, with the priority {@link casePriority} gave it. */
export interface NewCase<P extends CapturePost = CapturePost> extends NewLead<P> {
  priority: Priority;
  priorityReason: string;
}

/** Step 3: what the batch writes. */
export interface WorkPlan<P extends CapturePost = CapturePost> {
  /** Every live post, in post order. */
  posts: PlannedPost<P>[];
  newLeads: NewLead<P>[];
  newCases: NewCase<P>[];
  /** Open leads that gain posts: lead id → the best score among them. */
  leadTouches: Map<number, number>;
  /** Stored cases that gain posts: case id → the most urgent decision among them (null: follow-ups only). */
  caseTouches: Map<number, Decision | null>;
  /** Resolved cases a problem post reopens. */
  reopened: Set<number>;
}

type Thread = { ref: RecordRef; contactId: number };

/** The plan in the making: the lookups a post consults, updated as the posts before it are planned. */
interface Planning<P extends CapturePost> {
  plan: WorkPlan<P>;
  work: OpenWork;
  leadOf: Map<number, RecordRef>; // contact → open lead
  caseOf: Map<string, RecordRef>; // `${contact}/${origin}` → open case within the window
  resolvedOf: Map<string, number>; // `${contact}/${origin}` → latest case resolved within the reopen window
  threadOf: Map<string, Thread>; // `${platform}/${conversation}` → case a post of this batch went to
  facts: Map<number, PriorityFacts>;
}

/**
 * Step 3: per live post, in post order, attach to, open or reopen a lead or case. A case post goes
 * to its thread's open case, else the contact's open case on that channel active within the case
 * window, else reopens the contact's case on that channel resolved within the reopen window, else
 * opens a case. A lead post goes to the contact's open lead, else opens one. Any other post in a
 * thread whose case is the author's own is a follow-up on that case. Posts see the work the posts
 * before them in the batch opened.
 */
export function planWork<P extends CapturePost>(live: readonly LivePost<P>[], work: OpenWork, opts: CaptureOptions): WorkPlan<P> {
  const s: Planning<P> = {
    plan: { posts: [], newLeads: [], newCases: [], leadTouches: new Map(), caseTouches: new Map(), reopened: new Set() },
    work,
    leadOf: new Map(work.openLeads.map((l) => [l.contactId, { kind: 'existing', id: l.id }])),
    caseOf: new Map(),
    resolvedOf: new Map(),
    threadOf: new Map(),
    facts: new Map(work.priorityFacts.map((f) => [f.contactId, f])),
  };
  const caseSince = work.nowUs - opts.caseWindowMs * 1000;
  const caseActivity = new Map<string, number>();
  for (const c of work.openCases) {
    const key = `${c.contactId}/${c.origin}`;
    if (c.lastActivityUs > caseSince && c.lastActivityUs >= (caseActivity.get(key) ?? -Infinity)) {
      caseActivity.set(key, c.lastActivityUs);
      s.caseOf.set(key, { kind: 'existing', id: c.id });
    }
  }
  const resolvedSince = work.nowUs - (opts.reopenWindowMs ?? 0) * 1000;
  const resolvedAt = new Map<string, number>();
  for (const c of work.resolvedCases) {
    const key = `${c.contactId}/${c.origin}`;
    if (c.resolvedAtUs > resolvedSince && c.resolvedAtUs >= (resolvedAt.get(key) ?? -Infinity)) {
      resolvedAt.set(key, c.resolvedAtUs);
      s.resolvedOf.set(key, c.id);
    }
  }
  for (const l of live) {
    const thread = isReply(l.post) ? threadOf(s, l.post) : undefined;
    if (l.decision.label === 'case') planCase(s, l, thread);
    else if (l.decision.label === 'lead') planLead(s, l);
    else planOther(s, l, thread);
  }
  return s.plan;
}

/** A reply's thread case: one a post of this batch went to, else the most recently active stored one. */
function threadOf<P extends CapturePost>(s: Planning<P>, post: P): Thread | undefined {
  for (const k of [post.inReplyTo, post.conversationId]) {
    const t = k === null ? undefined : s.threadOf.get(`${post.platform}/${k}`);
    if (t) return t;
  }
  let best: ThreadCaseRow | undefined;
  for (const row of s.work.threadCases) {
    if (row.platform !== post.platform || !(inThread(post, row.externalId) || (row.conversationId !== null && inThread(post, row.conversationId)))) continue;
    if (!best || row.lastActivityUs > best.lastActivityUs) best = row;
  }
  return best && { ref: { kind: 'existing', id: best.id }, contactId: best.contactId };
}

/** Whether the post id is the reply's parent or its conversation's root. */
function inThread(reply: CapturePost, postId: string): boolean {
  return postId === reply.inReplyTo || postId === reply.conversationId;
}

function planCase<P extends CapturePost>(s: Planning<P>, l: LivePost<P>, thread: Thread | undefined): void {
  const { post, decision } = l;
  const { plan } = s;
  const contactId = l.identity.contactId!;
  const key = `${contactId}/${post.platform}`;
  const conversation = `${post.platform}/${post.conversationId ?? post.externalId}`;
  const open = thread?.ref ?? s.caseOf.get(key);
  const resolved = open ? undefined : s.resolvedOf.get(key);
  if (resolved !== undefined) {
    const ref: RecordRef = { kind: 'existing', id: resolved };
    plan.reopened.add(resolved);
    plan.caseTouches.set(resolved, moreUrgent(plan.caseTouches.get(resolved) ?? null, decision));
    s.caseOf.set(key, ref);
    s.threadOf.set(conversation, { ref, contactId });
    plan.posts.push({ post, decision, action: 'case-reopened', contactId, lead: null, case: ref });
  } else if (open) {
    if (open.kind === 'existing') plan.caseTouches.set(open.id, moreUrgent(plan.caseTouches.get(open.id) ?? null, decision));
    plan.posts.push({ post, decision, action: 'case-attached', contactId, lead: null, case: open });
    s.threadOf.set(conversation, { ref: open, contactId: thread?.contactId ?? contactId });
  } else {
    const { priority, reason } = casePriority(decision, s.facts.get(contactId));
    const ref: RecordRef = { kind: 'new', index: plan.newCases.push({ post, contactId, decision, priority, priorityReason: reason }) - 1 };
    s.caseOf.set(key, ref);
    s.threadOf.set(conversation, { ref, contactId });
    plan.posts.push({ post, decision, action: 'case-created', contactId, lead: null, case: ref });
  }
}

function planLead<P extends CapturePost>(s: Planning<P>, l: LivePost<P>): void {
  const { post, decision } = l;
  const { plan } = s;
  const contactId = l.identity.contactId!;
  const open = s.leadOf.get(contactId);
  if (open) {
    if (open.kind === 'existing') plan.leadTouches.set(open.id, Math.max(plan.leadTouches.get(open.id) ?? -Infinity, decision.score));
    plan.posts.push({ post, decision, action: 'lead-attached', contactId, lead: open, case: null });
  } else {
    const ref: RecordRef = { kind: 'new', index: plan.newLeads.push({ post, contactId, decision }) - 1 };
    s.leadOf.set(contactId, ref);
    plan.posts.push({ post, decision, action: 'lead-created', contactId, lead: ref, case: null });
  }
}

function planOther<P extends CapturePost>(s: Planning<P>, l: LivePost<P>, thread: Thread | undefined): void {
  const { post, decision } = l;
  const { plan } = s;
  const contactId = l.identity.contactId;
  if (thread && thread.contactId === contactId) {
    // A customer's own follow-up in their case's thread ("any update?") belongs on the case even
    // when it carries no problem words of its own.
    if (thread.ref.kind === 'existing') plan.caseTouches.set(thread.ref.id, plan.caseTouches.get(thread.ref.id) ?? null);
    plan.posts.push({ post, decision, action: 'case-attached', contactId, lead: null, case: thread.ref });
  } else {
    plan.posts.push({ post, decision, action: l.suppressed !== null ? 'suppressed' : 'recorded', contactId, lead: null, case: null });
  }
}

const RANK: Record<Priority, number> = { low: 0, normal: 1, high: 2, urgent: 3 };
const BY_RANK: readonly Priority[] = ['low', 'normal', 'high', 'urgent'];

/**
 * A new case's priority: its rules' priority, one step up for each of a customer or partner
 * account, an active entitlement, and two or more other open cases; at most urgent. The reason
 * says which applied.
 */
export function casePriority(decision: Pick<Decision, 'priority' | 'priorityRule'>, f: PriorityFacts | undefined): { priority: Priority; reason: string } {
  const base = decision.priority ?? 'normal';
  const parts = [decision.priorityRule ? `rule ${decision.priorityRule}: ${base}` : `default priority: ${base}`];
  let rank = RANK[base];
  if (f?.relationship === 'customer' || f?.relationship === 'partner') {
    rank += 1;
    parts.push(`${f.relationship} account +1`);
  }
  if (f?.entitlement) {
    rank += 1;
    parts.push(`entitlement ${JSON.stringify(f.entitlement)} +1`);
  }
  if (f && f.openCases >= 2) {
    rank += 1;
    parts.push(`${f.openCases} other open cases +1`);
  }
  const priority = BY_RANK[Math.min(rank, RANK.urgent)]!;
  return { priority, reason: parts.length > 1 ? `${parts.join('; ')} → ${priority}` : parts[0]! };
}

/** Of a case's decisions so far and a new one, the more urgent (the earlier on a tie); no priority ranks as low. */
export function moreUrgent(a: Decision | null, b: Decision): Decision {
  if (a === null) return b;
  return RANK[b.priority ?? 'low'] > RANK[a.priority ?? 'low'] ? b : a;
}
