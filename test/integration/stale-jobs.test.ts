import { afterAll, describe, expect, it } from 'vitest';
import { storePage } from '../../src/db/inbox.repo.js';
import { queueEpoch, SETTING } from '../../src/db/settings.repo.js';
import { silentLogger } from '../../src/logger.js';
import { startService } from '../../src/service.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport, createTransport } from '../../src/workers/queues.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, REDIS_URL, TEST_RULES, testConfig, usesRedisPrefix, waitFor } from '../support/services.js';

const N = 400;

/**
 * Issue 17, item 2: a fresh database whose queue prefix already holds completed jobs with the same ids
 * (a restored backup, a re-created staging database). Postgres is the truth: every pending post is decided.
 */
describe('pending posts whose job ids are still in Redis', () => {
  const prefix = usesRedisPrefix(`t_stale_${process.pid}_${Date.now()}`);
  const dbs: Awaited<ReturnType<typeof createTestDatabase>>[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  const posts = Array.from({ length: N }, (_, i) =>
    makePost({ text: i % 3 === 0 ? 'how much is the pro plan' : i % 3 === 1 ? 'refund please, charged twice' : 'hello' }),
  );

  /**
   * A fresh database on the shared prefix: store and enqueue the posts as a poll, the webhook or an
   * import does, and wait until each is decided. `restoredFrom`: the database is a copy of that one
   * (its queue epoch too), so only the reconciler can bring its posts past the old jobs.
   */
  async function runOnce(label: string, opts: { reconciler: boolean; restoredFrom?: string }) {
    const db = await createTestDatabase(label);
    dbs.push(db);
    if (opts.restoredFrom) await db.database.sql`insert into capture_settings (key, value) values (${SETTING.queueEpoch}, ${opts.restoredFrom})`;
    const transport = createTransport({ redisUrl: REDIS_URL, databaseUrl: db.url, prefix });
    // without the reconciler, nothing but the enqueue itself can bring a post to a worker
    const config = testConfig({ reconcileGraceMs: 0, reconcileEveryMs: opts.reconciler ? 300 : 3_600_000 });
    const service = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: silentLogger, role: 'all' });
    try {
      const stored = await storePage(db.database.sql, 'stale-test', posts, null);
      expect(stored.inserted.length).toBe(N);
      await enqueuePosts(service.postsQueue, stored.inserted, 3, await queueEpoch(db.database.sql));
      await waitFor(
        async () => {
          const [r] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where status = 'pending'`;
          return r!.n === 0;
        },
        { what: `every post of ${label} decided`, timeoutMs: 60_000, intervalMs: 200 },
      );
      const [c] = await db.database.sql<{ processed: number }[]>`select count(*) filter (where status = 'processed')::int as processed from social_posts`;
      const failed = await db.database.sql`select error, attempts from social_posts where status <> 'processed' limit 3`;
      expect({ label, processed: c!.processed, failed }).toEqual({ label, processed: N, failed: [] });
      return queueEpoch(db.database.sql);
    } finally {
      await service.close();
      await closeTransport(transport);
    }
  }

  it('two fresh databases, one Redis prefix, the same posts: both decide every post', async () => {
    const first = await runOnce('stale_first', { reconciler: false });
    const second = await runOnce('stale_second', { reconciler: false });
    expect(second).not.toBe(first);
  });

  it('a database restored from a backup (same epoch) meets its completed jobs: the reconciler still decides every post', async () => {
    const epoch = await queueEpoch(dbs[0]!.database.sql);
    await runOnce('stale_restored', { reconciler: true, restoredFrom: epoch });
  });
});
