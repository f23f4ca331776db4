import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigFile, type SourceConfig } from '../../src/config.js';
import { createXClient } from '../../src/connectors/twitter.connector.js';
import { silentLogger } from '../../src/logger.js';
import { startTwitterSimulator, type TwitterSimulator } from '../../src/sandbox/twitter.simulator.js';
import type { SocialPost } from '../../src/types.js';
import { closeTransport, openQueue, POSTS_QUEUE, type CaptureJobData, type Transport } from '../../src/workers/queues.js';
import { startService } from '../../src/service.js';
import { startStreamSource, type RunningStream } from '../../src/workers/stream.worker.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig, waitFor } from '../support/services.js';

/** The X filtered stream: rules synced, disconnects, stalls and malformed lines lose and double nothing. */

let seq = 0;
function post(text: string): SocialPost {
  seq += 1;
  return { platform: 'twitter', id: `st-${seq}`, text, created_at: new Date().toISOString(), author: { id: String(900_000 + seq), handle: `st${seq}` } };
}

type StreamSource = Extract<SourceConfig, { kind: 'stream' }>;
const streamSource = (yaml: string) => parseConfigFile(`sources:\n  - ${yaml}\n`, 'test').sources[0] as StreamSource;

describe('X filtered stream source', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sim: TwitterSimulator;
  let transport: Transport;
  let running: RunningStream | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('x_stream');
    transport = createTestTransport('redis', db.url, 'x_stream');
  });
  afterAll(async () => {
    await closeTransport(transport);
    await db.drop();
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await sim?.close();
  });

  function start(source: StreamSource, clock?: { now: number }) {
    const queue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    running = startStreamSource({
      sql: db.database.sql,
      postsQueue: queue,
      log: silentLogger,
      source,
      client: createXClient({ bearerToken: 'sandbox-token', baseUrl: sim.url, timeoutMs: 5000 }),
      baseUrl: sim.url,
      bearerToken: 'sandbox-token',
      attempts: 3,
      backoff: { networkStepMs: 20, httpStartMs: 50, rateLimitStartMs: 100 },
      budgetCheckMs: 50,
      ...(clock ? { now: () => clock.now } : {}),
    });
    return { running, queue };
  }
  const stored = async (sourceId: string) =>
    (await db.database.sql<{ id: string }[]>`select external_id as id from social_posts where source_id = ${sourceId} order by 1`).map((r) => r.id);
  const connected = (n: number) =>
    waitFor(() => running!.connects >= n && sim.stream.connections() === 1, { what: `stream connection ${n}`, timeoutMs: 20_000 });

  it('syncs the rules from config: dry run first, adds the missing, deletes the gone', async () => {
    sim = await startTwitterSimulator({ heartbeatMs: 100 });
    sim.stream.rules.set('1', { id: '1', value: 'acme outage' });
    sim.stream.rules.set('2', { id: '2', value: 'old campaign', tag: 'old' });
    start(streamSource('{ id: st-rules, platform: twitter, kind: stream, rules: [{ value: "acme outage" }, { value: "acme refund", tag: refunds }] }'));
    await connected(1);
    expect([...sim.stream.rules.values()].map((r) => [r.value, r.tag]).sort()).toEqual([
      ['acme outage', undefined],
      ['acme refund', 'refunds'],
    ]);
    const posts = sim.requests.filter((r) => r.method === 'POST' && r.path === '/2/tweets/search/stream/rules');
    expect(posts.map((r) => r.query.get('dry_run'))).toEqual([null, 'true', null]); // delete, dry-run add, add
  });

  it('loses and doubles nothing across disconnects, a stall, a malformed line and a refused reconnect', async () => {
    sim = await startTwitterSimulator({ heartbeatMs: 100 });
    const rule = 'acme stream';
    const s = streamSource(`{ id: st-faults, platform: twitter, kind: stream, rules: [{ value: "${rule}" }], heartbeat_timeout: 600ms }`);
    const published: string[] = [];
    const pub = (n: number) => {
      for (let i = 0; i < n; i++) published.push(sim.publish({ search: rule }, post(`p${published.length}`)).id);
    };
    pub(3); // before the first connection: the first backfill reads them
    const { queue } = start(s);
    await connected(1);
    pub(4);
    await waitFor(async () => (await stored('st-faults')).length === 7, { what: '7 stored' });

    sim.stream.faults.push({ kind: 'drop' }); // the next post is cut off with the connection
    pub(3);
    await connected(2);
    sim.stream.faults.push({ kind: 'stall' }); // the next post never comes, nor any keep-alive
    pub(2);
    await connected(3);
    sim.stream.faults.push({ kind: 'malformed' });
    pub(3);
    await waitFor(async () => (await stored('st-faults')).length === published.length, { what: 'all after the malformed line' });
    sim.stream.faults.push({ kind: 'drop' }, { kind: 'connect_error', status: 503 }, { kind: 'connect_error', status: 429 });
    pub(2);
    await connected(4);
    pub(2);

    await waitFor(async () => (await stored('st-faults')).length === published.length, { what: `all ${published.length} stored`, timeoutMs: 20_000 });
    expect(await stored('st-faults')).toEqual([...published].sort());
    // one capture job per post: none twice
    const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed']);
    const ours = jobs.filter((j) => published.includes(j.data.externalId));
    expect(ours.map((j) => j.data.externalId).sort()).toEqual([...published].sort());
    // every reconnect searched from the last id seen, never from scratch
    const searches = sim.requests.filter((r) => r.path === '/2/tweets/search/recent');
    expect(searches.length).toBeGreaterThanOrEqual(4);
    expect(searches.slice(1).every((r) => r.query.get('since_id') !== null && r.query.get('query') === `(${rule})`)).toBe(true);
    const [row] = await db.database.sql<{ cursor: string }[]>`select cursor from source_cursors where source_id = 'st-faults'`;
    expect(row?.cursor).toBe(published.reduce((a, b) => (BigInt(a) > BigInt(b) ? a : b)));
  });

  it('pauses the stream when its budget is used up and resumes next month', async () => {
    sim = await startTwitterSimulator({ heartbeatMs: 100 });
    const rule = 'acme budget stream';
    const clock = { now: Date.UTC(2026, 11, 31, 23) };
    start(
      streamSource(
        `{ id: st-budget, platform: twitter, kind: stream, rules: [{ value: "${rule}" }], heartbeat_timeout: 600ms, budget: { posts_per_month: 3 } }`,
      ),
      clock,
    );
    await connected(1);
    for (let i = 0; i < 3; i++) sim.publish({ search: rule }, post(`b${i}`));
    await waitFor(() => sim.stream.connections() === 0, { what: 'the stream to close on budget' });
    const [health] = await db.database.sql<{ lastError: string; healthy: boolean }[]>`
      select last_error as "lastError", healthy from source_cursors where source_id = 'st-budget'`;
    expect(health?.lastError).toMatch(/^budget exhausted: 3 of 3 posts/);
    sim.publish({ search: rule }, post('while paused'));
    const connects = running!.connects;
    clock.now = Date.UTC(2027, 0, 1, 0, 1);
    await connected(connects + 1);
    await waitFor(async () => (await stored('st-budget')).length === 4, { what: 'the post published while paused' });
  });

  it('runs as part of the service: the poller role holds the connection and stores what it streams', async () => {
    sim = await startTwitterSimulator({ heartbeatMs: 100 });
    const rule = 'acme service stream';
    const source = streamSource(`{ id: st-service, platform: twitter, kind: stream, rules: [{ value: "${rule}" }] }`);
    const service = await startService({
      config: { ...testConfig(), sources: [source] },
      database: db.database,
      transport,
      ruleset: TEST_RULES,
      log: silentLogger,
      role: 'poller',
      endpoints: { twitter: { bearerToken: 'sandbox-token', baseUrl: sim.url } },
    });
    try {
      await waitFor(() => sim.stream.connections() === 1, { what: 'the service to connect' });
      const ids = [1, 2, 3].map((i) => sim.publish({ search: rule }, post(`svc${i}`)).id);
      await waitFor(async () => (await stored('st-service')).length === 3, { what: 'streamed posts stored' });
      expect(await stored('st-service')).toEqual(ids.sort());
      // not polled: no scheduler for a stream source
      expect((await service.pollQueue.getJobSchedulers()).map((j) => j.key)).not.toContain('source-st-service');
    } finally {
      await service.close();
    }
    await waitFor(() => sim.stream.connections() === 0, { what: 'closing the service to close the connection' });
  });
});
