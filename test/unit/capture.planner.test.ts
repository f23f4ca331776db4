import { describe, expect, it } from 'vitest';
import {
  casePriority,
  contactsWanted,
  moreUrgent,
  planContacts,
  planWork,
  suppression,
  triage,
  type CaptureAction,
  type CaptureIdentity,
  type CaptureOptions,
  type CapturePost,
  type LivePost,
  type OpenWork,
  type PriorityFacts,
  type RecordRef,
  type Suppression,
  type ThreadCaseRow,
} from '../../src/capture/planner.js';
import type { ClassifierInput, Decision } from '../../src/classifier/index.js';
import type { Label, Platform, Priority } from '../../src/types.js';

// The planner is pure: every table here builds the rows a batch would read and checks the plan.

const NOW = 1_800_000_000_000_000; // the transaction's now(), epoch µs
const MIN = 60_000_000; // µs
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const OPTS: CaptureOptions = {
  caseWindowMs: 3_600_000, // 1 h
  reopenWindowMs: 86_400_000, // 1 day
  slaMs: { urgent: 1, high: 2, normal: 3, low: 4 },
};

function decision(label: Label, priority: Priority | null = null, extra: Partial<Decision> = {}): Decision {
  return { label, score: 1, scores: { lead: 0, case: 0 }, priority, priorityRule: null, rules: [], rulesetVersion: 'v1', ...extra };
}

let nextId = 100;
function post(p: Partial<CapturePost> = {}): CapturePost {
  const id = p.id ?? nextId++;
  return {
    id,
    platform: 'twitter',
    externalId: String(9000 + id),
    text: 'text',
    status: 'pending',
    sourceId: 'src',
    identityId: 1,
    inReplyTo: null,
    conversationId: null,
    lang: null,
    followers: null,
    email: null,
    isRetweet: false,
    ...p,
  };
}

function identity(i: Partial<CaptureIdentity> = {}): CaptureIdentity {
  return { id: 1, platform: 'twitter', externalUserId: '42', contactId: null, handle: 'sam', name: 'Sam', ...i };
}

/** A live post: by contact `contact` (null: no contact), decided `label`. */
interface LiveSpec {
  label: Label;
  contact?: number | null;
  priority?: Priority;
  score?: number;
  platform?: Platform;
  externalId?: string;
  inReplyTo?: string;
  conversationId?: string;
  suppressed?: Suppression;
}

function live(s: LiveSpec): LivePost {
  const p = post({
    platform: s.platform ?? 'twitter',
    ...(s.externalId ? { externalId: s.externalId } : {}),
    inReplyTo: s.inReplyTo ?? null,
    conversationId: s.conversationId ?? null,
  });
  const contactId = s.contact === undefined ? 1 : s.contact;
  return {
    post: p,
    identity: identity({ id: contactId ?? 0, contactId }),
    decision: decision(s.label, s.label === 'case' ? (s.priority ?? 'normal') : null, { score: s.score ?? 1 }),
    suppressed: s.suppressed ?? null,
  };
}

const openCase = (id: number, ago: number, contactId = 1, origin: Platform = 'twitter') => ({ id, contactId, origin, lastActivityUs: NOW - ago });
const resolvedCase = (id: number, ago: number, contactId = 1, origin: Platform = 'twitter') => ({ id, contactId, origin, resolvedAtUs: NOW - ago });
const threadCase = (
  id: number,
  externalId: string,
  conversationId: string | null,
  ago = MIN,
  contactId = 7,
  platform: Platform = 'twitter',
): ThreadCaseRow => ({
  platform,
  externalId,
  conversationId,
  id,
  contactId,
  lastActivityUs: NOW - ago,
});

function work(w: Partial<OpenWork> = {}): OpenWork {
  return { nowUs: NOW, openLeads: [], openCases: [], threadCases: [], resolvedCases: [], priorityFacts: [], ...w };
}

/** `#7` for stored record 7, `new0` for the first record the plan creates, null for none. */
const ref = (r: RecordRef | null) => (r === null ? null : r.kind === 'existing' ? `#${r.id}` : `new${r.index}`);

