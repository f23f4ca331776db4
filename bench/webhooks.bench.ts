/**
 * Webhook delivery alone: N events already in the outbox, one endpoint subscribed to all of them,
 * a local receiver in its own process answering 204. Measures the relay's fan-out and the delivery
 * from the start of the delivery worker to the receiver holding every event, and the CPU it cost
 * per delivered event in this process (node), in this run's Postgres backends and in redis-server.
 *
 *   npm run bench:webhooks -- [--events 20000] [--transport redis|postgres] [--baseline DIR] [--rounds 3] [--json]
 *
 * --baseline DIR: also run the delivery code of another checkout (its src/ and migrations, e.g.
 * main's), interleaved with this one round by round, and report the median of each side.
 *
 * CPU: process.cpuUsage() for node; utime + stime from /proc/<pid>/stat of the Postgres backends
 * connected to the run's database (background writers and other databases are not counted), and
 * of the redis-server process that the Redis transport uses (shared: other clients' work counts too).
 * A benchmark, never a timed test: compare figures within one run only.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { cpuOf } from './cpu.js';
import { forkReceiver } from './receiver.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    transport: { type: 'string', default: 'redis' },
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.events);
const KIND = values.transport as 'redis' | 'postgres';
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(N) || N < 100 || (KIND !== 'redis' && KIND !== 'postgres') || !(ROUNDS >= 1)) {
  process.stderr.write('usage: npm run bench:webhooks -- [--events N≥100] [--transport redis|postgres] [--baseline DIR] [--rounds R] [--json]\n');
  process.exit(2);
}
const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Events per record: a record's events are delivered one after the other, so order per record is part of the cost. */
const PER_RECORD = 4;

const say = (msg: string) => {
  if (!values.json) process.stderr.write(`${msg}\n`);
};

/** The modules of one checkout that a run uses, loaded from its own src/ (tsx compiles them). */
async function loadCode(root: string) {
  const mod = (p: string) => import(pathToFileURL(join(root, 'src', p)).href);
  const [client, migrate, outbox, webhooks, queues, worker, logger] = await Promise.all([
    mod('db/client.ts'),
    mod('db/migrate.ts'),
    mod('db/outbox.repo.ts'),
    mod('db/webhooks.repo.ts'),
    mod('workers/queues.ts'),
    mod('workers/webhook-delivery.worker.ts'),
    mod('logger.ts'),
  ]);
  return {
    createDatabase: client.createDatabase as (url: string, o?: { max?: number }) => { sql: postgres.Sql; close(): Promise<void> },
    runMigrations: migrate.runMigrations as (db: unknown) => Promise<void>,
    appendEvents: outbox.appendEvents as (tx: postgres.TransactionSql, list: unknown[]) => Promise<unknown>,
    addEndpoint: webhooks.addEndpoint as (sql: postgres.Sql, e: { url: string }) => Promise<{ id: number }>,
    createTransport: queues.createTransport as (o: { redisUrl?: string; databaseUrl: string; prefix?: string }) => {
      kind: string;
      prefix?: string;
      connection?: Redis;
    },
    deleteQueueKeys: queues.deleteQueueKeys as (r: Redis, prefix: string) => Promise<void>,
    closeTransport: queues.closeTransport as (t: unknown) => Promise<void>,
    startWebhookDelivery: worker.startWebhookDelivery as (o: unknown) => { close(): Promise<void> },
    settings: worker.DEFAULT_WEBHOOK_SETTINGS as Record<string, number>,
    silentLogger: logger.silentLogger as unknown,
  };
}

