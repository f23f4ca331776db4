import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRuleset } from '../../src/classifier/index.js';
import { feedbackExamples } from '../../src/db/feedback.repo.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { silentLogger } from '../../src/logger.js';
import type { SocialPost } from '../../src/types.js';
import { startService, type Service } from '../../src/service.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport, type Transport } from '../../src/workers/queues.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, createTestTransport, testConfig, waitFor } from '../support/services.js';

const TOKEN = 'test-feedback-token';
// The pipeline's test rules plus one rule against a label, so the report's sense of "right" is checked both ways.
const RULES = parseRuleset(
  `name: feedback-test
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buying, label: lead, weight: 2, any: ["how much", "price", "demo"] }
  - { id: outage, label: case, weight: 2, any: ["not working", "outage"] }
  - { id: refund, label: case, weight: 2, any: ["refund"] }
  - { id: thanks, label: case, weight: -1, any: ["thanks"] }
`,
  'feedback.test.ts',
);

describe('label feedback and the rules report over HTTP', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service;
  let base: string;
  /** Post ids (social_posts.id) by name, and the lead and case they made. */
  const ids: Record<string, number> = {};
  let leadId: number;
  let caseId: number;

  async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
  }

  async function capture(posts: SocialPost[]) {
    const stored = await storePage(db.database.sql, 'feedback-test', posts, null);
    await enqueuePosts(service.postsQueue, stored.inserted, 3);
    return waitFor(
      async () => {
        const rows = await db.database.sql<{ id: number; externalId: string; leadId: number | null; caseId: number | null; status: string }[]>`
          select id, external_id as "externalId", lead_id as "leadId", case_id as "caseId", status
          from social_posts where external_id = any(${posts.map((p) => p.id)})`;
        return rows.length === posts.length && rows.every((r) => r.status === 'processed') ? rows : null;
      },
      { what: 'posts decided' },
    );
  }

  beforeAll(async () => {
    db = await createTestDatabase('feedback');
    transport = createTestTransport('redis', db.url, 'feedback');
    const config = { ...testConfig(), port: 0, secrets: { apiToken: TOKEN } };
    service = await startService({ config, database: db.database, transport, ruleset: RULES, log: silentLogger, role: 'all' });
    base = service.api!.url.replace('0.0.0.0', '127.0.0.1');
    // One post at a time: the second case post must find the first one's case open to attach to it.
    const named: [string, SocialPost][] = [
      ['outage', makePost({ text: 'outage in my street again', authorId: '7002' })],
      ['refund', makePost({ text: 'and I want a refund for it', authorId: '7002' })],
      // Another lead first, so that the lead, case and contact ids of the corrected records differ.
      ['other-lead', makePost({ text: 'a demo for my class please', authorId: '7005' })],
      ['price', makePost({ text: 'how much is the price for a team?', authorId: '7001' })],
      ['broken', makePost({ text: 'the app is not working since monday', authorId: '7003' })],
      ['chatter', makePost({ text: 'lovely weather today', authorId: '7004' })],
      ['sarcasm', makePost({ text: 'outage again, thanks', authorId: '7006' })],
    ];
    for (const [name, post] of named) {
      const row = (await capture([post]))![0];
      ids[name] = row!.id;
      if (name === 'price') leadId = row!.leadId!;
      if (name === 'other-lead') expect(row!.leadId).not.toBeNull();
      if (name === 'outage') caseId = row!.caseId!;
    }
  });
  afterAll(async () => {
    await service?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
  });

  it('stores a correction of a post with who and when, 201 with the row as stored', async () => {
    const res = await api('POST', `/api/posts/${ids.chatter}/feedback`, { label: 'lead', note: 'asked about plans in a DM' }, { 'x-actor': 'agent-ana' });
    expect(res.status).toBe(201);
    const [stored] = await db.database.sql`select id, post_id as "postId", label, note, actor from label_feedback where id = ${res.body.id}`;
    expect(stored).toEqual({ id: res.body.id, postId: ids.chatter, label: 'lead', note: 'asked about plans in a DM', actor: 'agent-ana' });
    expect(res.body).toMatchObject(stored!);
    expect(new Date(res.body.createdAt).getTime()).not.toBeNaN();
    // Without the header the actor is the API itself; the note is optional.
    const bare = await api('POST', `/api/posts/${ids.chatter}/feedback`, { label: 'none' });
    expect(bare.status).toBe(201);
    expect(bare.body).toMatchObject({ postId: ids.chatter, label: 'none', note: null, actor: 'api' });
  });

  it.each([
    ['label', { label: 'spam' }],
    ['label', {}],
    ['note', { label: 'case', note: 'x'.repeat(2001) }],
    ['rating', { label: 'case', rating: 5 }],
  ])('refuses a bad body with a 400 naming %s, storing nothing', async (field, body) => {
    const before = await db.database.sql`select count(*)::int as n from label_feedback`;
    const res = await api('POST', `/api/posts/${ids.broken}/feedback`, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toContain(field);
    expect(await db.database.sql`select count(*)::int as n from label_feedback`).toEqual(before);
  });

  it.each(['posts', 'leads', 'cases'])('answers 404 naming id for an unknown %s id, and 400 for a bad one', async (kind) => {
    const missing = await api('POST', `/api/${kind}/987654/feedback`, { label: 'none' });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/\bid\b/);
    const bad = await api('POST', `/api/${kind}/abc/feedback`, { label: 'none' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('id');
  });

  it('refuses a request without the bearer token', async () => {
    const res = await fetch(`${base}/api/posts/${ids.price}/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"label":"none"}',
    });
    expect(res.status).toBe(401);
  });

  it('a correction of a lead or a case lands on every post that made it', async () => {
    const lead = await api('POST', `/api/leads/${leadId}/feedback`, { label: 'none', note: 'a student, not a buyer' });
    expect(lead.status).toBe(201);
    const casePosts = await db.database.sql<{ id: number }[]>`select id from social_posts where case_id = ${caseId} order by id`;
    expect(casePosts.map((p) => p.id)).toEqual([ids.outage, ids.refund]);
    const kase = await api('POST', `/api/cases/${caseId}/feedback`, { label: 'none' });
    expect(kase.status).toBe(201);
    expect(kase.body.map((r: { postId: number }) => r.postId)).toEqual([ids.outage, ids.refund]);
    const rows = await db.database
      .sql`select post_id as "postId", label from label_feedback where id = any(${[...lead.body, ...kase.body].map((r: { id: number }) => r.id)}) order by id`;
    expect(rows).toEqual([
      { postId: ids.price, label: 'none' },
      { postId: ids.outage, label: 'none' },
      { postId: ids.refund, label: 'none' },
    ]);
  });

  it('the latest correction of a post is its label, for eval and tune and for the report', async () => {
    expect((await api('POST', `/api/posts/${ids.broken}/feedback`, { label: 'none' })).status).toBe(201);
    expect((await api('POST', `/api/posts/${ids.broken}/feedback`, { label: 'case', note: 'no, it is a real outage' })).status).toBe(201);
    expect((await api('POST', `/api/posts/${ids.sarcasm}/feedback`, { label: 'none', note: 'a joke' })).status).toBe(201);
    const examples = await feedbackExamples(db.database.sql);
    expect(examples.map((e) => [e.postId, e.label])).toEqual([
      [ids.outage, 'none'],
      [ids.refund, 'none'],
      [ids.price, 'none'],
      [ids.broken, 'case'],
      [ids.chatter, 'none'],
      [ids.sarcasm, 'none'],
    ]);
    expect(examples.find((e) => e.postId === ids.broken)).toMatchObject({ text: 'the app is not working since monday', platform: 'twitter', isReply: false });

    const report = await api('GET', '/api/rules/report');
    expect(report.status).toBe(200);
    const byRule = Object.fromEntries(report.body.map((r: { rule: string }) => [r.rule, r]));
    // Fired counts are read off the stored decisions: compare with the database directly.
    const fired = await db.database.sql<{ rule: string; n: number }[]>`
      select r->>'id' as rule, count(*)::int as n from social_posts p cross join lateral jsonb_array_elements(p.decision->'rules') r group by 1`;
    for (const f of fired) expect(byRule[f.rule].fired).toBe(f.n);
    expect(byRule.outage).toMatchObject({ label: 'case', fired: 3, corrected: 3, right: 1, precision: 0.3333 });
    expect(byRule.outage.wrong.map((w: { postId: number }) => w.postId)).toEqual([ids.sarcasm, ids.outage]);
    // A rule against case, on a post corrected to none, pointed the right way.
    expect(byRule.thanks).toMatchObject({ label: 'case', fired: 1, corrected: 1, right: 1, precision: 1, wrong: [] });
    expect(byRule.outage.wrong[1]).toMatchObject({ decided: 'case', corrected: 'none', text: 'outage in my street again' });
    expect(byRule.buying).toMatchObject({ fired: 2, corrected: 1, right: 0, precision: 0 });
    expect(byRule.refund).toMatchObject({ fired: 1, corrected: 1, right: 0, precision: 0 });
  });
});
