/**
 * What a brand with N posts a day about it spends on X, polling vs streaming, read from the cost
 * counters (source_usage) after a simulated UTC day against the X simulator.
 *
 *   npx tsx bench/cost-day.ts [--posts 2000] [--every 60] [--disconnects 4] [--only search|mentions|stream]
 *
 * Time is compressed: each post gets the snowflake id of its moment in the simulated day, and the
 * counters' clock is the simulated one, so a poll's overlap and X's "charged once per UTC day" work
 * as in a real day. The day starts 30 simulated minutes early so the midnight re-reads are counted.
 * Needs the machine's PostgreSQL and Redis (TEST_PG_URL / TEST_REDIS_URL), like the tests.
 */
import { parseArgs } from 'node:util';
import type { Job } from 'bullmq';
import { DEFAULT_COST, parseConfigFile, type SourceConfig } from '../src/config.js';
import { createXClient } from '../src/connectors/twitter.connector.js';
import { sourceSpend } from '../src/db/usage.repo.js';
import { silentLogger } from '../src/logger.js';
import { startTwitterSimulator, type TwitterSimulator } from '../src/sandbox/twitter.simulator.js';
import type { SocialPost } from '../src/types.js';
import { connectorFor } from '../src/service.js';
import { createPollProcessor } from '../src/workers/poll.worker.js';
import { closeTransport, openQueue, POLL_JOB, POSTS_QUEUE, type CaptureJobData, type PollJobData } from '../src/workers/queues.js';
import { startStreamSource } from '../src/workers/stream.worker.js';
import { createTestDatabase, createTestTransport, deleteRedisKeys, waitFor } from '../test/support/services.js';

const { values } = parseArgs({
  options: {
    posts: { type: 'string', default: '2000' },
    every: { type: 'string', default: '60' },
    disconnects: { type: 'string', default: '4' },
    only: { type: 'string' },
  },
});
const POSTS = Number(values.posts);
const EVERY_MS = Number(values.every) * 1000;
const DISCONNECTS = Number(values.disconnects);
const DAY = 86_400_000;
const LEAD_IN = 30 * 60_000;
// The simulated day: yesterday, UTC, so every id in it is in the past.
const DAY_START = Math.floor(Date.now() / DAY) * DAY - DAY;
const day = new Date(DAY_START).toISOString().slice(0, 10);

/** When each post of the lead-in and the day is written: evenly spread, N per day. */
const postTimes = (() => {
  const gap = DAY / POSTS;
  const out: number[] = [];
  for (let t = DAY_START - LEAD_IN + gap / 2; t < DAY_START + DAY; t += gap) out.push(t);
  return out;
})();

let seq = 0;
function post(): SocialPost {
  seq += 1;
  return {
    platform: 'twitter',
    id: `cost-${seq}`,
    text: `@acme post ${seq}`,
    created_at: new Date().toISOString(),
    author: { id: String(1_000_000 + (seq % 5000)), handle: `u${seq % 5000}` },
  };
}
const publishAt = (sim: TwitterSimulator, target: { search: string } | { mentions: string }, at: number) =>
  sim.publish(target, post(), { lateByMs: Date.now() - at });

