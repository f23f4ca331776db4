import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/classifier/index.js';
import { captureBatch, type CaptureOptions } from '../../src/db/capture.repo.js';
import { forgetPerson, mergeContacts, qualifyLead, transitionCase, undoMerge, winOpportunity } from '../../src/db/crm.repo.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { GoneError } from '../../src/errors.js';
import { appendEvents, pruneEvents, readFeed, type EventMessage } from '../../src/db/outbox.repo.js';
import { addEndpoint, claimDeliveries, fanOut, removeEndpoint } from '../../src/db/webhooks.repo.js';
import type { SocialPost } from '../../src/types.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, TEST_RULES } from '../support/services.js';

const OPTS: CaptureOptions = {
  caseWindowMs: 7 * 86_400_000,
  reopenWindowMs: 3 * 86_400_000,
  slaMs: { urgent: 3_600_000, high: 86_400_000, normal: 3 * 86_400_000, low: 7 * 86_400_000 },
};

describe('the outbox', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    db = await createTestDatabase('outbox');
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function capture(...posts: SocialPost[]) {
    await storePage(db.database.sql, 'outbox-test', posts, null);
    return captureBatch(
      db.database.sql,
      posts.map((p) => ({ platform: p.platform, externalId: p.id })),
      (i) => classify(i, TEST_RULES),
      OPTS,
    );
  }

  /** Every event of one record, from the table, in sequence. */
  async function eventsOf(aggregate: string, id: number) {
    return db.database.sql<{ type: string; sequence: number; data: Record<string, unknown>; change: Record<string, unknown> | null }[]>`
      select type, sequence, data, change from events where aggregate_type = ${aggregate} and aggregate_id = ${id} order by sequence`;
  }

  async function drainFeed(after?: string, types?: string[]): Promise<{ events: EventMessage[]; next: string }> {
    const all: EventMessage[] = [];
    let cursor = after;
    for (;;) {
      const page = await readFeed(db.database.sql, { after: cursor, types, limit: 7 });
      all.push(...page.events);
      if (page.events.length === 0) return { events: all, next: page.next };
      cursor = page.next;
    }
  }

  it('writes the events of a capture batch with the records as the API shows them, in one transaction', async () => {
    const complaint = makePost({ text: 'internet not working, outage again', authorId: '701', handle: 'ann' });
    const lead = makePost({ text: 'how much is the premium plan?', authorId: '702', handle: 'bob' });
    const chatter = makePost({ text: 'lovely weather today', authorId: '703' });
    const followUp = makePost({ text: 'still down again, outage', authorId: '701', handle: 'ann' });
    const r = await capture(complaint, lead, chatter, followUp);
    const c = r.get(`x-${complaint.id}`) as { caseId: number; contactId: number };
    const l = r.get(`x-${lead.id}`) as { leadId: number; contactId: number };

    const caseEvents = await eventsOf('case', c.caseId);
    expect(caseEvents.map((e) => [e.type, e.sequence])).toEqual([
      ['case.created', 1],
      ['case.post_attached', 2],
    ]);
    const [row] = await db.database.sql`select id, title, status, priority, contact_id from cases where id = ${c.caseId}`;
    expect(caseEvents[0]!.data).toMatchObject({
      id: row!.id,
      title: row!.title,
      status: row!.status,
      priority: row!.priority,
      contactId: row!.contact_id,
      posts: 2,
    });
    expect(caseEvents[1]!.change).toMatchObject({ post: { externalId: followUp.id } });
    // one snapshot per record and statement: both events show the case as the batch left it
    expect(caseEvents[1]!.data).toEqual(caseEvents[0]!.data);

    expect((await eventsOf('lead', l.leadId)).map((e) => e.type)).toEqual(['lead.created']);
    for (const contactId of [c.contactId, l.contactId]) {
      expect((await eventsOf('contact', contactId)).map((e) => e.type)).toEqual(['contact.created']);
    }
    // chatter makes no contact and no event
    const [{ n }] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from events`.then((x) => x as unknown as [{ n: number }]);
    expect(n).toBe(5);
  });

  it("numbers each record's events 1, 2, 3… across transitions, and escalation publishes case.priority_changed", async () => {
    const first = makePost({ text: 'I was charged twice, refund please', authorId: '711' });
    const r = await capture(first);
    const caseId = (r.get(`x-${first.id}`) as { caseId: number }).caseId;
    await capture(makePost({ text: 'charged twice and now not working', authorId: '711' })); // the outage rule is high
    await capture(makePost({ text: 'refund please', authorId: '711' })); // no change of priority: no event
    await transitionCase(db.database.sql, caseId, 'start');
    await transitionCase(db.database.sql, caseId, 'resolve');
    await capture(makePost({ text: 'refund? charged twice again', authorId: '711' })); // reopens
    const events = await eventsOf('case', caseId);
    expect(events.map((e) => e.type)).toEqual([
      'case.created',
      'case.post_attached',
      'case.priority_changed',
      'case.post_attached',
      'case.status_changed',
      'case.status_changed',
      'case.status_changed',
      'case.post_attached',
    ]);
    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events[2]!.change).toEqual({ field: 'priority', from: 'normal', to: 'high' });
    expect(events[2]!.data).toMatchObject({ id: caseId, priority: 'high', posts: 2 });
    expect(events.filter((e) => e.type === 'case.status_changed').map((e) => e.change)).toEqual([
      { from: 'new', to: 'in_progress', action: 'started' },
      { from: 'in_progress', to: 'resolved', action: 'resolved' },
      { from: 'resolved', to: 'in_progress', action: 'reopened' },
    ]);
  });

  it('publishes lead, opportunity and merge transitions, and a failed transition publishes nothing', async () => {
    const p = makePost({ text: 'price of a demo?', authorId: '721' });
    const r = await capture(p);
    const { leadId, contactId } = r.get(`x-${p.id}`) as { leadId: number; contactId: number };
    const q = await qualifyLead(db.database.sql, leadId, { opportunity: { name: 'Deal', estimatedValue: 10 } });
    await expect(qualifyLead(db.database.sql, leadId, {})).rejects.toThrow(/qualified/);
    await winOpportunity(db.database.sql, q.opportunity.id as number, { actualValue: 12 });
    expect((await eventsOf('lead', leadId)).map((e) => e.type)).toEqual(['lead.created', 'lead.qualified']);
    const opp = await eventsOf('opportunity', q.opportunity.id as number);
    expect(opp.map((e) => [e.type, e.data.status, e.data.estimatedValue])).toEqual([['opportunity.won', 'won', 12]]);

    const other = makePost({ text: 'outage again', authorId: '722' });
    const otherContact = ((await capture(other)).get(`x-${other.id}`) as { contactId: number }).contactId;
    const m = await mergeContacts(db.database.sql, contactId, otherContact);
    await undoMerge(db.database.sql, m.mergeId);
    const merged = await eventsOf('contact', otherContact);
    expect(merged.map((e) => e.type)).toEqual(['contact.created', 'contact.merged', 'contact.unmerged']);
    expect(merged[1]!.data.mergedIntoId).toBe(contactId);
    expect(merged[2]!.data.mergedIntoId).toBeNull();
  });

  it("erasure scrubs the person's stored events and publishes contact.erased with ids only", async () => {
    const p = makePost({ text: 'outage, not working at all', authorId: '731', handle: 'erin_secret' });
    const r = await capture(p, makePost({ text: 'how much is it', authorId: '731', handle: 'erin_secret' }));
    const { caseId, contactId } = r.get(`x-${p.id}`) as { caseId: number; contactId: number };
    const before = await db.database.sql`select data::text from events where data::text like '%erin_secret%' or data::text like '%outage, not working%'`;
    expect(before.length).toBeGreaterThan(0);
    await forgetPerson(db.database.sql, 'twitter', '731', 'anonymize');
    const after = await db.database
      .sql`select id from events where data::text like '%erin_secret%' or data::text like '%outage, not working%' or change::text like '%erin%'`;
    expect(after).toEqual([]);
    const erased = (await eventsOf('contact', contactId)).at(-1)!;
    expect(erased.type).toBe('contact.erased');
    expect(erased.data).toEqual({ id: contactId, erased: true });
    expect(erased.change).toMatchObject({ cases: [caseId] });
    expect((await eventsOf('case', caseId)).every((e) => e.data.erased === true)).toBe(true);
  });

  it('a delivery still pending when the person is erased sends the scrubbed event', async () => {
    const sql = db.database.sql;
    const ep = await addEndpoint(sql, { url: 'http://127.0.0.1:9/unreachable', events: 'case.*' });
    const p = makePost({ text: 'outage, nothing is working', authorId: '741', handle: 'gus_private' });
    await capture(p);
    await fanOut(sql, ep.id);
    const owed = await sql<{ id: number; type: string }[]>`
      select d.id, e.type from webhook_deliveries d join events e on e.id = d.event_id where d.endpoint_id = ${ep.id} and d.status = 'pending'`;
    expect(owed.map((d) => d.type)).toEqual(['case.created']);
    const pending = owed[0];
    await forgetPerson(sql, 'twitter', '741', 'anonymize');
    const [sent] = await claimDeliveries(sql, ep.id, 128, 60_000);
    expect(sent!.id).toBe(pending!.id);
    const claimed = { event: JSON.parse(sent!.body) as EventMessage };
    expect(claimed!.event.type).toBe('case.created');
    expect(claimed!.event.data).toEqual({ id: claimed!.event.aggregate.id, erased: true });
    expect(JSON.stringify(claimed!.event)).not.toMatch(/gus_private|nothing is working/);
    await removeEndpoint(sql, ep.id);
  });

  it('serves the pull feed in commit order by type, and its cursor resumes where it stopped', async () => {
    const { events, next } = await drainFeed();
    const [{ n }] = (await db.database.sql`select count(*)::int as n from events`) as unknown as [{ n: number }];
    expect(events.length).toBe(n);
    expect(new Set(events.map((e) => e.id)).size).toBe(n);
    const cases = await drainFeed(undefined, ['case.*', 'lead.created']);
    expect(cases.events.length).toBeGreaterThan(0);
    expect(cases.events.every((e) => e.type.startsWith('case.') || e.type === 'lead.created')).toBe(true);
    expect(cases.events.map((e) => e.id)).toEqual(events.filter((e) => e.type.startsWith('case.') || e.type === 'lead.created').map((e) => e.id));
    // nothing new: the cursor stays
    expect((await readFeed(db.database.sql, { after: next, limit: 10 })).events).toEqual([]);
    await expect(readFeed(db.database.sql, { types: ['case.nope'], limit: 1 })).rejects.toThrow(/case.nope/);
  });

  it('never skips an event whose transaction commits after later ones, read concurrently with the writers', async () => {
    const sql = db.database.sql;
    const start = (await drainFeed()).next;
    const WRITERS = 6;
    const PER_WRITER = 15;
    let writing = true;
    const seen: EventMessage[] = [];
    const reader = (async () => {
      let cursor = start;
      for (;;) {
        const done = !writing;
        const page = await readFeed(sql, { after: cursor, limit: 5 });
        seen.push(...page.events);
        cursor = page.next;
        if (done && page.events.length === 0) return;
      }
    })();
    // Each writer's transaction appends its event and then stays open a little while others commit:
    // the events commit out of insertion order.
    await Promise.all(
      Array.from({ length: WRITERS }, (_, w) =>
        (async () => {
          for (let i = 0; i < PER_WRITER; i++) {
            await sql.begin(async (tx) => {
              await appendEvents(tx, [{ type: 'feedback.recorded', aggregateId: 1_000 + w, data: { id: 1_000 + w, i } }]);
              await tx`select pg_sleep(${((w * 7 + i * 3) % 5) / 100})`;
            });
          }
        })(),
      ),
    );
    writing = false;
    await reader;
    const written = await sql<{ id: string }[]>`select id from events where aggregate_type = 'feedback' and aggregate_id >= 1000`;
    expect(written.length).toBe(WRITERS * PER_WRITER);
    expect(seen.map((e) => e.id).sort()).toEqual(written.map((e) => e.id).sort());
    // each record's events in sequence
    for (let w = 0; w < WRITERS; w++) {
      const seqs = seen.filter((e) => e.aggregate.id === 1_000 + w).map((e) => e.aggregate.sequence);
      expect(seqs).toEqual(Array.from({ length: PER_WRITER }, (_, i) => i + 1));
    }
  });

  // Last: it deletes events the tests above read.
  it('prunes events past their retention, never one a webhook still owes, and a feed cursor older than what was pruned gets a 410', async () => {
    const sql = db.database.sql;
    const ep = await addEndpoint(sql, { url: 'http://127.0.0.1:9/unreachable', events: 'lead.created' });
    const owedPost = makePost({ text: 'how much is the team plan?', authorId: '751' });
    await capture(owedPost);
    await fanOut(sql, ep.id);
    const [owed] = await sql<{ id: string }[]>`
      select d.event_id as id from webhook_deliveries d where d.endpoint_id = ${ep.id} and d.status = 'pending'`;
    const { next: before } = await drainFeed();
    // everything so far is 40 days old, then two young events
    await sql`update events set occurred_at = now() - interval '40 days'`;
    await sql.begin((tx) => appendEvents(tx, [{ type: 'feedback.recorded', aggregateId: 9_001, data: { id: 9_001 } }]));
    await sql.begin((tx) => appendEvents(tx, [{ type: 'feedback.recorded', aggregateId: 9_002, data: { id: 9_002 } }]));
    const total = (await sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;

    const deleted = await pruneEvents(sql, 30 * 86_400_000, 7); // small pages: the walk goes on past the first
    const left = await sql<{ id: string; aggregate_id: number }[]>`select id, aggregate_id from events order by feed_position`;
    expect(deleted).toBe(total - 3);
    expect(left.map((e) => e.id)).toEqual([owed!.id, ...left.slice(1).map((e) => e.id)]);
    expect(left.slice(1).map((e) => Number(e.aggregate_id))).toEqual([9_001, 9_002]);
    expect(await pruneEvents(sql, 30 * 86_400_000, 7)).toBe(0);

    // a reader that had read everything before the pruning goes on; one behind what was pruned is told
    expect((await readFeed(sql, { after: before, limit: 10 })).events.map((e) => e.aggregate.id)).toEqual([9_001, 9_002]);
    await expect(readFeed(sql, { after: '1', limit: 10 })).rejects.toThrow(GoneError);
    expect((await readFeed(sql, { limit: 10 })).events.length).toBe(3);
    await removeEndpoint(sql, ep.id);
  });
});
