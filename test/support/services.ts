import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { parseRuleset, type Ruleset } from '../../src/classifier/index.js';
import type { Config } from '../../src/config.js';
import { createDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { closeTransport, createTransport, deleteQueueKeys, type Transport } from '../../src/workers/queues.js';

/** The machine's services; override with TEST_PG_URL / TEST_REDIS_URL. */
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type TransportKind = 'redis' | 'postgres';
export const TRANSPORTS: TransportKind[] = ['redis', 'postgres'];

function uniqueName(label: string): string {
  return `${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/** A fresh database for one test file, migrated; `drop()` removes it. */
export async function createTestDatabase(label: string): Promise<{ url: string; database: Database; drop(): Promise<void> }> {
  const name = `capture_t_${uniqueName(label)}`;
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const database = createDatabase(url.toString(), { max: 20 });
  await runMigrations(database);
  return {
    url: url.toString(),
    database,
    async drop() {
      await database.close().catch(() => {});
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

/** Redis key prefixes this test file's queues used; test/support/cleanup.ts deletes their keys after the file. */
const usedPrefixes = new Set<string>();

/** Note a Redis key prefix (of a transport or a spawned service) so its keys are deleted after the file. */
export function usesRedisPrefix(prefix: string): string {
  usedPrefixes.add(prefix);
  return prefix;
}

/** The prefixes noted so far, forgotten as they are handed over. */
export function takeRedisPrefixes(): string[] {
  const all = [...usedPrefixes];
  usedPrefixes.clear();
  return all;
}

/** Delete every key under a prefix on the machine's Redis. */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    await deleteQueueKeys(r, prefix);
  } finally {
    r.disconnect();
  }
}

/** A transport isolated to one test: its own Redis key prefix, or its own Postgres schema. */
export function createTestTransport(kind: TransportKind, databaseUrl: string, label: string): Transport {
  const id = uniqueName(label);
  return kind === 'redis'
    ? createTransport({ redisUrl: REDIS_URL, databaseUrl, prefix: usesRedisPrefix(`t_${id}`) })
    : createTransport({ databaseUrl, schema: `bq_${id}` });
}

/**
 * Lose every queued job, as a Redis FLUSHALL or a restart without persistence would. Only this
 * test's keys (its prefix) or schema are wiped, so test files running beside it keep theirs.
 */
export async function wipeQueues(t: Transport, queues: Queue[]): Promise<void> {
  if (t.kind === 'redis') {
    await deleteRedisKeys(t.prefix);
  } else {
    for (const q of queues) await q.obliterate({ force: true });
  }
}

export { closeTransport };

/** Poll `check` until it returns a truthy value or the deadline passes; never a fixed sleep. */
export async function waitFor<T>(check: () => Promise<T> | T, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: T;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'} (last value ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** A config for tests, with short windows; no file is read. */
export function testConfig(overrides: Partial<Config['capture']> = {}): Config {
  return {
    databaseUrl: undefined,
    redisUrl: undefined,
    configPath: '(test)',
    rulesPath: 'rules/default.yaml',
    sources: [],
    ownAccounts: { twitter: [], facebook: [] },
    capture: {
      caseWindowMs: 7 * 86_400_000,
      reopenWindowMs: 3 * 86_400_000,
      slaMs: { urgent: 4 * 3_600_000, high: 86_400_000, normal: 3 * 86_400_000, low: 7 * 86_400_000 },
      concurrency: 8,
      batchSize: 4,
      attempts: 3,
      reconcileGraceMs: 0,
      reconcileEveryMs: 3_600_000,
      ...overrides,
    },
    queuePrefix: 'unused',
    dataDir: '/nonexistent',
    port: 0,
  };
}

/**
 * A small, fixed ruleset for pipeline tests, so they do not shift when ops tune the default one.
 */
export const TEST_RULES: Ruleset = parseRuleset(
  `name: pipeline-test
thresholds: { lead: 1, case: 1 }
rules:
  - id: buying
    label: lead
    weight: 2
    any: ["how much", "price", "demo", "switch to"]
  - id: outage
    label: case
    weight: 2
    any: ["not working", "outage", "down again"]
    priority: high
  - id: refund
    label: case
    weight: 2
    any: ["refund", "charged twice"]
`,
  'test/support/services.ts',
);
