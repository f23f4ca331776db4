import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SourceConfig } from '../../src/config.js';
import { sandboxPost } from '../../src/connectors/sandbox.connector.js';
import { createTwitterConnector, createXClient, type XTarget } from '../../src/connectors/twitter.connector.js';
import type { Connector } from '../../src/connectors/types.js';
import { ConnectorError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { startTwitterSimulator, type TwitterSimulator, type XStream } from '../../src/sandbox/twitter.simulator.js';
import { startService, type Service } from '../../src/service.js';
import { createPollProcessor, pollSource } from '../../src/workers/poll.worker.js';
import { closeTransport, openQueue, POLL_JOB, POSTS_QUEUE, type CaptureJobData, type PollJobData, type Transport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig, waitFor } from '../support/services.js';

const QUERY = '@acme OR "acme support" -is:retweet';
const USER = '1234567890123456789';

describe('Twitter/X connector against the X API v2 simulator', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sim: TwitterSimulator;
  let transport: Transport;
  let service: Service | undefined;
  const queue = () => openQueue<CaptureJobData>(transport, POSTS_QUEUE);

  beforeAll(async () => {
    db = await createTestDatabase('twitter');
  });
  afterAll(async () => {
    await db.drop();
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    await sim?.close();
    await closeTransport(transport);
  });

  let sourceSeq = 0;
  /** Publish `n` sandbox posts into a stream; returns the X ids the simulator gave them. */
  function publish(stream: XStream, n: number, seed = 1): string[] {
    sourceSeq += 1;
    const opts = { sourceId: `pub${sourceSeq}`, platform: 'twitter' as const, seed: seed + sourceSeq * 100, idBase: `17${900 + sourceSeq}000000000000000` };
    return Array.from({ length: n }, (_, i) => sim.publish(stream, sandboxPost(opts, i + 1)).id);
  }
  function connector(sourceId: string, target: XTarget, timeoutMs = 2000): Connector {
    const client = createXClient({ bearerToken: 'sandbox-token', baseUrl: sim.url, timeoutMs });
    return createTwitterConnector({ sourceId, target, client, pageSize: 10 });
  }
  const storedIds = async (sourceId: string) =>
    (await db.database.sql<{ id: string }[]>`select external_id as id from social_posts where source_id = ${sourceId}`).map((r) => r.id);
  const sourceRow = async (sourceId: string) =>
    (
      await db.database.sql<{ cursor: string | null; healthy: boolean; lastError: string | null; blockedUntil: Date | null }[]>`
        select cursor, healthy, last_error as "lastError", blocked_until as "blockedUntil" from source_cursors where source_id = ${sourceId}`
    )[0];
  const sorted = (ids: string[]) => [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));

  it('stores every post once across page boundaries, a crash mid-walk, duplicates, a restart and a late post', async () => {
    sim = await startTwitterSimulator();
    transport = createTestTransport('redis', db.url, 'x_once');
    const q = queue();
    const first = publish({ search: QUERY }, 35);
    // page 2 repeats page 1's last post; page 3 fails: the walk dies after two stored pages
    sim.faults.push({ kind: 'duplicate', followUpOnly: true }, { kind: 'server_error', followUpOnly: true });
    await expect(pollSource(db.database.sql, q, connector('x-once', { kind: 'search', query: QUERY }), 3)).rejects.toMatchObject({ code: 'temporary' });
    expect((await storedIds('x-once')).length).toBe(20);
    expect((await sourceRow('x-once'))?.cursor ?? null).toBeNull(); // newest-first walk not complete: since_id not saved

    // a new process: fresh client and connector, cursor from Postgres
    await pollSource(db.database.sql, q, connector('x-once', { kind: 'search', query: QUERY }), 3);
    expect(sorted(await storedIds('x-once'))).toEqual(sorted(first));
    const cursor = (await sourceRow('x-once'))!.cursor!;
    expect(cursor).toBe(sorted(first).at(-1));

    const more = publish({ search: QUERY }, 12);
    const late = sim.publish({ search: QUERY }, sandboxPost({ sourceId: 'late', platform: 'twitter', idBase: '1795000000000000000' }, 1), { lateByMs: 5_000 });
    expect(BigInt(late.id) < BigInt(cursor)).toBe(true); // older than what was already read
    await pollSource(db.database.sql, q, connector('x-once', { kind: 'search', query: QUERY }), 3);
    const all = await storedIds('x-once');
    expect(all).toHaveLength(first.length + more.length + 1);
    expect(sorted(all)).toEqual(sorted([...first, ...more, late.id]));
    expect(await q.count()).toBe(all.length);

    // what went over the wire: since_id on every first page, next_token after, authors expanded
    const searches = sim.requests.filter((r) => r.path === '/2/tweets/search/recent');
    expect(searches.every((r) => r.query.get('since_id') !== null && r.query.get('expansions') === 'author_id')).toBe(true);
    expect(searches.some((r) => r.query.get('next_token'))).toBe(true);
    await q.close();
  });

  it('maps the expanded author, thread and language of a mention', async () => {
    sim = await startTwitterSimulator();
    transport = createTestTransport('redis', db.url, 'x_map');
    const q = queue();
    const opts = { sourceId: 'thread', platform: 'twitter' as const, seed: 7, replyRate: 1, idBase: '1796000000000000000' };
    const root = sim.publish({ mentions: USER }, sandboxPost({ ...opts, replyRate: 0 }, 1));
    const replyPost = {
      ...sandboxPost(opts, 2),
      in_reply_to: sandboxPost({ ...opts, replyRate: 0 }, 1).id,
      conversation_id: sandboxPost({ ...opts, replyRate: 0 }, 1).id,
    };
    const reply = sim.publish({ mentions: USER }, replyPost);
    await pollSource(db.database.sql, q, connector('x-map', { kind: 'mentions', userId: USER }), 3);
    const [row] = await db.database.sql<
      { payload: { author: { id: string; handle?: string; name?: string }; in_reply_to?: string; conversation_id?: string } }[]
    >`
      select payload from social_posts where external_id = ${reply.id}`;
    expect(row!.payload.author).toMatchObject({ id: replyPost.author.id, handle: replyPost.author.handle });
    expect(row!.payload.in_reply_to).toBe(root.id);
    expect(row!.payload.conversation_id).toBe(root.id);
    expect(sim.requests.every((r) => r.path === `/2/users/${USER}/mentions`)).toBe(true);
    await q.close();
  });

  it('a malformed page stores nothing of itself and leaves the cursor; the poller records it and goes on', async () => {
    sim = await startTwitterSimulator();
    transport = createTestTransport('redis', db.url, 'x_bad');
    const q = queue();
    const ids = publish({ search: QUERY }, 25);
    await pollSource(db.database.sql, q, connector('x-bad', { kind: 'search', query: QUERY }), 3);
    const before = (await sourceRow('x-bad'))!.cursor;
    const newer = publish({ search: QUERY }, 25);
    sim.faults.push({ kind: 'malformed', followUpOnly: true });
    const processor = createPollProcessor({
      sql: db.database.sql,
      log: silentLogger,
      postsQueue: q,
      connectors: new Map([['x-bad', connector('x-bad', { kind: 'search', query: QUERY })]]),
      attempts: 3,
      reconcileGraceMs: 0,
    });
    const job = { name: POLL_JOB, data: { sourceId: 'x-bad' } } as Job<PollJobData>;
    expect(await processor(job)).toMatchObject({ code: 'bad_response' });
    const row = await sourceRow('x-bad');
    expect(row).toMatchObject({ cursor: before, healthy: true });
    expect(row!.lastError).toMatch(/unreadable/);
    expect(await processor(job)).toMatchObject({ inserted: 15 }); // page 1 (10 posts) was stored before the bad page
    expect(sorted(await storedIds('x-bad'))).toEqual(sorted([...ids, ...newer]));
    expect((await sourceRow('x-bad'))!.cursor).toBe(sorted(newer).at(-1));
    await q.close();
  });

  it('fills what a partial page leaves out: created_at from the snowflake id, the author as a bare id', async () => {
    sim = await startTwitterSimulator();
    transport = createTestTransport('redis', db.url, 'x_missing');
    const q = queue();
    const ids = publish({ search: QUERY }, 12);
    sim.faults.push({ kind: 'missing_fields', times: 5 });
    await pollSource(db.database.sql, q, connector('x-missing', { kind: 'search', query: QUERY }), 3);
    const rows = await db.database.sql<{ id: string; postedAt: Date; payload: { author: { handle?: string } } }[]>`
      select external_id as id, posted_at as "postedAt", payload from social_posts where source_id = 'x-missing'`;
    expect(sorted(rows.map((r) => r.id))).toEqual(sorted(ids));
    const tweets = new Map(sim.tweets({ search: QUERY }).map((t) => [t.id, t]));
    for (const r of rows) {
      expect(new Date(r.postedAt).toISOString()).toBe(tweets.get(r.id)!.created_at);
      expect(r.payload.author.handle).toBeUndefined();
    }
    await q.close();
  });

  it('retries a 503 and a timeout within the poll, with back-off, and loses nothing', async () => {
    sim = await startTwitterSimulator();
    transport = createTestTransport('redis', db.url, 'x_retry');
    const q = queue();
    const ids = publish({ search: QUERY }, 15);
    sim.faults.push({ kind: 'server_error' }, { kind: 'timeout', hangMs: 5_000 });
    const waits: number[] = [];
    const processor = createPollProcessor({
      sql: db.database.sql,
      log: silentLogger,
      postsQueue: q,
      connectors: new Map([['x-retry', connector('x-retry', { kind: 'search', query: QUERY }, 300)]]),
      attempts: 3,
      reconcileGraceMs: 0,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(await processor({ name: POLL_JOB, data: { sourceId: 'x-retry' } } as Job<PollJobData>)).toMatchObject({ inserted: 15 });
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(250);
    expect(waits[1]).toBeGreaterThan(waits[0]! / 2);
    expect(sorted(await storedIds('x-retry'))).toEqual(sorted(ids));
    expect(sim.requests.map((r) => r.status).slice(0, 2)).toEqual([503, 0]);
    await q.close();
  });

  it('stops before the limit: with x-rate-limit-remaining at 0 it sends nothing until the reset', async () => {
    sim = await startTwitterSimulator({ rateLimit: { limit: 3, windowMs: 2_500 } });
    transport = createTestTransport('redis', db.url, 'x_budget');
    const q = queue();
    const ids = publish({ mentions: USER }, 25);
    const c = connector('x-budget', { kind: 'mentions', userId: USER });
    await pollSource(db.database.sql, q, c, 3); // three pages: the window's three requests, the last says remaining 0
    ids.push(...publish({ mentions: USER }, 5));
    const err = await pollSource(db.database.sql, q, c, 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err).toMatchObject({ code: 'rate_limited' });
    expect((err as ConnectorError).retryAfterMs).toBeGreaterThan(0);
    expect(sim.requests).toHaveLength(3);
    expect(sim.requests.some((r) => r.status === 429)).toBe(false);
    await new Promise((r) => setTimeout(r, (err as ConnectorError).retryAfterMs! + 50)); // the reset itself is what is tested
    await pollSource(db.database.sql, q, c, 3);
    expect(sorted(await storedIds('x-budget'))).toEqual(sorted(ids));
    await q.close();
  });

  it('after a 429 makes no request until x-rate-limit-reset, then catches up', async () => {
    sim = await startTwitterSimulator();
    transport = createTestTransport('redis', db.url, 'x_429');
    const source: SourceConfig = { id: 'x-429', platform: 'twitter', kind: 'search', query: QUERY, every: 100, enabled: true };
    sim.faults.push({ kind: 'rate_limit', resetInSec: 2 });
    const ids = publish({ search: QUERY }, 12);
    service = await startService({
      config: { ...testConfig(), sources: [source] },
      database: db.database,
      transport,
      ruleset: TEST_RULES,
      log: silentLogger,
      role: 'poller',
      endpoints: { twitter: { bearerToken: 'sandbox-token', baseUrl: sim.url } },
    });
    const blocked = new Date((await waitFor(async () => (await sourceRow('x-429'))?.blockedUntil, { what: 'blocked_until recorded' }))!);
    expect((await sourceRow('x-429'))!.healthy).toBe(true);
    await waitFor(async () => (await storedIds('x-429')).length === ids.length, { what: 'posts after the reset', timeoutMs: 20_000 });
    const limited = sim.requests.find((r) => r.status === 429)!;
    const reset = blocked.getTime(); // x-rate-limit-reset, as recorded
    const after = sim.requests.filter((r) => r.at > limited.at);
    expect(after.length).toBeGreaterThan(0);
    // not one request between the 429 and the reset, although the schedule fired every 100 ms
    expect(after.every((r) => r.at >= reset - 50)).toBe(true);
    expect(after[0]!.status).toBe(200);
    expect(sim.requests.filter((r) => r.status === 429)).toHaveLength(1);
  });

  it('an expired token marks only that source unhealthy; the others keep polling', async () => {
    sim = await startTwitterSimulator();
    transport = createTestTransport('redis', db.url, 'x_auth');
    const sources: SourceConfig[] = [
      { id: 'x-auth-search', platform: 'twitter', kind: 'search', query: QUERY, every: 100, enabled: true },
      { id: 'x-auth-mentions', platform: 'twitter', kind: 'mentions', user_id: USER, every: 100, enabled: true },
    ];
    sim.faults.push({ kind: 'expired_token', endpoint: 'mentions', times: 1_000 });
    publish({ mentions: USER }, 5);
    service = await startService({
      config: { ...testConfig(), sources },
      database: db.database,
      transport,
      ruleset: TEST_RULES,
      log: silentLogger,
      role: 'poller',
      endpoints: { twitter: { bearerToken: 'sandbox-token', baseUrl: sim.url } },
    });
    const down = await waitFor(async () => ((await sourceRow('x-auth-mentions'))?.healthy === false ? sourceRow('x-auth-mentions') : null), {
      what: 'mentions unhealthy',
    });
    expect(down!.lastError).toMatch(/401.*TWITTER_BEARER_TOKEN/);
    const mentionRequests = sim.requests.filter((r) => r.path.includes('mentions')).length;
    const ids = publish({ search: QUERY }, 8);
    await waitFor(async () => (await storedIds('x-auth-search')).length === 8, { what: 'search still polled' });
    expect(sorted(await storedIds('x-auth-search'))).toEqual(sorted(ids));
    expect((await sourceRow('x-auth-search'))!.healthy).toBe(true);
    // the dead source is not hammered either
    expect(sim.requests.filter((r) => r.path.includes('mentions')).length).toBe(mentionRequests);
  });
});