function run(posts: LiveSpec[], w: Partial<OpenWork> = {}, opts: Partial<CaptureOptions> = {}) {
  const plan = planWork(posts.map(live), work(w), { ...OPTS, ...opts });
  return {
    plan,
    actions: plan.posts.map((p) => [p.action, ref(p.case ?? p.lead)] as [CaptureAction, string | null]),
    touched: [...plan.caseTouches].map(([id, d]) => [id, d?.priority ?? null]),
    reopened: [...plan.reopened],
  };
}

describe('planWork: cases, by thread, window and reopening', () => {
  type Row = {
    name: string;
    posts: LiveSpec[];
    work?: Partial<OpenWork>;
    opts?: Partial<CaptureOptions>;
    actions: [CaptureAction, string | null][];
    touched?: (number | Priority | null)[][];
    reopened?: number[];
  };
  const complaint: LiveSpec = { label: 'case' };
  const reply = (inReplyTo: string | undefined, conversationId: string | undefined, s: Partial<LiveSpec> = {}): LiveSpec => ({
    label: 'case',
    externalId: '5000',
    ...(inReplyTo ? { inReplyTo } : {}),
    ...(conversationId ? { conversationId } : {}),
    ...s,
  });

  it.each(
    (
      [
        // the case window
        { name: 'no open work: a new case', posts: [complaint], actions: [['case-created', 'new0']] },
        {
          name: 'an open case on the channel active within the window: attached',
          posts: [complaint],
          work: { openCases: [openCase(7, 10 * MIN)] },
          actions: [['case-attached', '#7']],
          touched: [[7, 'normal']],
        },
        {
          name: 'active just inside the window (1 µs): attached',
          posts: [complaint],
          work: { openCases: [openCase(7, HOUR - 1)] },
          actions: [['case-attached', '#7']],
          touched: [[7, 'normal']],
        },
        { name: 'active exactly a window ago: a new case', posts: [complaint], work: { openCases: [openCase(7, HOUR)] }, actions: [['case-created', 'new0']] },
        { name: 'active two windows ago: a new case', posts: [complaint], work: { openCases: [openCase(7, 2 * HOUR)] }, actions: [['case-created', 'new0']] },
        {
          name: 'a wider window takes it in',
          posts: [complaint],
          work: { openCases: [openCase(7, 2 * HOUR)] },
          opts: { caseWindowMs: 3 * 3_600_000 },
          actions: [['case-attached', '#7']],
          touched: [[7, 'normal']],
        },
        {
          name: 'an open case on the other channel: a new case',
          posts: [complaint],
          work: { openCases: [openCase(7, MIN, 1, 'facebook')] },
          actions: [['case-created', 'new0']],
        },
        {
          name: "another contact's open case: a new case",
          posts: [complaint],
          work: { openCases: [openCase(7, MIN, 2)] },
          actions: [['case-created', 'new0']],
        },
        {
          name: 'two open cases: the most recently active',
          posts: [complaint],
          work: { openCases: [openCase(7, 30 * MIN), openCase(8, 5 * MIN), openCase(9, 20 * MIN)] },
          actions: [['case-attached', '#8']],
          touched: [[8, 'normal']],
        },
        {
          name: 'two open cases equally active: the later read',
          posts: [complaint],
          work: { openCases: [openCase(7, 5 * MIN), openCase(8, 5 * MIN)] },
          actions: [['case-attached', '#8']],
          touched: [[8, 'normal']],
        },
        // threads
        {
          name: "a reply whose parent holds a case: that case, before the contact's own",
          posts: [reply('p1', undefined)],
          work: { openCases: [openCase(7, MIN)], threadCases: [threadCase(3, 'p1', 'root')] },
          actions: [['case-attached', '#3']],
          touched: [[3, 'normal']],
        },
        {
          name: 'a reply whose conversation root holds a case',
          posts: [reply(undefined, 'root')],
          work: { threadCases: [threadCase(3, 'root', 'root')] },
          actions: [['case-attached', '#3']],
          touched: [[3, 'normal']],
        },
        {
          name: 'a reply in a conversation where another post holds a case',
          posts: [reply('p2', 'root')],
          work: { threadCases: [threadCase(3, 'p9', 'root')] },
          actions: [['case-attached', '#3']],
          touched: [[3, 'normal']],
        },
        {
          name: "a reply to a post that is in a case's conversation",
          posts: [reply('p9', undefined)],
          work: { threadCases: [threadCase(3, 'p8', 'p9')] },
          actions: [['case-attached', '#3']],
          touched: [[3, 'normal']],
        },
        {
          name: 'thread cases of another conversation: a new case',
          posts: [reply('p2', 'root')],
          work: { threadCases: [threadCase(3, 'p9', 'other')] },
          actions: [['case-created', 'new0']],
        },
        {
          name: 'a thread case on the other platform: a new case',
          posts: [reply('p1', 'root')],
          work: { threadCases: [threadCase(3, 'p1', 'root', MIN, 7, 'facebook')] },
          actions: [['case-created', 'new0']],
        },
        {
          name: 'two thread cases: the most recently active',
          posts: [reply('p1', 'root')],
          work: { threadCases: [threadCase(3, 'p1', 'root', 9 * MIN), threadCase(4, 'root', 'root', 2 * MIN), threadCase(5, 'p7', 'root', 5 * MIN)] },
          actions: [['case-attached', '#4']],
          touched: [[4, 'normal']],
        },
        {
          name: 'two thread cases equally active: the first read',
          posts: [reply('p1', 'root')],
          work: { threadCases: [threadCase(3, 'p1', 'root'), threadCase(4, 'root', 'root')] },
          actions: [['case-attached', '#3']],
          touched: [[3, 'normal']],
        },
        {
          name: 'a root post (its own conversation) is no reply: thread cases ignored',
          posts: [{ label: 'case', externalId: 'root', conversationId: 'root' }],
          work: { threadCases: [threadCase(3, 'root', 'root')] },
          actions: [['case-created', 'new0']],
        },
        {
          name: 'a thread case outside the case window still takes the reply',
          posts: [reply('p1', undefined)],
          work: { threadCases: [threadCase(3, 'p1', null, 30 * DAY)] },
          actions: [['case-attached', '#3']],
          touched: [[3, 'normal']],
        },
        // reopening
        {
          name: 'a case resolved within the reopen window: reopened',
          posts: [complaint],
          work: { resolvedCases: [resolvedCase(6, HOUR)] },
          actions: [['case-reopened', '#6']],
          touched: [[6, 'normal']],
          reopened: [6],
        },
        {
          name: 'resolved just inside the reopen window (1 µs): reopened',
          posts: [complaint],
          work: { resolvedCases: [resolvedCase(6, DAY - 1)] },
          actions: [['case-reopened', '#6']],
          touched: [[6, 'normal']],
          reopened: [6],
        },
        {
          name: 'resolved exactly a reopen window ago: a new case',
          posts: [complaint],
          work: { resolvedCases: [resolvedCase(6, DAY)] },
          actions: [['case-created', 'new0']],
        },
        {
          name: 'no reopen window: a case resolved a moment ago stays resolved',
          posts: [complaint],
          work: { resolvedCases: [resolvedCase(6, 1)] },
          opts: { reopenWindowMs: undefined },
          actions: [['case-created', 'new0']],
        },
        {
          name: 'resolved on the other channel: a new case',
          posts: [complaint],
          work: { resolvedCases: [resolvedCase(6, HOUR, 1, 'facebook')] },
          actions: [['case-created', 'new0']],
        },
        {
          name: 'an open case wins over a resolved one',
          posts: [complaint],
          work: { openCases: [openCase(7, MIN)], resolvedCases: [resolvedCase(6, MIN)] },
          actions: [['case-attached', '#7']],
          touched: [[7, 'normal']],
        },
        {
          name: 'a thread case wins over a resolved one',
          posts: [reply('p1', undefined)],
          work: { threadCases: [threadCase(3, 'p1', null)], resolvedCases: [resolvedCase(6, MIN)] },
          actions: [['case-attached', '#3']],
          touched: [[3, 'normal']],
        },
        {
          name: 'two resolved cases: the latest resolved reopens',
          posts: [complaint],
          work: { resolvedCases: [resolvedCase(5, 3 * HOUR), resolvedCase(6, HOUR), resolvedCase(4, 2 * HOUR)] },
          actions: [['case-reopened', '#6']],
          touched: [[6, 'normal']],
          reopened: [6],
        },
        // within one batch, in post order
        {
          name: 'a complaint and a reply to it in one batch: one new case',
          posts: [{ label: 'case', externalId: 'c1' }, reply('c1', 'c1')],
          actions: [
            ['case-created', 'new0'],
            ['case-attached', 'new0'],
          ],
        },
        {
          name: 'two complaints of one contact in one batch: one new case',
          posts: [complaint, complaint],
          actions: [
            ['case-created', 'new0'],
            ['case-attached', 'new0'],
          ],
        },
        {
          name: 'two complaints of two contacts: two cases',
          posts: [complaint, { label: 'case', contact: 2 }],
          actions: [
            ['case-created', 'new0'],
            ['case-created', 'new1'],
          ],
        },
        {
          name: 'complaints on two channels: two cases',
          posts: [complaint, { label: 'case', platform: 'facebook' }],
          actions: [
            ['case-created', 'new0'],
            ['case-created', 'new1'],
          ],
        },
        {
          name: 'a reopened case takes the next complaint; reopened once',
          posts: [complaint, { label: 'case', priority: 'high' }],
          work: { resolvedCases: [resolvedCase(6, HOUR)] },
          actions: [
            ['case-reopened', '#6'],
            ['case-attached', '#6'],
          ],
          touched: [[6, 'high']],
          reopened: [6],
        },
        {
          name: "a reply to the reopening post's conversation joins the reopened case",
          posts: [{ label: 'case', externalId: 'c1' }, reply('c1', 'c1', { contact: 2 })],
          work: { resolvedCases: [resolvedCase(6, HOUR)] },
          actions: [
            ['case-reopened', '#6'],
            ['case-attached', '#6'],
          ],
          touched: [[6, 'normal']],
          reopened: [6],
        },
        {
          name: "someone else's reply joins a thread case, and its author's follow-up in it too",
          posts: [reply('p1', 'root', { contact: 2 }), reply('p1', 'root', { label: 'none', contact: 7 })],
          work: { threadCases: [threadCase(3, 'p1', 'root', MIN, 7)] },
          actions: [
            ['case-attached', '#3'],
            ['case-attached', '#3'],
          ],
          touched: [[3, 'normal']],
        },
        {
          name: "a batch thread keeps the case's contact: the other's follow-up is only recorded",
          posts: [reply('p1', 'root', { contact: 2 }), reply('p1', 'root', { label: 'none', contact: 2 })],
          work: { threadCases: [threadCase(3, 'p1', 'root', MIN, 7)] },
          actions: [
            ['case-attached', '#3'],
            ['recorded', null],
          ],
          touched: [[3, 'normal']],
        },
        {
          name: "a complaint and its author's follow-up in one batch: one new case",
          posts: [
            { label: 'case', externalId: 'c1' },
            { label: 'none', inReplyTo: 'c1' },
          ],
          actions: [
            ['case-created', 'new0'],
            ['case-attached', 'new0'],
          ],
        },
        {
          name: 'a complaint joins the open case; a follow-up to it joins too',
          posts: [
            { label: 'case', externalId: 'c1' },
            { label: 'none', inReplyTo: 'c1' },
          ],
          work: { openCases: [openCase(7, MIN)] },
          actions: [
            ['case-attached', '#7'],
            ['case-attached', '#7'],
          ],
          touched: [[7, 'normal']],
        },
        {
          name: "a reply joins the contact's open case; a later post of its conversation follows it there",
          posts: [
            { label: 'case', inReplyTo: 'x1', conversationId: 'conv' },
            { label: 'none', inReplyTo: 'x2', conversationId: 'conv' },
          ],
          work: { openCases: [openCase(7, MIN)] },
          actions: [
            ['case-attached', '#7'],
            ['case-attached', '#7'],
          ],
          touched: [[7, 'normal']],
        },
        // escalation of stored cases
        {
          name: 'a more urgent later post escalates',
          posts: [complaint, { label: 'case', priority: 'urgent' }],
          work: { openCases: [openCase(7, MIN)] },
          actions: [
            ['case-attached', '#7'],
            ['case-attached', '#7'],
          ],
          touched: [[7, 'urgent']],
        },
        {
          name: 'a less urgent later post does not lower',
          posts: [
            { label: 'case', priority: 'high' },
            { label: 'case', priority: 'low' },
          ],
          work: { openCases: [openCase(7, MIN)] },
          actions: [
            ['case-attached', '#7'],
            ['case-attached', '#7'],
          ],
          touched: [[7, 'high']],
        },
      ] satisfies Row[]
    ).map((r) => [r.name, r] as const),
  )('%s', (_name, row) => {
    const r = run(row.posts, row.work, row.opts);
    expect(r.actions).toEqual(row.actions);
    expect(r.touched).toEqual(row.touched ?? []);
    expect(r.reopened).toEqual(row.reopened ?? []);
  });

  it('gives a new case the priority and reason of casePriority over its contact facts', () => {
    const facts = { contactId: 1, relationship: 'customer', entitlement: null, openCases: 0 };
    const { plan } = run([{ label: 'case', priority: 'high' }], { priorityFacts: [facts, { ...facts, contactId: 2, relationship: null }] });
    expect(plan.newCases).toHaveLength(1);
    expect(plan.newCases[0]).toMatchObject({ contactId: 1, priority: 'urgent', priorityReason: 'default priority: high; customer account +1 → urgent' });
    expect(plan.newCases[0]!.post).toBe(plan.posts[0]!.post);
  });
});

