import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportKind } from '../support/services.js';
import { usesRedisPrefix, waitFor } from '../support/services.js';
import { sandboxPost } from '../../src/connectors/sandbox.connector.js';
import { startTwitterSimulator } from '../../src/sandbox/twitter.simulator.js';
import { captureVerify, counts, scenario, sleep, startOwnServices, violations } from './support.js';

/**
 * Each scenario runs real `capture start` processes against the suite's own PostgreSQL and Redis,
 * lets a sandbox source emit a few thousand posts, breaks something mid-stream, and then checks
 * the database against what the source emitted: every post stored and decided once, every lead
 * and case made once, no contact or identity twice.
 */
const TOTAL = 2500;

let services: Awaited<ReturnType<typeof startOwnServices>>;

beforeAll(async () => {
  services = await startOwnServices();
});
afterAll(async () => {
  await services?.stop();
});

async function setup(kind: TransportKind, label: string) {
  const { url, database } = await services.database(`${label}_${kind}`);
  const s = scenario(kind, url, services.redisUrl, TOTAL);
  return { sql: database.sql, database, s };
}

/** Wait until every post is decided, then check the database, and `capture verify` on it and the queue. */
async function settle(sql: Parameters<typeof counts>[0], what: string, env: NodeJS.ProcessEnv) {
  await waitFor(
    async () => {
      const c = await counts(sql).catch(() => null);
      return c !== null && c.posts === TOTAL && c.pending === 0 ? c : null;
    },
    { what, timeoutMs: 150_000, intervalMs: 250 },
  );
  const c = await counts(sql);
  expect(c).toEqual({ posts: TOTAL, distinct: TOTAL, processed: TOTAL, failed: 0, pending: 0 });
  expect(await violations(sql)).toEqual([]);
  expect(captureVerify(env)).toEqual({ code: 0, problems: [] });
}

const processedAtLeast = (sql: Parameters<typeof counts>[0], n: number) => async () => {
  const c = await counts(sql).catch(() => null);
  return c !== null && c.processed >= n;
};

describe.each<TransportKind>(['redis', 'postgres'])('faults on the %s transport', (kind) => {
  it('a worker killed with SIGKILL mid-stream and restarted loses and doubles nothing', async () => {
    const { sql, database, s } = await setup(kind, 'sigkill');
    try {
      s.start('poller');
      const worker = s.start('worker');
      await waitFor(processedAtLeast(sql, TOTAL / 5), { what: 'a fifth decided', timeoutMs: 60_000 });
      worker.child.kill('SIGKILL');
      expect(await worker.exited).toBeNull(); // killed, not exited
      const before = await counts(sql);
      expect(before.processed).toBeLessThan(TOTAL); // it really died mid-stream
      s.start('worker');
      await settle(sql, 'every post decided after the restart', s.env);
    } finally {
      await s.cleanup();
      await database.close();
    }
  });

  it('a PostgreSQL restart mid-stream loses and doubles nothing', async () => {
    const { sql, database, s } = await setup(kind, 'pgrestart');
    try {
      const proc = s.start('all');
      await waitFor(processedAtLeast(sql, TOTAL / 5), { what: 'a fifth decided', timeoutMs: 60_000 });
      await services.restartPostgres();
      await settle(sql, 'every post decided after the restart', s.env);
      expect(proc.child.exitCode).toBeNull(); // the service rode it out
    } finally {
      await s.cleanup();
      await database.close();
    }
  });

  it('two workers and two pollers at once decide every post once', async () => {
    const { sql, database, s } = await setup(kind, 'twobytwo');
    try {
      s.start('poller');
      s.start('poller');
      s.start('worker');
      s.start('worker');
      await settle(sql, 'every post decided by two workers', s.env);
      // the source's cursor covers exactly what it emitted, once
      const [cursor] = await sql<{ cursor: string; fetched: number }[]>`
        select cursor, posts_fetched::int as fetched from source_cursors where source_id = 'burst'`;
      expect(cursor).toEqual({ cursor: String(TOTAL), fetched: TOTAL });
    } finally {
      await s.cleanup();
      await database.close();
    }
  });
});

