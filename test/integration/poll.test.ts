import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxConnector, sandboxPost } from '../../src/connectors/sandbox.connector.js';
import type { Connector, FetchedPage } from '../../src/connectors/types.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { silentLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import { pollSource } from '../../src/workers/poll.worker.js';
import { closeTransport, openQueue, POSTS_QUEUE, type CaptureJobData, type Transport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig, TRANSPORTS, waitFor } from '../support/services.js';

/** A connector whose walk dies after `okPages` pages, once: a crash mid-walk. */
function crashingOnce(inner: Connector, okPages: number): Connector {
  let crashed = false;
  return {
    sourceId: inner.sourceId,
    async *fetchPages(cursor, signal): AsyncIterable<FetchedPage> {
      let n = 0;
      for await (const page of inner.fetchPages(cursor, signal)) {
        if (!crashed && n === okPages) {
          crashed = true;
          throw new Error('connection reset mid-walk');
        }
        n += 1;
        yield page;
      }
    },
  };
}

describe.each(TRANSPORTS)('polling sources on the %s transport', (kind) => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(`poll_${kind}`);
  });
  afterAll(async () => {
    await db.drop();
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    await closeTransport(transport);
  });

  const cursorOf = async (sourceId: string) =>
    (await db.database.sql<{ cursor: string | null }[]>`select cursor from source_cursors where source_id = ${sourceId}`)[0]?.cursor ?? null;

  it('polls a configured source on its schedule and decides every post once', async () => {
    transport = createTestTransport(kind, db.url, 'poll');
    const config = {
      ...testConfig(),
      sources: [{ id: 'sched-x', platform: 'twitter' as const, kind: 'sandbox' as const, every: 100, enabled: true, posts_per_poll: 25, total: 120, seed: 3 }],
    };
    service = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: silentLogger, role: 'all' });
    await waitFor(async () => (await db.database.sql`select 1 from social_posts where source_id = 'sched-x' and status = 'processed'`).length === 120, {
      what: '120 sandbox posts processed',
      timeoutMs: 45_000,
    });
    const [row] = await db.database.sql<{ n: number; distinct: number }[]>`
      select count(*)::int as n, count(distinct external_id)::int as distinct from social_posts where source_id = 'sched-x'`;
    expect(row).toEqual({ n: 120, distinct: 120 });
    expect(await cursorOf('sched-x')).toBe('120');
    const schedulers = (await service.pollQueue.getJobSchedulers()).map((s) => s.key).sort();
    expect(schedulers).toEqual(['reconciler', 'source-sched-x']);
  });

  it('re-fetches after a crash mid-walk and never skips: the cursor covers only stored pages (invariant 2)', async () => {
    transport = createTestTransport(kind, db.url, 'crash');
    const queue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    try {
      const opts = { sourceId: 'crash-x', platform: 'twitter' as const, postsPerPoll: 50, pageSize: 10, total: 50, seed: 4, idBase: '1790000000100000000' };
      const connector = crashingOnce(createSandboxConnector(opts), 2);
      await expect(pollSource(db.database.sql, queue, connector, 3)).rejects.toThrow('connection reset mid-walk');
      expect(await cursorOf('crash-x')).toBe('20'); // two pages stored, with the cursor that covers them
      const again = await pollSource(db.database.sql, queue, connector, 3);
      expect(again.inserted).toBe(30);
      const ids = (await db.database.sql<{ id: string }[]>`select external_id as id from social_posts where source_id = 'crash-x'`).map((r) => r.id);
      const expected = Array.from({ length: 50 }, (_, i) => sandboxPost(opts, i + 1).id);
      expect(new Set(ids)).toEqual(new Set(expected));
      expect(ids).toHaveLength(50);
      expect(await queue.count()).toBe(50);
    } finally {
      await queue.close();
    }
  });

  it('moves the cursor only in the transaction that stores its posts', async () => {
    transport = createTestTransport(kind, db.url, 'atomic');
    const atomicOpts = { sourceId: 'atomic-x', platform: 'twitter' as const, seed: 5, idBase: '1790000000200000000' };
    const good = sandboxPost(atomicOpts, 1);
    await storePage(db.database.sql, 'atomic-x', [good], '1');
    const bad = { ...sandboxPost(atomicOpts, 2), created_at: 'not a timestamp' };
    const next = sandboxPost(atomicOpts, 3);
    await expect(storePage(db.database.sql, 'atomic-x', [next, bad], '3')).rejects.toThrow();
    expect(await cursorOf('atomic-x')).toBe('1');
    const [n] = await db.database.sql`select count(*)::int as n from social_posts where external_id = ${next.id}`;
    expect(n!.n).toBe(0);
    // and the other way round: posts stored, then the cursor write fails (Postgres refuses NUL) → no posts either
    await expect(storePage(db.database.sql, 'atomic-x', [next], '3\u0000')).rejects.toThrow();
    const [m] = await db.database.sql`select count(*)::int as n from social_posts where external_id = ${next.id}`;
    expect(m!.n).toBe(0);
    expect(await cursorOf('atomic-x')).toBe('1');
  });

  it('stores what Postgres can hold: NULs dropped, lone surrogates replaced, a typed backslash-u and emoji kept', async () => {
    transport = createTestTransport(kind, db.url, 'clean');
    const opts = { sourceId: 'clean-x', platform: 'twitter' as const, seed: 6, idBase: '1790000000300000000' };
    const typed = String.raw`C:\u0000 and \\u0000 and \ud800 typed`;
    const posts = [
      { ...sandboxPost(opts, 1), text: 'nul\u0000here', author: { ...sandboxPost(opts, 1).author, name: 'A\u0000B' } },
      { ...sandboxPost(opts, 2), text: 'lone \ud800 high, \udc00 low, pair 😡' },
      { ...sandboxPost(opts, 3), text: typed },
    ];
    await storePage(db.database.sql, 'clean-x', posts, null);
    const rows = await db.database.sql<{ externalId: string; text: string; payloadText: string }[]>`
      select external_id as "externalId", text, payload->>'text' as "payloadText" from social_posts
      where source_id = 'clean-x' order by external_id`;
    expect(rows.map((r) => r.text)).toEqual(['nulhere', 'lone \ufffd high, \ufffd low, pair 😡', typed]);
    expect(rows.map((r) => r.payloadText)).toEqual(rows.map((r) => r.text));
    const [who] = await db.database.sql`select name from identities where external_user_id = ${posts[0]!.author.id}`;
    expect(who!.name).toBe('AB');
  });
});