describe('planWork: leads and everything else', () => {
  type Row = {
    name: string;
    posts: LiveSpec[];
    work?: Partial<OpenWork>;
    actions: [CaptureAction, string | null][];
    leadTouches?: [number, number][];
    caseTouches?: (number | Priority | null)[][];
  };
  const complaintThread: Partial<OpenWork> = { threadCases: [threadCase(3, 'p1', 'root', MIN, 1)] };
  it.each(
    (
      [
        { name: 'a lead post, no open lead: a new lead', posts: [{ label: 'lead' }], actions: [['lead-created', 'new0']] },
        {
          name: "a lead post, the contact's open lead: attached",
          posts: [{ label: 'lead', score: 2 }],
          work: { openLeads: [{ id: 11, contactId: 1 }] },
          actions: [['lead-attached', '#11']],
          leadTouches: [[11, 2]],
        },
        {
          name: "another contact's open lead: a new lead",
          posts: [{ label: 'lead' }],
          work: { openLeads: [{ id: 11, contactId: 2 }] },
          actions: [['lead-created', 'new0']],
        },
        {
          name: 'two lead posts on an open lead: the best score',
          posts: [
            { label: 'lead', score: 3 },
            { label: 'lead', score: 5 },
            { label: 'lead', score: 4 },
          ],
          work: { openLeads: [{ id: 11, contactId: 1 }] },
          actions: [
            ['lead-attached', '#11'],
            ['lead-attached', '#11'],
            ['lead-attached', '#11'],
          ],
          leadTouches: [[11, 5]],
        },
        {
          name: 'two lead posts, no open lead: one new lead',
          posts: [{ label: 'lead' }, { label: 'lead' }],
          actions: [
            ['lead-created', 'new0'],
            ['lead-attached', 'new0'],
          ],
        },
        {
          name: 'a lead reply in the contact’s case thread stays a lead',
          posts: [{ label: 'lead', inReplyTo: 'p1' }],
          work: complaintThread,
          actions: [['lead-created', 'new0']],
        },
        {
          name: "a follow-up without problem words in the author's own case thread: attached",
          posts: [{ label: 'none', inReplyTo: 'p1' }],
          work: complaintThread,
          actions: [['case-attached', '#3']],
          caseTouches: [[3, null]],
        },
        {
          name: 'a follow-up after a complaint on that case keeps its urgency',
          posts: [
            { label: 'case', inReplyTo: 'p1', priority: 'high' },
            { label: 'none', inReplyTo: 'p1' },
          ],
          work: complaintThread,
          actions: [
            ['case-attached', '#3'],
            ['case-attached', '#3'],
          ],
          caseTouches: [[3, 'high']],
        },
        {
          name: "chatter in another contact's case thread: recorded",
          posts: [{ label: 'none', contact: 2, inReplyTo: 'p1' }],
          work: complaintThread,
          actions: [['recorded', null]],
        },
        {
          name: 'chatter by an author with no contact in a case thread: recorded',
          posts: [{ label: 'none', contact: null, inReplyTo: 'p1' }],
          work: complaintThread,
          actions: [['recorded', null]],
        },
        { name: 'chatter, no thread: recorded', posts: [{ label: 'none' }], actions: [['recorded', null]] },
        { name: 'a suppressed post: suppressed', posts: [{ label: 'none', suppressed: 'retweet' }], actions: [['suppressed', null]] },
      ] satisfies Row[]
    ).map((r) => [r.name, r] as const),
  )('%s', (_name, row) => {
    const { plan, actions } = run(row.posts, row.work);
    expect(actions).toEqual(row.actions);
    expect([...plan.leadTouches]).toEqual(row.leadTouches ?? []);
    expect([...plan.caseTouches].map(([id, d]) => [id, d?.priority ?? null])).toEqual(row.caseTouches ?? []);
    expect(plan.newCases).toHaveLength(0);
  });

  it('records each post with its contact and decision, in post order', () => {
    const { plan } = run([
      { label: 'none', contact: null },
      { label: 'lead', contact: 4 },
    ]);
    expect(plan.posts.map((p) => [p.contactId, p.decision.label])).toEqual([
      [null, 'none'],
      [4, 'lead'],
    ]);
    expect(plan.newLeads.map((l) => l.contactId)).toEqual([4]);
  });
});

