/**
 * End-to-end throughput of the capture pipeline on this machine's Redis (or BullMQ's PostgreSQL
 * backend) and PostgreSQL, against the same-run floor of BullMQ with a no-op processor.
 *
 *   npm run bench -- [--posts 50000] [--transport redis|postgres] [--concurrency 1024] [--batch-size 256] [--no-scale] [--no-processes] [--webhook] [--json]
 *
 * --webhook: every run's database has one webhook endpoint subscribed to every event, a local
 * receiver answering 204 (in a process of its own, bench/receiver.ts), so the figures include the outbox's delivery (compare with a run without);
 * each run then also waits for every event to arrive and reports the delivery lag (from the last
 * post decided to the last event delivered) and the number of events delivered.
 *
 * The real path: inbox insert (storePage) → enqueue (jobId = post key) → capture worker →
 * Postgres. Latency is from the inbox insert (received_at, just before the enqueue) to the commit
 * that decided the post (processed_at). A benchmark, never a timed test: figures vary with the
 * machine's load, so it reports the ratio to a floor measured in the same run.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Worker } from 'bullmq';
import postgres from 'postgres';
import { loadRuleset } from '../src/classifier/index.js';
import { sandboxPost } from '../src/connectors/sandbox.connector.js';
import { createDatabase, type Database } from '../src/db/client.js';
import { storePage } from '../src/db/inbox.repo.js';
import { addEndpoint } from '../src/db/webhooks.repo.js';
import { runMigrations } from '../src/db/migrate.js';
import { silentLogger } from '../src/logger.js';
import type { SocialPost } from '../src/types.js';
import { startService } from '../src/service.js';
import { enqueuePosts } from '../src/workers/ingest.js';
import { type CpuSample, cpuBetween, sampleCpu } from './cpu.js';
import { forkReceiver } from './receiver.js';
import {
  closeTransport,
  createTransport,
  deleteQueueKeys,
  openQueue,
  openWorker,
  POSTS_QUEUE,
  type CaptureJobData,
  type Transport,
} from '../src/workers/queues.js';

const { values } = parseArgs({
  options: {
    posts: { type: 'string', default: '50000' },
    transport: { type: 'string', default: 'redis' },
    concurrency: { type: 'string', default: '1024' },
    'batch-size': { type: 'string', default: '256' },
    'no-scale': { type: 'boolean', default: false },
    'no-processes': { type: 'boolean', default: false },
    webhook: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.posts);
const KIND = values.transport as 'redis' | 'postgres';
const CONCURRENCY = Number(values.concurrency);
const BATCH_SIZE = Number(values['batch-size']);
if (!Number.isInteger(N) || N < 100 || (KIND !== 'redis' && KIND !== 'postgres') || !(CONCURRENCY > 0)) {
  process.stderr.write('usage: npm run bench -- [--posts N≥100] [--transport redis|postgres] [--concurrency C] [--no-scale] [--json]\n');
  process.exit(2);
}
const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BATCH = 1000;
/** The V8 flags this bench runs with (package.json's bench script), for the worker processes it starts too. */
const V8_FLAGS = process.execArgv.filter((a) => a.startsWith('--max-semi-space-size'));

const say = (msg: string) => {
  if (!values.json) process.stderr.write(`${msg}\n`);
};

/** With --webhook: a local receiver that accepts every delivery, and what it got. */
const receiver = values.webhook ? await forkReceiver() : null;

/** Peak resident set size over the measured phase, sampled every 50 ms. */
function rssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return () => {
    clearInterval(timer);
    return Math.round(Math.max(peak, process.memoryUsage().rss) / 1_048_576);
  };
}

async function freshDatabase(): Promise<{ url: string; database: Database; drop(): Promise<void> }> {
  const name = `capture_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(PG_ADMIN, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  const database = createDatabase(url.toString(), { max: CONCURRENCY + 4 });
  await runMigrations(database);
  return {
    url: url.toString(),
    database,
    async drop() {
      await database.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

/** Delete the run's queue keys (a bench run leaves no keys on the shared Redis), then close. */
async function dropTransport(transport: Transport): Promise<void> {
  if (transport.kind === 'redis') await deleteQueueKeys(transport.connection, transport.prefix);
  await closeTransport(transport);
}

function transportFor(url: string): Transport {
  const id = `bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  // Each run has a database of its own, so the PostgreSQL backend keeps its default schema, the one
  // a `capture start` process uses too.
  return KIND === 'redis' ? createTransport({ redisUrl: REDIS_URL, databaseUrl: url, prefix: id }) : createTransport({ databaseUrl: url });
}

