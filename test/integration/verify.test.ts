import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storePage } from '../../src/db/inbox.repo.js';
import { queueEpoch } from '../../src/db/settings.repo.js';
import { silentLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport, createTransport, type Transport } from '../../src/workers/queues.js';
import { runCli } from '../support/cli.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, REDIS_URL, TEST_RULES, testConfig, usesRedisPrefix, waitFor } from '../support/services.js';

/** `capture verify`: clean after a run; each broken invariant found, named, and exit 1. */
describe('capture verify', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service;
  const dir = mkdtempSync(join(tmpdir(), 'capture-verify-'));
  const prefix = usesRedisPrefix(`t_verify_${process.pid}_${Date.now()}`);
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    db = await createTestDatabase('verify');
    transport = createTransport({ redisUrl: REDIS_URL, databaseUrl: db.url, prefix });
    // the worker runs, the reconciler does not: a lost job stays lost for verify to find
    service = await startService({
      config: testConfig({ reconcileEveryMs: 3_600_000 }),
      database: db.database,
      transport,
      ruleset: TEST_RULES,
      log: silentLogger,
      role: 'worker',
    });
    writeFileSync(join(dir, 'capture.config.yaml'), `queue: { prefix: ${prefix} }\n`);
    env = { DATABASE_URL: db.url, REDIS_URL, CAPTURE_CONFIG: join(dir, 'capture.config.yaml') };
    const posts = Array.from({ length: 30 }, (_, i) => makePost({ text: ['how much is it', 'refund please', 'hello'][i % 3]! }));
    const stored = await storePage(db.database.sql, 'verify-test', posts, null);
    await enqueuePosts(service.postsQueue, stored.inserted, 3, await queueEpoch(db.database.sql));
    await waitFor(async () => (await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where status = 'pending'`)[0]!.n === 0, {
      what: 'posts decided',
    });
  });
  afterAll(async () => {
    await service?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const verify = async () => {
    const r = await runCli(env, 'verify', '--grace', '0', '--json');
    return {
      code: r.code,
      report: JSON.parse(r.stdout) as { ok: boolean; counts: { posts: Record<string, number> }; problems: { check: string; count: number }[] },
    };
  };

  it('is clean after a run, with the counts per status', async () => {
    const { code, report } = await verify();
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
    expect(report.counts.posts).toEqual({ pending: 0, processed: 30, failed: 0 });
  });

  it('finds a pending post whose job is gone, and a processed lead post whose lead is gone', async () => {
    const sql = db.database.sql;
    // stored, never enqueued: as if Redis lost the job
    await storePage(sql, 'verify-test', [makePost({ text: 'how much for two' })], null);
    const [lead] = await sql<
      { id: number }[]
    >`update social_posts set lead_id = null where id = (select min(id) from social_posts where label = 'lead') returning id`;
    expect(lead).toBeDefined();
    const { code, report } = await verify();
    expect(code).toBe(1);
    expect(report.problems.map((p) => [p.check, p.count])).toEqual([
      ['a processed lead post without its lead', 1],
      ['a lead no post made', 1],
      ['a pending post with no live job', 1],
    ]);
  });
});