describe('suppression', () => {
  const own = { twitter: ['@AcmeSupport', 'acme', '777'], facebook: ['1122334455'] };
  it.each<[string, Partial<CapturePost>, Partial<CaptureIdentity>, Partial<CaptureOptions>, Suppression | null]>([
    ['an ordinary post', {}, {}, { ownAccounts: own }, null],
    ['no own accounts configured', {}, { handle: 'acme' }, {}, null],
    ['an own handle, any case, @ in the config', {}, { handle: 'acmesupport' }, { ownAccounts: own }, 'own account'],
    ['an own handle in capitals with @', {}, { handle: '@ACME' }, { ownAccounts: own }, 'own account'],
    ['an own user id', {}, { externalUserId: '777', handle: 'renamed' }, { ownAccounts: own }, 'own account'],
    ['an own user id, no handle', { platform: 'facebook' }, { externalUserId: '1122334455', handle: null }, { ownAccounts: own }, 'own account'],
    ["the other platform's own account", { platform: 'facebook' }, { handle: 'acme' }, { ownAccounts: own }, null],
    ['a handle that only contains an own one', {}, { handle: 'acme_fan' }, { ownAccounts: own }, null],
    ['a retweet', { isRetweet: true }, {}, {}, 'retweet'],
    ['a retweet from a source that captures retweets', { isRetweet: true, sourceId: 'rt' }, {}, { captureRetweetSources: new Set(['rt']) }, null],
    ['a retweet from another source', { isRetweet: true, sourceId: 'src' }, {}, { captureRetweetSources: new Set(['rt']) }, 'retweet'],
    ['an own account retweeting', { isRetweet: true }, { handle: 'acme' }, { ownAccounts: own }, 'own account'],
  ])('%s', (_name, p, i, opts, want) => {
    expect(suppression(post(p), identity(i), { ...OPTS, ...opts })).toBe(want);
  });
});