async function backendPids(admin: postgres.Sql, db: string): Promise<number[]> {
  const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${db} and pid <> pg_backend_pid()`;
  return rows.map((r) => r.pid);
}

interface RunResult {
  events: number;
  seconds: number;
  events_per_s: number;
  node_us_per_event: number;
  postgres_us_per_event: number;
  redis_us_per_event: number;
}

async function runOnce(code: Awaited<ReturnType<typeof loadCode>>, redisPid: number | null): Promise<RunResult> {
  const name = `capture_bench_wh_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(PG_ADMIN, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  const database = code.createDatabase(url.toString(), { max: 12 });
  const prefix = `bench_wh_${process.pid}_${randomBytes(3).toString('hex')}`;
  const transport =
    KIND === 'redis'
      ? code.createTransport({ redisUrl: REDIS_URL, databaseUrl: url.toString(), prefix })
      : code.createTransport({ databaseUrl: url.toString() });
  const receiver = await forkReceiver();
  try {
    await code.runMigrations(database);
    await code.addEndpoint(database.sql, { url: receiver.url });
    // N events on N / PER_RECORD cases, a page of 500 per transaction, records interleaved
    const records = Math.ceil(N / PER_RECORD);
    for (let i = 0; i < N; i += 500) {
      const page = Array.from({ length: Math.min(500, N - i) }, (_, k) => {
        const n = i + k;
        const id = 1 + (n % records);
        const step = Math.floor(n / records);
        return {
          type: step === 0 ? 'case.created' : 'case.status_changed',
          aggregateId: id,
          data: {
            id,
            status: ['new', 'in_progress', 'resolved', 'new'][step % 4],
            priority: 'normal',
            origin: 'twitter',
            text: `order #${88_000 + id} never arrived, still waiting`,
            contactId: id,
            rules: ['order-trouble', 'delay-words'],
          },
          ...(step === 0 ? {} : { change: { from: 'new', to: 'in_progress', action: 'started' } }),
        };
      });
      await database.sql.begin((tx) => code.appendEvents(tx, page));
    }
    const settings = { ...code.settings, relayEveryMs: 200 };
    const pgBefore = new Map((await backendPids(admin, name)).map((pid) => [pid, cpuOf(pid)]));
    const redisBefore = redisPid ? cpuOf(redisPid) : 0;
    const nodeBefore = process.cpuUsage();
    const started = performance.now();
    const delivery = code.startWebhookDelivery({ sql: database.sql, transport, log: code.silentLogger, settings });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      receiver.until(N),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('not every event delivered within 10 minutes')), 600_000))),
    ]).finally(() => clearTimeout(timer));
    const seconds = (performance.now() - started) / 1000;
    const node = process.cpuUsage(nodeBefore);
    const redisUs = redisPid ? cpuOf(redisPid) - redisBefore : 0;
    // backends opened during the run count whole; those from before count from their reading then
    const pgUs = (await backendPids(admin, name)).reduce((sum, pid) => sum + cpuOf(pid) - (pgBefore.get(pid) ?? 0), 0);
    await delivery.close();
    const per = (us: number) => Math.round(us / N);
    return {
      events: N,
      seconds: Number(seconds.toFixed(2)),
      events_per_s: Math.round(N / seconds),
      node_us_per_event: per(node.user + node.system),
      postgres_us_per_event: per(pgUs),
      redis_us_per_event: per(redisUs),
    };
  } finally {
    receiver.stop();
    if (transport.kind === 'redis' && transport.connection) await code.deleteQueueKeys(transport.connection, prefix);
    await code.closeTransport(transport);
    await database.close();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

async function redisServerPid(): Promise<number | null> {
  if (KIND !== 'redis') return null;
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  const info = await r.info('server');
  r.disconnect();
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  return Number.isInteger(pid) && cpuOf(pid) > 0 ? pid : null; // a Redis in another namespace cannot be read
}

function median(results: RunResult[]): RunResult {
  const mid = (k: keyof RunResult) => [...results].sort((a, b) => a[k] - b[k])[Math.floor(results.length / 2)]![k];
  return {
    events: N,
    seconds: mid('seconds'),
    events_per_s: mid('events_per_s'),
    node_us_per_event: mid('node_us_per_event'),
    postgres_us_per_event: mid('postgres_us_per_event'),
    redis_us_per_event: mid('redis_us_per_event'),
  };
}

const sides: { label: string; root: string }[] = [
  ...(values.baseline ? [{ label: 'baseline', root: resolve(values.baseline) }] : []),
  { label: 'current', root: resolve(import.meta.dirname, '..') },
];
const codes = await Promise.all(sides.map((s) => loadCode(s.root)));
const redisPid = await redisServerPid();
say(
  `bench:webhooks: ${N} events (${PER_RECORD} per record), one endpoint, ${KIND} transport, ${ROUNDS} round(s)${values.baseline ? `, baseline ${values.baseline}` : ''}`,
);
const runs: RunResult[][] = sides.map(() => []);
for (let round = 1; round <= ROUNDS; round++) {
  for (const [i, side] of sides.entries()) {
    const r = await runOnce(codes[i]!, redisPid);
    runs[i]!.push(r);
    say(
      `  round ${round} ${side.label}: ${r.events_per_s} events/s, µs per event node ${r.node_us_per_event} / postgres ${r.postgres_us_per_event} / redis ${r.redis_us_per_event}`,
    );
  }
}
const result = Object.fromEntries(sides.map((s, i) => [s.label, { median: median(runs[i]!), runs: runs[i] }]));
process.stdout.write(`${JSON.stringify({ transport: KIND, events: N, rounds: ROUNDS, ...result }, null, values.json ? undefined : 2)}\n`);
process.exit(0);
