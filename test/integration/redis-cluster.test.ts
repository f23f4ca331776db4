import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storePage } from '../../src/db/inbox.repo.js';
import { silentLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport, createTransport, type Transport } from '../../src/workers/queues.js';
import { makePost } from '../support/posts.js';
import { startRedisCluster } from '../support/redis-cluster.js';
import { createTestDatabase, TEST_RULES, testConfig, waitFor } from '../support/services.js';

describe('the pipeline on a three-master Redis Cluster', () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    db = await createTestDatabase('cluster');
  });
  afterAll(async () => {
    await db?.drop();
    await cluster?.stop();
  });

  it('refuses a prefix without a hash tag, naming the field', () => {
    expect(() => createTransport({ redisUrl: cluster.url, databaseUrl: db.url, prefix: 'capture', cluster: true })).toThrow(
      /queue\.prefix: on Redis Cluster it must be a hash tag such as \{capture\}/,
    );
  });

  it('two workers on the cluster decide 600 posts once each: one contact per author, one open lead and case each', async () => {
    const transports: Transport[] = [];
    const services: Service[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const t = createTransport({ redisUrl: cluster.url, databaseUrl: db.url, prefix: '{capture-test}', cluster: true });
        transports.push(t);
        services.push(
          await startService({
            config: testConfig({ concurrency: 16, batchSize: 4 }),
            database: db.database,
            transport: t,
            ruleset: TEST_RULES,
            log: silentLogger,
            role: 'worker',
          }),
        );
      }
      const completed = services.map((svc) => {
        let n = 0;
        svc.workers[0]!.on('completed', () => (n += 1));
        return () => n;
      });
      // 30 authors × 20 posts; every author both buys and complains
      const posts = Array.from({ length: 600 }, (_, i) =>
        makePost({
          text: Math.floor(i / 30) % 2 ? 'how much is the price for the team plan?' : 'the app is not working again',
          authorId: `17900000000000${String(i % 30).padStart(5, '0')}`,
        }),
      );
      for (let i = 0; i < posts.length; i += 100) {
        const stored = await storePage(db.database.sql, 'cluster', posts.slice(i, i + 100), null);
        await enqueuePosts(services[(i / 100) % 2]!.postsQueue, stored.inserted, 3);
      }
      await waitFor(async () => (await db.database.sql`select 1 from social_posts where source_id = 'cluster' and status = 'processed'`).length === 600, {
        what: '600 posts processed on the cluster',
        timeoutMs: 60_000,
      });
      const [fx] = await db.database.sql<{ contacts: number; leads: number; cases: number; identities: number }[]>`
        select (select count(distinct contact_id)::int from social_posts where source_id = 'cluster') as contacts,
               (select count(*)::int from leads) as leads, (select count(*)::int from cases) as cases,
               (select count(*)::int from identities) as identities`;
      expect(fx).toEqual({ contacts: 30, leads: 30, cases: 30, identities: 30 });
      // both workers took part, and each job ran once
      const done = completed.map((n) => n());
      expect(done.every((n) => n > 0)).toBe(true);
      expect(done[0]! + done[1]!).toBe(600);
    } finally {
      for (const s of services) await s.close();
      for (const t of transports) await closeTransport(t);
    }
  });
});