/**
 * N varied posts like a busy brand's: sandbox templates over many authors (a few post a lot),
 * replies into earlier conversations; the authors of about 30% of the posts are made contacts first.
 */
function makeWorkload(n: number, run: number): { page(i: number): SocialPost[]; knownAuthors: SocialPost['author'][]; dispose(): void } {
  const opts = {
    sourceId: 'bench',
    platform: 'twitter' as const,
    seed: run,
    authors: Math.max(200, Math.round(n / 5)),
    replyRate: 0.15,
    idBase: (1_790_000_000_000_000_000n + BigInt(run) * 10_000_000_000n).toString(),
  };
  // The posts are made before the clock starts, as the floor's jobs are, and written out a page
  // (BATCH posts) per file: the run reads and parses each page as a poller parses an API response,
  // and never holds them all, so the peak RSS measured is the pipeline's, not the workload's.
  const dir = mkdtempSync(join(tmpdir(), 'capture-bench-posts-'));
  const dispose = () => {
    process.off('exit', dispose);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', dispose); // a run that fails half-way leaves no files either
  const file = (i: number) => join(dir, `${i / BATCH}.json`);
  const byAuthor = new Map<string, { author: SocialPost['author']; count: number }>();
  for (let i = 0; i < n; i += BATCH) {
    const page = Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => sandboxPost(opts, i + k + 1));
    for (const p of page) {
      const e = byAuthor.get(p.author.id) ?? { author: p.author, count: 0 };
      e.count += 1;
      byAuthor.set(p.author.id, e);
    }
    writeFileSync(file(i), JSON.stringify(page));
  }
  const knownAuthors: SocialPost['author'][] = [];
  let covered = 0;
  // every third author in id order until 30% of the posts are covered: deterministic, not just the loudest
  const authors = [...byAuthor.values()].sort((a, b) => (a.author.id < b.author.id ? -1 : 1));
  for (let i = 0; i < authors.length && covered < 0.3 * n; i += 3) {
    knownAuthors.push(authors[i]!.author);
    covered += authors[i]!.count;
  }
  return {
    /** The page of posts that starts at post i (i a multiple of BATCH). */
    page: (i: number) => JSON.parse(readFileSync(file(i), 'utf8')) as SocialPost[],
    knownAuthors,
    dispose,
  };
}

async function seedContacts(database: Database, authors: SocialPost['author'][]): Promise<void> {
  for (let i = 0; i < authors.length; i += BATCH) {
    const chunk = authors.slice(i, i + BATCH);
    await database.sql`
      with c as (
        insert into contacts (name) select unnest(${database.sql.array(chunk.map((a) => a.name ?? a.handle ?? a.id))}::text[])
        returning id
      ), numbered as (select id, row_number() over (order by id) as rn from c)
      insert into identities (platform, external_user_id, handle, name, contact_id)
      select 'twitter', a.id, a.handle, a.name, numbered.id
      from unnest(${database.sql.array(chunk.map((a) => a.id))}::text[], ${database.sql.array(chunk.map((a) => a.handle ?? null) as string[])}::text[],
                  ${database.sql.array(chunk.map((a) => a.name ?? null) as string[])}::text[]) with ordinality as a(id, handle, name, rn)
      join numbered on numbered.rn = a.rn`;
  }
}

interface PipelineResult {
  posts: number;
  posts_per_s: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  peak_rss_mb: number;
  leads: number;
  cases: number;
  failed: number;
  /** With --webhook: the run's events, how many reached the receiver, and how long after the last post was decided the last one did. */
  webhook_events?: number;
  webhook_events_delivered?: number;
  webhook_requests?: number;
  webhook_delivery_lag_ms?: number;
  /** CPU per post from the first page stored to the last post decided: this process, Postgres, Redis (see bench/cpu.ts). */
  cpu: CpuPerItem;
}

type CpuPerItem = { node_us: number; postgres_us: number; redis_us: number } | null;

/** µs of CPU per item between two samples, by part; null where /proc showed no server processes. */
function cpuPer(from: CpuSample, n: number): CpuPerItem {
  const c = cpuBetween(from, sampleCpu());
  return c.available ? { node_us: Math.round(c.node / n), postgres_us: Math.round(c.postgres / n), redis_us: Math.round(c.redis / n) } : null;
}

