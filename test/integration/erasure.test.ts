import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorHash, erasureKey } from '../../src/db/erasure.repo.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { captureJobId } from '../../src/db/post-key.js';
import { queueEpoch } from '../../src/db/settings.repo.js';
import { silentLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport, type Transport } from '../../src/workers/queues.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig } from '../support/services.js';

const TOKEN = 'erasure-token';

/**
 * Issue 17, item 5: an erased author's posts are never captured again, whichever source re-reads them,
 * and their queued jobs go with them. The api role alone runs, so queued jobs stay queued.
 */
describe('erasure holds against re-reads and queued jobs', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase('erasure');
    transport = createTestTransport('redis', db.url, 'erasure');
    const config = { ...testConfig(), port: 0, secrets: { apiToken: TOKEN } };
    service = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: silentLogger, role: 'api' });
    base = service.api!.url.replace('0.0.0.0', '127.0.0.1');
  });
  afterAll(async () => {
    await service?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
  });

  it("the overlap re-read brings the erased person's old posts back: none is stored; their jobs left the queue", async () => {
    const sql = db.database.sql;
    const gone = `31${process.pid}0001`;
    const stays = `31${process.pid}0002`;
    const page = [
      makePost({ authorId: gone, text: 'refund please' }),
      makePost({ authorId: gone, text: 'how much is it' }),
      makePost({ authorId: stays, text: 'not working' }),
    ];
    const epoch = await queueEpoch(sql);
    const first = await storePage(sql, 'erasure-test', page, 'cursor-1');
    expect(first.inserted.length).toBe(3);
    await enqueuePosts(service.postsQueue, first.inserted, 3, epoch);

    const res = await fetch(`${base}/api/erasures`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ platform: 'twitter', userId: gone }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ posts: 2, jobsRemoved: 2 });
    const job = (i: number) => service.postsQueue.getJob(captureJobId({ platform: 'twitter', externalId: page[i]!.id }, epoch));
    expect(await job(0)).toBeUndefined();
    expect(await job(1)).toBeUndefined();
    expect(await job(2)).toBeDefined();

    // The same page again (a poll's overlap window), and a new post of theirs: nothing of them is stored.
    const again = await storePage(sql, 'erasure-test', [...page, makePost({ authorId: gone, text: 'me again' })], 'cursor-2');
    expect(again.inserted).toEqual([]);
    const rows = await sql<{ n: number }[]>`
      select count(*)::int as n from social_posts where author_external_id = ${gone}
      union all select count(*)::int from identities where external_user_id = ${gone}`;
    expect(rows.map((r) => r.n)).toEqual([0, 0]);
    // Only a keyed hash is kept, never the id.
    const kept = await sql<{ userHash: string }[]>`select user_hash as "userHash" from erased_authors`;
    expect(kept.map((k) => k.userHash)).toEqual([authorHash(await erasureKey(sql), gone)]);
    expect(JSON.stringify(kept)).not.toContain(gone);
    // The other author is untouched.
    const [other] = await sql<{ n: number }[]>`select count(*)::int as n from social_posts where author_external_id = ${stays}`;
    expect(other!.n).toBe(1);
  });
});