describe('triage', () => {
  /** The classifier stand-in: the text names the label (and a case's priority). */
  const calls: ClassifierInput[] = [];
  const decide = (input: ClassifierInput): Decision => {
    calls.push(input);
    const [label, priority] = input.text.split(':') as [Label, Priority | undefined];
    return decision(label, label === 'case' ? (priority ?? 'normal') : null, { priorityRule: priority ? 'r' : null });
  };
  const ids = (...xs: CaptureIdentity[]) => new Map(xs.map((x) => [x.id, x]));

  it.each<[string, Partial<CapturePost>, CaptureIdentity[], 'decided' | 'rejected' | 'live', string | null]>([
    ['a processed post is left as it is', { status: 'processed' }, [identity()], 'decided', null],
    ['a failed post is left as it is', { status: 'failed' }, [identity()], 'decided', null],
    ['a post with no author identity', { identityId: null }, [identity()], 'rejected', 'post has no author identity'],
    ['a post whose identity is gone', { identityId: 9 }, [identity()], 'rejected', 'post author identity is missing'],
    ['a pending post with its author', {}, [identity()], 'live', null],
  ])('%s', (_name, p, identities, where, reason) => {
    const t = triage([post(p)], ids(...identities), decide, OPTS);
    expect({ decided: t.decided.length, rejected: t.rejected.length, live: t.live.length }).toEqual({
      decided: where === 'decided' ? 1 : 0,
      rejected: where === 'rejected' ? 1 : 0,
      live: where === 'live' ? 1 : 0,
    });
    expect(t.rejected[0]?.reason ?? null).toBe(reason);
  });

  it.each<[string, string, Partial<CapturePost>, Partial<CaptureIdentity>, boolean, Label, Suppression | null]>([
    ['a lead by an author without a contact needs one', 'lead', {}, {}, true, 'lead', null],
    ['a case by an author without a contact needs one', 'case:high', {}, {}, true, 'case', null],
    ['chatter needs no contact', 'none', {}, {}, false, 'none', null],
    ['an author with a contact needs none', 'case', {}, { contactId: 5 }, false, 'case', null],
    ['a suppressed case becomes none and needs no contact', 'case:urgent', { isRetweet: true }, {}, false, 'none', 'retweet'],
  ])('%s', (_name, text, p, i, needs, label, suppressed) => {
    const t = triage([post({ text, ...p })], ids(identity(i)), decide, OPTS);
    expect(t.needContact.length).toBe(needs ? 1 : 0);
    expect(t.live[0]!.decision.label).toBe(label);
    expect(t.live[0]!.suppressed).toBe(suppressed);
    if (suppressed) expect(t.live[0]!.decision).toMatchObject({ priority: null, priorityRule: null, suppressed });
  });

  it('asks for one contact per author, with their last post (its e-mail is the one matched)', () => {
    const posts = [
      post({ text: 'lead', email: 'a@x' }),
      post({ text: 'none', email: 'b@x' }),
      post({ text: 'case', email: 'c@x' }),
      post({ text: 'lead', identityId: 2 }),
    ];
    const t = triage(posts, ids(identity(), identity({ id: 2 })), decide, OPTS);
    expect(t.needContact.map((l) => [l.identity.id, l.post.email])).toEqual([
      [1, 'c@x'],
      [2, null],
    ]);
    expect(t.live.map((l) => l.post.id)).toEqual(posts.map((p) => p.id));
  });

  it.each<[string, Partial<CapturePost>, Partial<ClassifierInput>]>([
    ['a root post', { conversationId: null }, { isReply: false }],
    ['its own conversation', { externalId: 'r', conversationId: 'r' }, { isReply: false }],
    ['a reply to a parent', { inReplyTo: 'p' }, { isReply: true }],
    ['a post in another conversation', { externalId: 'x', conversationId: 'r' }, { isReply: true }],
    ['language and followers passed when known', { lang: 'de', followers: 12 }, { lang: 'de', followers: 12 }],
  ])('classifies %s', (_name, p, want) => {
    calls.length = 0;
    triage([post({ text: 'none', ...p })], ids(identity()), decide, OPTS);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ text: 'none', platform: 'twitter', ...want });
    if (!('lang' in want)) expect(calls[0]).not.toHaveProperty('lang');
    if (!('followers' in want)) expect(calls[0]).not.toHaveProperty('followers');
  });
});