/**
 * The consumers of a run: the capture worker in this process (processes = 0), or that many
 * `capture start --role worker` processes, as production scales out.
 */
async function startConsumers(db: { url: string; database: Database }, transport: Transport, processes: number) {
  const config = {
    databaseUrl: db.url,
    redisUrl: undefined,
    configPath: '(bench)',
    rulesPath: 'rules/default.yaml',
    sources: [],
    ownAccounts: { twitter: [], facebook: [] },
    capture: {
      caseWindowMs: 7 * 86_400_000,
      slaMs: { urgent: 4 * 3_600_000, high: 86_400_000, normal: 3 * 86_400_000, low: 7 * 86_400_000 },
      concurrency: CONCURRENCY,
      batchSize: BATCH_SIZE,
      attempts: 5,
      reconcileGraceMs: 3_600_000,
      reconcileEveryMs: 3_600_000,
    },
    queuePrefix: 'unused',
    dataDir: '/nonexistent',
    port: 0,
  };
  if (processes === 0) {
    const service = await startService({
      config,
      database: db.database,
      transport,
      ruleset: loadRuleset('rules/default.yaml'),
      log: silentLogger,
      role: 'worker',
    });
    return { queue: service.postsQueue, stop: async () => (await service.close(), [] as number[]) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'capture-bench-'));
  writeFileSync(
    join(dir, 'capture.config.yaml'),
    `sources: []\nrules: ${join(process.cwd(), 'rules/default.yaml')}\ncapture: { concurrency: ${CONCURRENCY}, batch_size: ${BATCH_SIZE}, reconcile_grace: 1h, reconcile_every: 1h }\n` +
      `queue: { prefix: "${transport.kind === 'redis' ? transport.prefix : 'capture'}" }\n`,
  );
  const { REDIS_URL: _r, ...env } = process.env;
  const children = Array.from({ length: processes }, () =>
    spawn(process.execPath, [...V8_FLAGS, 'bin/capture.js', 'start', '--role', 'worker'], {
      env: {
        ...env,
        DATABASE_URL: db.url,
        ...(transport.kind === 'redis' ? { REDIS_URL } : {}),
        CAPTURE_CONFIG: join(dir, 'capture.config.yaml'),
        LOG_LEVEL: 'warn',
        PORT: '0',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  // ready when each has registered its worker on the queue
  const queue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
  const deadline = Date.now() + 60_000;
  while ((await queue.getWorkersCount()) < processes) {
    if (Date.now() > deadline) throw new Error('worker processes did not start within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    queue,
    async stop() {
      // peak resident set of each process, from the kernel
      const peaks = children.map((c) => {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${c.pid}/status`, 'utf8'));
        return m ? Math.round(Number(m[1]) / 1024) : 0;
      });
      await Promise.all(children.map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')))));
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
      return peaks;
    },
  };
}

async function runPipeline(n: number, run: number, processes = 0): Promise<PipelineResult> {
  const db = await freshDatabase();
  const transport = transportFor(db.url);
  const { page: pageAt, knownAuthors, dispose } = makeWorkload(n, run);
  await seedContacts(db.database, knownAuthors);
  if (receiver) {
    await receiver.reset();
    await addEndpoint(db.database.sql, { url: receiver.url, description: 'bench' });
  }
  const consumers = await startConsumers(db, transport, processes);
  const peakRss = rssSampler();
  // Start and end are read off the database's clock: the end is the commit that decided the last
  // post, so how often this loop polls (a count that costs the server too) does not change the figure.
  const [{ startedAt }] = [...(await db.database.sql<{ startedAt: string }[]>`select clock_timestamp()::text as "startedAt"`)] as [{ startedAt: string }];
  const cpuFrom = sampleCpu();
  say(`  ${n} posts flowing …`);
  let lastReport = performance.now();
  for (let i = 0; i < n; i += BATCH) {
    const page = pageAt(i);
    const stored = await storePage(db.database.sql, 'bench', page, null);
    await enqueuePosts(consumers.queue, stored.inserted, 5);
    if (performance.now() - lastReport > 2000) {
      lastReport = performance.now();
      say(`  enqueued ${Math.min(i + BATCH, n)}/${n}`);
    }
  }
  dispose();
  // Wait on the queue's counters (cheap), then on the inbox itself (a count of pending posts reads
  // the whole inbox: polling it would load the server the run measures, the more the bigger N).
  for (;;) {
    const counts = await consumers.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    const queued = Object.values(counts).reduce((a, b) => a + b, 0);
    if (queued === 0) {
      const [row] = await db.database.sql<{ pending: number }[]>`select count(*)::int as pending from social_posts where status = 'pending'`;
      if (row!.pending === 0) break;
    }
    if (performance.now() - lastReport > 2000) {
      lastReport = performance.now();
      say(`  decided ~${n - queued}/${n}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const cpu = cpuPer(cpuFrom, n);
  say('  all decided');
  const [span] = await db.database.sql<{ seconds: number }[]>`
    select extract(epoch from max(processed_at) - ${startedAt}::timestamptz)::float8 as seconds from social_posts`;
  const seconds = span!.seconds;
  const rss = peakRss();
  const [lat] = await db.database.sql<{ p50: number; p95: number; p99: number }[]>`
    select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.95) within group (order by ms) as p95,
           percentile_cont(0.99) within group (order by ms) as p99
    from (select extract(epoch from (processed_at - received_at)) * 1000 as ms from social_posts) t`;
  const [fx] = await db.database.sql<{ leads: number; cases: number; failed: number }[]>`
    select (select count(*)::int from leads) as leads, (select count(*)::int from cases) as cases,
           (select count(*)::int from social_posts where status = 'failed') as failed`;
  const webhook = receiver ? await awaitDelivery(db.database) : undefined;
  const processPeaks = await consumers.stop();
  await dropTransport(transport);
  await db.drop();
  return {
    posts: n,
    posts_per_s: Math.round(n / seconds),
    p50_ms: Math.round(lat!.p50),
    p95_ms: Math.round(lat!.p95),
    p99_ms: Math.round(lat!.p99),
    // in-process: this process; worker processes: the largest of them
    peak_rss_mb: processPeaks.length > 0 ? Math.max(...processPeaks) : rss,
    ...fx!,
    cpu,
    ...(webhook
      ? {
          webhook_events: webhook.events,
          webhook_events_delivered: webhook.delivered,
          webhook_requests: webhook.requests,
          webhook_delivery_lag_ms: webhook.lagMs,
        }
      : {}),
  };
}

/**
 * With --webhook, once every post is decided: wait until the receiver holds every event of the run
 * (distinct webhook-ids), and measure the delivery lag, from the commit that decided the last post
 * to the arrival of the last event, so that delivery put off until after the run shows its cost.
 */
async function awaitDelivery(database: Database): Promise<{ events: number; delivered: number; requests: number; lagMs: number }> {
  const [row] = await database.sql<{ events: number; decidedAt: number }[]>`
    select (select count(*)::int from events) as events, (select extract(epoch from max(processed_at)) * 1000 from social_posts)::float8 as "decidedAt"`;
  const { events, decidedAt } = row!;
  let timer: NodeJS.Timeout | undefined;
  const tooLong = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 600_000)));
  const got = (await Promise.race([receiver!.until(events), tooLong]).finally(() => clearTimeout(timer))) ?? (await receiver!.stats());
  if (got.events < events) say(`  webhook: only ${got.events} of ${events} events delivered after 10 minutes`);
  say(`  webhook: ${got.events}/${events} events delivered, the last ${Math.round(got.lastAt - decidedAt)} ms after the last post was decided`);
  return { events, delivered: got.events, requests: got.requests, lagMs: Math.round(got.lastAt - decidedAt) };
}

/**
 * BullMQ alone: the same number of jobs, same batches and concurrency, a processor that does nothing.
 * The jobs are the pipeline's own, enqueued by the same function with the same data, id and options
 * (retries with backoff), so the floor is the transport the pipeline pays for and nothing else.
 */
async function runFloor(n: number): Promise<{ jobsPerS: number; cpu: CpuPerItem }> {
  const db = await freshDatabase();
  const transport = transportFor(db.url);
  const queue = openQueue<CaptureJobData>(transport, 'floor');
  let done = 0;
  const worker: Worker = openWorker(
    transport,
    'floor',
    async () => {
      done += 1;
    },
    { concurrency: CONCURRENCY },
  );
  await queue.waitUntilReady();
  const workload = makeWorkload(n, 0);
  const refs: CaptureJobData[] = [];
  for (let i = 0; i < n; i += BATCH) {
    for (const p of workload.page(i)) refs.push({ platform: p.platform, externalId: p.id, authorId: p.author.id });
  }
  workload.dispose();
  const cpuFrom = sampleCpu();
  const started = performance.now();
  for (let i = 0; i < n; i += BATCH) {
    await enqueuePosts(queue, refs.slice(i, i + BATCH), 5);
  }
  while (done < n) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuPer(cpuFrom, n);
  await worker.close();
  await queue.close();
  await dropTransport(transport);
  await db.drop();
  return { jobsPerS: Math.round(n / seconds), cpu };
}

say(`bench: ${N} posts on the ${KIND} transport, concurrency ${CONCURRENCY}`);
say('floor: BullMQ with a no-op processor …');
const { jobsPerS: floor, cpu: floorCpu } = await runFloor(N);
say(`floor: ${floor} jobs/s`);
say('pipeline …');
const main = await runPipeline(N, 1);
say(
  `pipeline: ${main.posts_per_s} posts/s (ratio ${(main.posts_per_s / floor).toFixed(2)}), p50 ${main.p50_ms} ms, p95 ${main.p95_ms} ms, p99 ${main.p99_ms} ms, peak RSS ${main.peak_rss_mb} MB`,
);
if (main.cpu && floorCpu) {
  const c = (x: NonNullable<CpuPerItem>) => `node ${x.node_us}, postgres ${x.postgres_us}, redis ${x.redis_us}`;
  say(`CPU µs per post: pipeline ${c(main.cpu)}; floor ${c(floorCpu)} (every postgres and redis-server process on the machine)`);
}
let scale: { posts: number; posts_per_s: number; peak_rss_mb: number; throughput_change: number; rss_change: number } | undefined;
if (!values['no-scale']) {
  say(`pipeline at 5x (${5 * N} posts) …`);
  const big = await runPipeline(5 * N, 2);
  scale = {
    posts: big.posts,
    posts_per_s: big.posts_per_s,
    peak_rss_mb: big.peak_rss_mb,
    throughput_change: Number((big.posts_per_s / main.posts_per_s).toFixed(2)),
    rss_change: Number((big.peak_rss_mb / main.peak_rss_mb).toFixed(2)),
  };
  say(`5x: ${big.posts_per_s} posts/s (x${scale.throughput_change} of 1x), peak RSS ${big.peak_rss_mb} MB (x${scale.rss_change})`);
}
let processes: Record<'one' | 'two', { posts_per_s: number; p95_ms: number; peak_rss_mb: number }> | undefined;
if (!values['no-processes']) {
  say('pipeline with 1 and with 2 worker processes …');
  const oneProcess = await runPipeline(N, 3, 1);
  const twoProcesses = await runPipeline(N, 4, 2);
  say(`worker processes: 1 → ${oneProcess.posts_per_s} posts/s, 2 → ${twoProcesses.posts_per_s} posts/s`);
  const brief = (r: PipelineResult) => ({ posts_per_s: r.posts_per_s, p95_ms: r.p95_ms, peak_rss_mb: r.peak_rss_mb });
  processes = { one: brief(oneProcess), two: brief(twoProcesses) };
}
const result = {
  transport: KIND,
  concurrency: CONCURRENCY,
  posts: main.posts,
  posts_per_s: main.posts_per_s,
  floor_jobs_per_s: floor,
  ratio: Number((main.posts_per_s / floor).toFixed(2)),
  p50_ms: main.p50_ms,
  p95_ms: main.p95_ms,
  p99_ms: main.p99_ms,
  peak_rss_mb: main.peak_rss_mb,
  leads: main.leads,
  cases: main.cases,
  failed: main.failed,
  ...(main.cpu && floorCpu ? { cpu_us_per_post: { pipeline: main.cpu, floor: floorCpu } } : {}),
  ...(receiver
    ? {
        webhook_requests_received: main.webhook_requests,
        webhook_events: main.webhook_events,
        webhook_events_delivered: main.webhook_events_delivered,
        webhook_delivery_lag_ms: main.webhook_delivery_lag_ms,
      }
    : {}),
  ...(scale ? { scale_5x: scale } : {}),
  ...(processes ? { worker_processes: processes } : {}),
};
process.stdout.write(`${JSON.stringify(result, values.json ? undefined : null, values.json ? undefined : 2)}\n`);
process.exit(0);