async function main(): Promise<void> {
  const db = await createTestDatabase('cost_day');
  const transport = createTestTransport('redis', db.url, 'cost_day');
  const queue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
  const results: Record<string, unknown>[] = [];
  try {
    for (const kind of (['search', 'mentions'] as const).filter((k) => !values.only || values.only === k)) {
      const sim = await startTwitterSimulator({ rateLimit: { limit: 1_000_000, windowMs: 900_000 } });
      const spec = kind === 'search' ? 'kind: search, query: "@acme"' : 'kind: mentions, user_id: "1234"';
      // backfill: 3d so the first poll reaches the simulated day's start (the default day is counted from the real clock)
      const source = parseConfigFile(`sources:\n  - { id: poll-${kind}, platform: twitter, ${spec}, backfill: 3d }\n`, 'bench').sources[0]!;
      const target = kind === 'search' ? { search: '@acme' } : { mentions: '1234' };
      const clock = { now: DAY_START - LEAD_IN };
      const poll = createPollProcessor({
        sql: db.database.sql,
        log: silentLogger,
        postsQueue: queue,
        connectors: new Map([[source.id, connectorFor(source, { twitter: { bearerToken: 'sandbox-token', baseUrl: sim.url } }, silentLogger)]]),
        attempts: 3,
        reconcileGraceMs: 60_000,
        cost: { sources: [source] },
        now: () => clock.now,
      });
      let next = 0;
      for (let t = DAY_START - LEAD_IN + EVERY_MS; t <= DAY_START + DAY; t += EVERY_MS) {
        while (next < postTimes.length && postTimes[next]! <= t) publishAt(sim, target, postTimes[next++]!);
        clock.now = t;
        await poll({ name: POLL_JOB, data: { sourceId: source.id } } as Job<PollJobData>);
      }
      await sim.close();
      results.push(await dayFigures(db, source, `polling ${kind} every ${EVERY_MS / 1000}s`));
      process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
    }
    if (values.only && values.only !== 'stream') return;

    const sim = await startTwitterSimulator({ heartbeatMs: 1000, rateLimit: { limit: 1_000_000, windowMs: 900_000 } });
    const source = parseConfigFile('sources:\n  - { id: stream, platform: twitter, kind: stream, rules: [{ value: "@acme" }] }\n', 'bench').sources[0]!;
    const clock = { now: DAY_START - LEAD_IN };
    const running = startStreamSource({
      sql: db.database.sql,
      postsQueue: queue,
      log: silentLogger,
      source: source as Extract<SourceConfig, { kind: 'stream' }>,
      client: createXClient({ bearerToken: 'sandbox-token', baseUrl: sim.url }),
      baseUrl: sim.url,
      bearerToken: 'sandbox-token',
      attempts: 3,
      backoff: { networkStepMs: 10, httpStartMs: 10, rateLimitStartMs: 10 },
      now: () => clock.now,
    });
    await waitFor(() => sim.stream.connections() === 1, { what: 'the stream to connect' });
    const storedCount = async () => (await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where source_id = 'stream'`)[0]!.n;
    const dropEvery = Math.floor(postTimes.length / (DISCONNECTS + 1));
    for (let i = 0; i < postTimes.length; i++) {
      if (DISCONNECTS > 0 && i > 0 && i % dropEvery === 0 && i / dropEvery <= DISCONNECTS) {
        await waitFor(async () => (await storedCount()) >= i, { what: 'the stream to catch up', timeoutMs: 120_000 });
        await waitFor(() => sim.stream.connections() === 1, { what: 'a connection', timeoutMs: 60_000 });
        sim.stream.faults.push({ kind: 'drop' });
      }
      clock.now = postTimes[i]!;
      publishAt(sim, { search: '@acme' }, postTimes[i]!);
      if (i % 50 === 49) await waitFor(async () => (await storedCount()) >= i - 60, { what: 'the stream to keep up', timeoutMs: 120_000 });
    }
    await waitFor(async () => (await storedCount()) === postTimes.length, { what: 'every streamed post stored', timeoutMs: 120_000 });
    await running.close();
    await sim.close();
    results.push({ ...(await dayFigures(db, source, `stream, ${DISCONNECTS} disconnects`)), connects: running.connects });
  } finally {
    process.stdout.write(`${JSON.stringify({ day, postsPerDay: POSTS, results }, null, 2)}\n`);
    await closeTransport(transport);
    await deleteRedisKeys(transport.kind === 'redis' ? transport.prefix : '');
    await db.drop();
  }
}

/** The simulated day's row of the counters, and a month of such days. */
async function dayFigures(db: Awaited<ReturnType<typeof createTestDatabase>>, source: SourceConfig, mode: string) {
  const [row] = await db.database.sql<{ requests: number; postsRead: number; postsCharged: number; costUsd: number }[]>`
    select requests::int, posts_read::int as "postsRead", posts_charged::int as "postsCharged", cost_micro_usd::float8 / 1e6 as "costUsd"
    from source_usage where source_id = ${source.id} and day = ${day}::date`;
  const [spend] = await sourceSpend(db.database.sql, [source], DEFAULT_COST, DAY_START + DAY / 2);
  return { mode, ...row, usdPerMonth30: Math.round((row?.costUsd ?? 0) * 30 * 100) / 100, spendUsdMonthSoFar: spend?.spendUsdMonth };
}

await main();