describe('planContacts: which contact', () => {
  const wantOf = (i: Partial<CaptureIdentity>, email: string | null = null): LivePost => ({
    post: post({ email }),
    identity: identity(i),
    decision: decision('lead'),
    suppressed: null,
  });
  const handles = [
    { platform: 'twitter' as const, handle: 'jane_doe', contactId: 10 },
    { platform: 'facebook' as const, handle: 'jane.fb', contactId: 11 },
  ];
  const emails = [{ id: 12, email: 'jane@example.com' }];
  type Link = number | `new${number}`;

  it.each<[string, LivePost[], Link[], { name: string | null; email: string | null }[]]>([
    ['by handle on the platform, any case, with @', [wantOf({ handle: '@Jane_Doe' })], [10], []],
    ['not by a handle stored for the other platform', [wantOf({ handle: 'jane.fb' })], ['new0'], [{ name: 'Sam', email: null }]],
    ['by e-mail, any case', [wantOf({ handle: 'x' }, 'JANE@example.com')], [12], []],
    ['the handle before the e-mail', [wantOf({ handle: 'jane_doe' }, 'jane@example.com')], [10], []],
    ['never by display name: a new contact named after it', [wantOf({ handle: 'other', name: 'Jane Doe' })], ['new0'], [{ name: 'Jane Doe', email: null }]],
    ['no name: the handle names the new contact', [wantOf({ handle: 'Nameless', name: null })], ['new0'], [{ name: 'Nameless', email: null }]],
    [
      'two new authors with one e-mail share a contact',
      [wantOf({ id: 1, handle: 'a' }, 'Same@x'), wantOf({ id: 2, handle: 'b' }, 'same@x')],
      ['new0', 'new0'],
      [{ name: 'Sam', email: 'same@x' }],
    ],
    [
      'two new authors without e-mail: two contacts',
      [wantOf({ id: 1, handle: 'a' }), wantOf({ id: 2, handle: 'b' })],
      ['new0', 'new1'],
      [
        { name: 'Sam', email: null },
        { name: 'Sam', email: null },
      ],
    ],
    ['a non-string e-mail is ignored', [{ ...wantOf({ handle: 'x' }), post: post({ email: 42 }) }], ['new0'], [{ name: 'Sam', email: null }]],
  ])('%s', (_name, needContact, links, create) => {
    const plan = planContacts(contactsWanted(needContact), handles, emails);
    expect(plan.links.map((l) => l.identityId)).toEqual(needContact.map((n) => n.identity.id));
    expect(plan.links.map((l) => (l.contact.kind === 'existing' ? l.contact.id : `new${l.contact.index}`))).toEqual(links);
    expect(plan.create).toEqual(create);
  });

  it('asks the store for normalized handles and e-mails', () => {
    expect(contactsWanted([wantOf({ handle: '@Jane_Doe' }, 'JANE@Example.com'), wantOf({ handle: null })]).map((w) => [w.handle, w.email])).toEqual([
      ['jane_doe', 'jane@example.com'],
      [null, null],
    ]);
  });
});

