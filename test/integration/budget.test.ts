import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApiServer } from '../../src/api/server.js';
import { DEFAULT_COST, parseConfigFile, type SourceConfig } from '../../src/config.js';
import { listSourcesWithSpend } from '../../src/db/read-models/sources.read.js';
import { sourceSpend } from '../../src/db/usage.repo.js';
import { silentLogger } from '../../src/logger.js';
import { startTwitterSimulator, type TwitterSimulator } from '../../src/sandbox/twitter.simulator.js';
import type { SocialPost } from '../../src/types.js';
import { connectorFor } from '../../src/service.js';
import { createPollProcessor } from '../../src/workers/poll.worker.js';
import { closeTransport, openQueue, POLL_JOB, POSTS_QUEUE, type CaptureJobData, type PollJobData, type Transport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport, testConfig } from '../support/services.js';

/** Cost counters per source and UTC day, and budgets that pause a source until the next billing month. */

let seq = 0;
function post(text: string): SocialPost {
  seq += 1;
  return { platform: 'twitter', id: `b-${seq}`, text, created_at: new Date().toISOString(), author: { id: String(800_000 + seq), handle: `b${seq}` } };
}

describe('cost and budget per source', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sim: TwitterSimulator;
  let transport: Transport;

  beforeAll(async () => {
    db = await createTestDatabase('budget');
    transport = createTestTransport('redis', db.url, 'budget');
  });
  afterAll(async () => {
    await closeTransport(transport);
    await db.drop();
  });
  afterEach(async () => {
    await sim?.close();
  });

  /** A poll processor over the sources of a config text, with a clock the test moves. */
  function processorFor(yaml: string, clock: { now: number }) {
    const file = parseConfigFile(yaml, 'test');
    const prices = {
      xPostReadUsd: file.cost.x_post_read_usd,
      xOwnMentionReadUsd: file.cost.x_own_mention_read_usd,
      monthlyCapPosts: file.cost.monthly_cap_posts,
      warnAt: file.cost.warn_at,
    };
    const endpoints = { twitter: { bearerToken: 'sandbox-token', baseUrl: sim.url }, timeoutMs: 5000 };
    const process = createPollProcessor({
      sql: db.database.sql,
      log: silentLogger,
      postsQueue: openQueue<CaptureJobData>(transport, POSTS_QUEUE),
      connectors: new Map(file.sources.map((s: SourceConfig) => [s.id, connectorFor(s, endpoints, silentLogger)])),
      attempts: 3,
      reconcileGraceMs: 60_000,
      cost: { sources: file.sources, prices },
      now: () => clock.now,
    });
    const poll = (sourceId: string) => process({ name: POLL_JOB, data: { sourceId } } as Job<PollJobData>);
    return { poll, sources: file.sources, prices };
  }
  const usage = async (sourceId: string) =>
    db.database.sql<{ day: string; requests: number; postsRead: number; postsCharged: number; costMicroUsd: number }[]>`
      select day::text, requests::int, posts_read::int as "postsRead", posts_charged::int as "postsCharged", cost_micro_usd::int as "costMicroUsd"
      from source_usage where source_id = ${sourceId} order by day`;
  const storedCount = async (sourceId: string) =>
    (await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where source_id = ${sourceId}`)[0]!.n;

  it('counts requests and posts read; a post read twice in one UTC day is charged once, at the price of its kind', async () => {
    sim = await startTwitterSimulator();
    const clock = { now: Date.now() };
    const { poll } = processorFor(
      `sources:
  - { id: spend-search, platform: twitter, kind: search, query: "spend q" }
  - { id: spend-mentions, platform: twitter, kind: mentions, user_id: "77" }
`,
      clock,
    );
    for (let i = 0; i < 12; i++) sim.publish({ search: 'spend q' }, post(`s${i}`));
    for (let i = 0; i < 4; i++) sim.publish({ mentions: '77' }, post(`m${i}`));
    await poll('spend-search');
    await poll('spend-search'); // the 10-minute overlap reads all 12 again
    await poll('spend-mentions');
    const [search] = await usage('spend-search');
    // what X returned, from the simulator's side: every search request and every post in them
    const served = sim.requests.filter((r) => r.path === '/2/tweets/search/recent');
    expect(search).toMatchObject({ requests: served.length, postsRead: 24, postsCharged: 12, costMicroUsd: 12 * 5000 });
    expect((await usage('spend-mentions'))[0]).toMatchObject({ requests: 1, postsRead: 4, postsCharged: 4, costMicroUsd: 4 * 1000 });
    // a new UTC day charges a re-read again
    clock.now += 86_400_000;
    await poll('spend-search');
    const days = await usage('spend-search');
    expect(days).toHaveLength(2);
    expect(days[1]).toMatchObject({ postsRead: 12, postsCharged: 12, costMicroUsd: 60_000 });
  });

  it('a source that reaches its budget pauses with health "budget exhausted", makes no request, and resumes next month', async () => {
    sim = await startTwitterSimulator();
    const clock = { now: Date.UTC(2026, 11, 30, 12) }; // 30 December: the next billing month is two days away
    const { poll, sources, prices } = processorFor(
      `sources:
  - { id: capped, platform: twitter, kind: search, query: "capped q", budget: { posts_per_month: 15 } }
`,
      clock,
    );
    for (let i = 0; i < 15; i++) sim.publish({ search: 'capped q' }, post(`c${i}`));
    expect(await poll('capped')).toMatchObject({ inserted: 15 });
    const spent = await sourceSpend(db.database.sql, sources, prices, clock.now);
    expect(spent[0]).toMatchObject({ postsChargedMonth: 15, spendUsdMonth: 0.075, budgetStatus: 'budget exhausted', resumesOn: '2027-01-01' });

    for (let i = 0; i < 3; i++) sim.publish({ search: 'capped q' }, post(`late c${i}`));
    const requestsBefore = sim.requests.length;
    expect(await poll('capped')).toEqual({ skipped: 'budget exhausted', until: '2027-01-01' });
    expect(sim.requests.length).toBe(requestsBefore); // paused: not one request
    expect(await storedCount('capped')).toBe(15);
    const [listed] = await listSourcesWithSpend(db.database.sql, sources, prices, 50, clock.now);
    expect(listed).toMatchObject({ id: 'capped', health: 'budget exhausted', budgetPostsPerMonth: 15, budgetUsed: 1 });

    clock.now = Date.UTC(2027, 0, 1, 0, 5); // the next billing month
    expect(await poll('capped')).toMatchObject({ inserted: 3 });
    expect(await storedCount('capped')).toBe(18);
    const [resumed] = await listSourcesWithSpend(db.database.sql, sources, prices, 50, clock.now);
    // the new month's spend is the posts this poll read: all 18 were within the overlap, so the
    // budget (checked before each poll) is used up again and the source waits for February
    expect(resumed).toMatchObject({ postsReadMonth: 18, postsChargedMonth: 18, spendUsdMonth: 0.09, health: 'budget exhausted', resumesOn: '2027-02-01' });
  });

  it('the account-wide cap pauses every X source once reached', async () => {
    sim = await startTwitterSimulator();
    const clock = { now: Date.UTC(2026, 11, 15) };
    const { poll } = processorFor(
      `cost: { monthly_cap_posts: 5 }
sources:
  - { id: cap-a, platform: twitter, kind: search, query: "cap a" }
  - { id: cap-b, platform: twitter, kind: search, query: "cap b" }
`,
      clock,
    );
    for (let i = 0; i < 5; i++) sim.publish({ search: 'cap a' }, post(`a${i}`));
    sim.publish({ search: 'cap b' }, post('b0'));
    await poll('cap-a');
    expect(await poll('cap-b')).toMatchObject({ skipped: 'budget exhausted' });
    expect(await storedCount('cap-b')).toBe(0);
    expect(DEFAULT_COST.monthlyCapPosts).toBe(3_000_000);
  });

  it("GET /api/sources shows each source's spend and budget as the counters hold them; a bad limit is a 400 naming it", async () => {
    sim = await startTwitterSimulator();
    const clock = { now: Date.now() };
    const { poll, sources, prices } = processorFor(
      `sources:
  - { id: api-spend, platform: twitter, kind: search, query: "api q", budget: { posts_per_month: 100 } }
`,
      clock,
    );
    for (let i = 0; i < 7; i++) sim.publish({ search: 'api q' }, post(`api${i}`));
    await poll('api-spend');
    const app = buildApiServer({
      sql: db.database.sql,
      postsQueue: openQueue<CaptureJobData>(transport, POSTS_QUEUE),
      config: { ...testConfig(), sources, cost: prices },
      log: silentLogger,
      apiToken: 'tok',
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/api/sources', headers: { authorization: 'Bearer tok' } });
      expect(res.statusCode).toBe(200);
      const [row] = await usage('api-spend');
      const listed = (res.json() as Record<string, unknown>[]).find((r) => r.id === 'api-spend');
      expect(listed).toMatchObject({
        health: 'ok',
        requestsToday: row!.requests,
        postsReadMonth: row!.postsRead,
        spendUsdMonth: row!.costMicroUsd / 1e6,
        budgetPostsPerMonth: 100,
        budgetUsed: 0.07,
        budgetStatus: 'ok',
      });
      const bad = await app.inject({ method: 'GET', url: '/api/sources?limit=zero', headers: { authorization: 'Bearer tok' } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toMatch(/limit/);
    } finally {
      await app.close();
    }
  });
});
