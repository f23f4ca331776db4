import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { capturePost } from '../../src/db/capture.repo.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { silentLogger } from '../../src/logger.js';
import { classify } from '../../src/classifier/index.js';
import { reconcileInbox } from '../../src/workers/poll.worker.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { createCaptureProcessor } from '../../src/workers/capture.worker.js';
import { postKey } from '../../src/db/post-key.js';
import { startService, type Service } from '../../src/service.js';
import { closeTransport, openQueue, openWorker, POSTS_QUEUE, type CaptureJobData, type Transport } from '../../src/workers/queues.js';
import type { SocialPost } from '../../src/types.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig, TRANSPORTS, waitFor, wipeQueues } from '../support/services.js';

describe.each(TRANSPORTS)('capture pipeline on the %s transport', (kind) => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let database: Database;
  let transport: Transport;
  let service: Service | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(`pipeline_${kind}`);
    database = db.database;
  });
  afterAll(async () => {
    await db.drop();
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    if (transport) await closeTransport(transport);
  });

  async function startWorker(overrides: Parameters<typeof testConfig>[0] = {}, decide?: Parameters<typeof startService>[0]['ruleset']) {
    transport = createTestTransport(kind, db.url, 'pipeline');
    service = await startService({
      config: testConfig(overrides),
      database,
      transport,
      ruleset: decide ?? TEST_RULES,
      log: silentLogger,
      role: 'worker',
    });
    return service;
  }

  /** Store posts as a poll would, and enqueue the new ones. */
  async function ingest(posts: SocialPost[], svc: Service) {
    const stored = await storePage(database.sql, 'test', posts, null);
    await enqueuePosts(svc.postsQueue, stored.inserted, 3);
    return stored;
  }

  async function statusOf(posts: SocialPost[]) {
    const rows = await database.sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from social_posts where external_id = any(${posts.map((p) => p.id)}) group by status`;
    return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
  }

  const allDecided = (posts: SocialPost[]) => async () => {
    const s = await statusOf(posts);
    return (s.processed ?? 0) + (s.failed ?? 0) === posts.length ? s : null;
  };

  it('records on the post row the label, score, priority and ruleset version of the decision it stores', async () => {
    const svc = await startWorker();
    const posts = [
      makePost({ text: 'internet not working, outage again' }),
      makePost({ text: 'I was charged twice, refund please' }),
      makePost({ text: 'how much is the premium plan?' }),
      makePost({ text: 'lovely weather today' }),
    ];
    await ingest(posts, svc);
    await waitFor(allDecided(posts));
    const rows = await database.sql<{ label: string; score: number; priority: string | null; version: string; decision: Record<string, unknown> }[]>`
      select label::text as label, score, priority::text as priority, ruleset_version as version, decision from social_posts
      where external_id = any(${posts.map((p) => p.id)}) order by external_id`;
    expect(rows.map((r) => [r.label, r.priority])).toEqual([
      ['case', 'high'],
      ['case', 'normal'],
      ['lead', null],
      ['none', null],
    ]);
    for (const r of rows) {
      expect([r.label, r.priority, r.version]).toEqual([r.decision.label, r.decision.priority, r.decision.rulesetVersion]);
      expect(r.score).toBeCloseTo(r.decision.score as number, 5);
    }
  });

  it('stores and decides the same post fetched, enqueued and processed twice once (invariant 1)', async () => {
    const svc = await startWorker();
    const post = makePost({ text: 'my internet is not working since this morning' });
    const first = await ingest([post], svc);
    const second = await ingest([post, post], svc); // refetched, and twice in one page
    expect(first.inserted).toHaveLength(1);
    expect(second.inserted).toHaveLength(0);
    await enqueuePosts(svc.postsQueue, [{ platform: 'twitter', externalId: post.id }], 3); // a duplicate job
    await waitFor(allDecided([post]), { what: 'post decided' });
    // processing it again directly (a redelivered job) changes nothing
    const again = await capturePost(database.sql, { platform: 'twitter', externalId: post.id }, (i) => classify(i, TEST_RULES), {
      caseWindowMs: 1000,
      slaMs: testConfig().capture.slaMs,
    });
    expect(again.action).toBe('already-decided');
    const [rows] = await database.sql`select count(*)::int as n from social_posts where external_id = ${post.id}`;
    const cases = await database.sql`select c.id from cases c join social_posts p on p.case_id = c.id where p.external_id = ${post.id}`;
    expect(rows!.n).toBe(1);
    expect(cases).toHaveLength(1);
  });

  it('makes one contact of one new author whose 50 posts are processed concurrently (invariant 4)', async () => {
    const svc = await startWorker({ concurrency: 16, batchSize: 2 });
    // A second worker on the same queue, as another process would be: the author's posts meet in
    // concurrent transactions (within one worker, an author's posts share a batcher lane).
    const second = await startService({
      config: testConfig({ concurrency: 16, batchSize: 2 }),
      database,
      transport,
      ruleset: TEST_RULES,
      log: silentLogger,
      role: 'worker',
    });
    const authorId = '1790000000000009999';
    const posts = Array.from({ length: 50 }, (_, i) =>
      makePost({ text: i % 2 ? `how much is the price for ${i} seats?` : `app not working again, attempt ${i}`, authorId, handle: 'many_posts' }),
    );
    // enqueued without the author, as the reconciler of an older version would: any lane, any worker
    const stored = await storePage(database.sql, 'test', posts, null);
    await enqueuePosts(
      svc.postsQueue,
      stored.inserted.map(({ platform, externalId }) => ({ platform, externalId })),
      3,
    );
    await waitFor(allDecided(posts), { what: '50 posts decided' });
    await second.close();
    const [ident] = await database.sql<{ n: number; contacts: number }[]>`
      select count(*)::int as n, count(distinct contact_id)::int as contacts from identities where external_user_id = ${authorId}`;
    expect(ident).toEqual({ n: 1, contacts: 1 });
    const [fx] = await database.sql<{ contacts: number; leads: number; cases: number }[]>`
      select count(distinct contact_id)::int as contacts, count(distinct lead_id)::int as leads, count(distinct case_id)::int as cases
      from social_posts where external_id = any(${posts.map((p) => p.id)})`;
    expect(fx).toEqual({ contacts: 1, leads: 1, cases: 1 });
  });

  it('links a lead or case to the contact already known by identity, handle or e-mail, never by name alone', async () => {
    const svc = await startWorker();
    const [known] = await database.sql<{ id: number }[]>`insert into contacts (name, email) values ('Jane Doe', 'jane@example.com') returning id`;
    await database.sql`insert into identities (platform, external_user_id, handle, name, contact_id)
                       values ('twitter', '1790000000000000777', 'jane_doe', 'Jane Doe', ${known!.id})`;
    await database.sql`insert into contact_handles (contact_id, platform, handle) values (${known!.id}, 'facebook', 'jane.doe.fb')`;
    const byIdentity = makePost({ text: 'I was charged twice this month', authorId: '1790000000000000777', handle: 'jane_doe' });
    const byHandle = makePost({ platform: 'facebook', id: '1122334455_1', text: 'can I get a demo?', authorId: '5550001', handle: 'Jane.Doe.FB' });
    const byEmail = makePost({ text: 'price for 10 seats?', authorId: '1790000000000000888', handle: 'other' });
    byEmail.author.email = 'JANE@example.com';
    const sameNameOnly = makePost({ text: 'my order needs a refund', authorId: '1790000000000000999', handle: 'someone_else' });
    sameNameOnly.author.name = 'Jane Doe';
    const posts = [byIdentity, byHandle, byEmail, sameNameOnly];
    await ingest(posts, svc);
    await waitFor(allDecided(posts), { what: 'posts decided' });
    const rows = await database.sql<{ externalId: string; contactId: number; status: string }[]>`
      select external_id as "externalId", contact_id as "contactId", status from social_posts where external_id = any(${posts.map((p) => p.id)})`;
    const contactOf = Object.fromEntries(rows.map((r) => [r.externalId, r.contactId]));
    expect(contactOf[byIdentity.id]).toBe(known!.id);
    expect(contactOf[byHandle.id]).toBe(known!.id);
    expect(contactOf[byEmail.id]).toBe(known!.id);
    expect(contactOf[sameNameOnly.id]).not.toBe(known!.id);
    expect(contactOf[sameNameOnly.id]).toBeTypeOf('number');
  });

  it('attaches a reply in a conversation with an open case, and a follow-up without problem words, to that case', async () => {
    const svc = await startWorker();
    const root = makePost({ text: 'your app is down again, nothing loads', authorId: '1790000000000001001' });
    await ingest([root], svc);
    await waitFor(allDecided([root]));
    const replyOther = makePost({
      text: 'same here, not working for me either',
      authorId: '1790000000000001002',
      in_reply_to: root.id,
      conversation_id: root.id,
    });
    const followUp = makePost({ text: 'any update on this?', authorId: '1790000000000001001', in_reply_to: replyOther.id, conversation_id: root.id });
    const chatter = makePost({ text: 'lol good luck', authorId: '1790000000000001003', in_reply_to: root.id, conversation_id: root.id });
    await ingest([replyOther], svc);
    await waitFor(allDecided([replyOther]));
    await ingest([followUp, chatter], svc);
    await waitFor(allDecided([followUp, chatter]));
    const rows = await database.sql<{ externalId: string; caseId: number | null }[]>`
      select external_id as "externalId", case_id as "caseId" from social_posts where external_id = any(${[root, replyOther, followUp, chatter].map((p) => p.id)})`;
    const caseOf = Object.fromEntries(rows.map((r) => [r.externalId, r.caseId]));
    expect(caseOf[root.id]).toBeTypeOf('number');
    expect(caseOf[replyOther.id]).toBe(caseOf[root.id]);
    expect(caseOf[followUp.id]).toBe(caseOf[root.id]);
    expect(caseOf[chatter.id]).toBeNull();
    const [n] = await database.sql`select count(*)::int as n from cases where id = ${caseOf[root.id]!} or conversation_id = ${root.id}`;
    expect(n!.n).toBe(1);
  });

  it('attaches a repeat complaint to the open case within the window and opens a new one after it', async () => {
    const svc = await startWorker({ caseWindowMs: 60 * 60_000 });
    const authorId = '1790000000000002001';
    const first = makePost({ text: 'refund please, the order never came', authorId });
    await ingest([first], svc);
    await waitFor(allDecided([first]));
    const second = makePost({ text: 'still no refund', authorId });
    await ingest([second], svc);
    await waitFor(allDecided([second]));
    const [c1] = await database.sql<{ caseId: number }[]>`select case_id as "caseId" from social_posts where external_id = ${first.id}`;
    const [c2] = await database.sql<{ caseId: number }[]>`select case_id as "caseId" from social_posts where external_id = ${second.id}`;
    expect(c2!.caseId).toBe(c1!.caseId);
    // two hours of silence: the window has passed
    await database.sql`update cases set last_activity_at = now() - interval '2 hours' where id = ${c1!.caseId}`;
    const third = makePost({ text: 'charged twice now as well', authorId });
    await ingest([third], svc);
    await waitFor(allDecided([third]));
    const [c3] = await database.sql<{ caseId: number }[]>`select case_id as "caseId" from social_posts where external_id = ${third.id}`;
    expect(c3!.caseId).not.toBe(c1!.caseId);
  });

  it('quarantines a poison post as failed with its reason while the rest go through (invariant 6)', async () => {
    transport = createTestTransport(kind, db.url, 'poison');
    const queue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    const poison = makePost({ text: 'this exact text breaks the decider' });
    // A decider with a bug that one post trips, as a worker would meet it; the real worker runs it.
    const processor = createCaptureProcessor({
      sql: database.sql,
      log: silentLogger,
      decide: (input) => {
        if (input.text === poison.text) throw new Error('decider exploded');
        return classify(input, TEST_RULES);
      },
      options: { caseWindowMs: 60_000, slaMs: testConfig().capture.slaMs },
    });
    const worker = openWorker<CaptureJobData, unknown>(transport, POSTS_QUEUE, processor, { concurrency: 4 });
    try {
      const good = Array.from({ length: 10 }, (_, i) => makePost({ text: `outage number ${i}` }));
      const orphan = makePost({ text: 'how much for a demo' });
      const stored = await storePage(database.sql, 'test', [...good, poison, orphan], null);
      // a post whose author identity is gone (a half-imported row): bad data, quarantined at once
      await database.sql`update social_posts set identity_id = null where external_id = ${orphan.id}`;
      await enqueuePosts(queue, stored.inserted, 2);
      await enqueuePosts(queue, [{ platform: 'twitter', externalId: '1' }], 2); // a job for no post at all
      await waitFor(allDecided([...good, poison, orphan]), { what: 'all posts decided or quarantined' });
      const rows = await database.sql<{ externalId: string; status: string; error: string | null; attempts: number }[]>`
        select external_id as "externalId", status, error, attempts from social_posts where external_id = any(${[poison.id, orphan.id]})`;
      const byId = Object.fromEntries(rows.map((r) => [r.externalId, r]));
      expect(byId[poison.id]).toMatchObject({ status: 'failed', error: 'decider exploded', attempts: 2 });
      expect(byId[orphan.id]).toMatchObject({ status: 'failed', error: 'post has no author identity' });
      expect(await statusOf(good)).toEqual({ processed: 10 });
      // The post is quarantined inside the job's last attempt; BullMQ records that attempt just after.
      const failedJob = await waitFor(
        async () => {
          const job = await queue.getJob(postKey({ platform: 'twitter', externalId: poison.id }));
          return job?.finishedOn !== undefined ? job : undefined;
        },
        { what: 'the poison job to finish' },
      );
      expect(failedJob?.attemptsMade).toBe(2); // retried before it was quarantined
      expect(failedJob?.failedReason).toBe('decider exploded');
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('loses nothing when the queue is wiped mid-run: the reconciler re-enqueues pending posts (invariant 3)', async () => {
    const svc = await startWorker();
    await svc.workers[0]!.pause(); // jobs pile up in the queue ...
    const posts = Array.from({ length: 40 }, (_, i) => makePost({ text: i % 2 ? 'price of the pro plan?' : 'outage in my area' }));
    await ingest(posts, svc);
    await wipeQueues(transport, [svc.postsQueue]); // ... and vanish, as with FLUSHALL
    expect(await svc.postsQueue.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 0 });
    svc.workers[0]!.resume();
    const reenqueued = await reconcileInbox(database.sql, svc.postsQueue, 0, 3);
    expect(reenqueued).toBe(40);
    await waitFor(allDecided(posts), { what: 'posts decided after the wipe' });
    expect(await statusOf(posts)).toEqual({ processed: 40 });
    // a second pass finds nothing left to do
    expect(await reconcileInbox(database.sql, svc.postsQueue, 0, 3)).toBe(0);
  });
});