describe('casePriority', () => {
  const f = (p: Partial<PriorityFacts>): PriorityFacts => ({ relationship: null, entitlement: null, openCases: 0, ...p });
  it.each<[string, Priority | null, string | null, PriorityFacts | undefined, Priority, string]>([
    ['no facts, no rule', null, null, undefined, 'normal', 'default priority: normal'],
    ['a rule', 'high', 'outage', undefined, 'high', 'rule outage: high'],
    ['a prospect', null, null, f({ relationship: 'prospect' }), 'normal', 'default priority: normal'],
    ['a customer', null, null, f({ relationship: 'customer' }), 'high', 'default priority: normal; customer account +1 → high'],
    ['a partner', 'low', 'minor', f({ relationship: 'partner' }), 'normal', 'rule minor: low; partner account +1 → normal'],
    ['an entitlement', null, null, f({ entitlement: 'Gold' }), 'high', 'default priority: normal; entitlement "Gold" +1 → high'],
    ['one other open case', null, null, f({ openCases: 1 }), 'normal', 'default priority: normal'],
    ['two other open cases', null, null, f({ openCases: 2 }), 'high', 'default priority: normal; 2 other open cases +1 → high'],
    [
      'all three from low',
      'low',
      'minor',
      f({ relationship: 'customer', entitlement: 'Gold', openCases: 3 }),
      'urgent',
      'rule minor: low; customer account +1; entitlement "Gold" +1; 3 other open cases +1 → urgent',
    ],
    [
      'never above urgent',
      'high',
      'outage',
      f({ relationship: 'customer', entitlement: 'Gold' }),
      'urgent',
      'rule outage: high; customer account +1; entitlement "Gold" +1 → urgent',
    ],
  ])('%s', (_name, priority, priorityRule, facts, want, reason) => {
    expect(casePriority({ priority, priorityRule }, facts)).toEqual({ priority: want, reason });
  });
});

describe('moreUrgent', () => {
  const d = (p: Priority | null, id: string) => decision('case', p, { rulesetVersion: id });
  it.each<[string, Decision | null, Decision, string]>([
    ['nothing yet: the new one', null, d('low', 'b'), 'b'],
    ['a more urgent new one', d('normal', 'a'), d('high', 'b'), 'b'],
    ['a less urgent new one', d('urgent', 'a'), d('high', 'b'), 'a'],
    ['a tie: the earlier', d('high', 'a'), d('high', 'b'), 'a'],
    ['no priority ranks as low', d(null, 'a'), d('low', 'b'), 'a'],
    ['low below normal', d(null, 'a'), d('normal', 'b'), 'b'],
  ])('%s', (_name, a, b, want) => {
    expect(moreUrgent(a, b).rulesetVersion).toBe(want);
  });
});