describe('faults on the redis transport only', () => {
  it('PostgreSQL killed with SIGKILL mid-stream (a crash: commits not yet flushed are lost) loses and doubles nothing', async () => {
    const { sql, database, s } = await setup('redis', 'pgcrash');
    try {
      const proc = s.start('all');
      await waitFor(processedAtLeast(sql, TOTAL / 5), { what: 'a fifth decided', timeoutMs: 60_000 });
      await services.crashPostgres();
      await settle(sql, 'every post decided after the crash', s.env);
      expect(proc.child.exitCode).toBeNull();
    } finally {
      await s.cleanup();
      await database.close();
    }
  });

  it('the X API answering 429s, 500s, timeouts, malformed and duplicated pages for a stretch: every post once', async () => {
    const sim = await startTwitterSimulator();
    const { url, database } = await services.database('xfaults_redis');
    const s = scenario('redis', url, services.redisUrl, TOTAL, { twitterSimulator: sim.url, query: '@acme' });
    const stream = { search: '@acme' };
    const publish = (from: number, to: number) => {
      for (let n = from; n <= to; n++) sim.publish(stream, sandboxPost({ sourceId: 'x', platform: 'twitter', seed: 11 }, n));
    };
    try {
      publish(1, 500);
      const proc = s.start('all');
      await waitFor(processedAtLeast(database.sql, 200), { what: 'the first posts decided', timeoutMs: 60_000 });
      // a bad stretch while posts keep coming
      sim.faults.push(
        { kind: 'server_error', times: 2 },
        { kind: 'malformed', followUpOnly: true },
        { kind: 'duplicate', times: 2 },
        { kind: 'timeout', hangMs: 20_000 },
        { kind: 'rate_limit', resetInSec: 2 },
        { kind: 'missing_fields' },
        { kind: 'server_error' },
      );
      for (let from = 501; from <= TOTAL; from += 250) {
        publish(from, Math.min(TOTAL, from + 249));
        await sleep(400);
      }
      await settle(database.sql, 'every published post decided', s.env);
      expect(sim.faults).toEqual([]); // every fault fired
      expect(proc.child.exitCode).toBeNull();
    } finally {
      await s.cleanup();
      await database.close();
      await sim.close();
    }
  });

  it('FLUSHALL mid-stream: the reconciler re-enqueues and the schedulers come back', async () => {
    const { sql, database, s } = await setup('redis', 'flushall');
    try {
      const proc = s.start('all');
      await waitFor(processedAtLeast(sql, TOTAL / 5), { what: 'a fifth decided', timeoutMs: 60_000 });
      services.flushRedis();
      await settle(sql, 'every post decided after FLUSHALL', s.env);
      expect(proc.output()).toContain('job schedulers were missing');
    } finally {
      await s.cleanup();
      await database.close();
    }
  });

  it('SIGTERM during a burst: in-flight jobs finish, nothing is half-written, a restart finishes the rest', async () => {
    const { sql, database, s } = await setup('redis', 'sigterm');
    try {
      s.start('poller');
      const worker = s.start('worker');
      await waitFor(processedAtLeast(sql, TOTAL / 5), { what: 'a fifth decided', timeoutMs: 60_000 });
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.output()).not.toMatch(/\n\s+at /); // no stack trace
      // drained: whatever is decided is whole (its lead or case exists), the rest is still pending
      expect(await violations(sql)).toEqual([]);
      const mid = await counts(sql);
      expect(mid.failed).toBe(0);
      await sleep(300);
      expect((await counts(sql)).processed).toBe(mid.processed); // nothing moves with the worker gone
      s.start('worker');
      await settle(sql, 'every post decided after the restart', s.env);
    } finally {
      await s.cleanup();
      await database.close();
    }
  });

  it('two fresh databases, one Redis prefix, the same posts: the second decides every post too (issue 17, item 2)', async () => {
    const prefix = usesRedisPrefix(`faults_epoch_${process.pid}_${Date.now()}`);
    for (const label of ['epoch_first', 'epoch_second']) {
      const { url, database } = await services.database(`${label}_redis`);
      // the same sandbox stream (seed) each time: the same post ids, so the same job ids but for the epoch
      const s = scenario('redis', url, services.redisUrl, TOTAL, { sandbox: true }, prefix);
      try {
        s.start('all');
        await settle(database.sql, `every post of ${label} decided`, s.env);
      } finally {
        await s.cleanup();
        await database.close();
      }
    }
  });
});
