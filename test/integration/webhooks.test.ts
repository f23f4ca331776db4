import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { storePage } from '../../src/db/inbox.repo.js';
import { appendEvents, readFeed, type EventType } from '../../src/db/outbox.repo.js';
import { queueEpoch } from '../../src/db/settings.repo.js';
import {
  addEndpoint,
  claimDeliveries,
  fanOut,
  finishDeliveries,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  removeEndpoint,
  replayEvents,
  rotateSecret,
  type ClaimedDelivery,
} from '../../src/db/webhooks.repo.js';
import { silentLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import { freePort } from '../../src/util/free-port.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { openQueue, type Transport } from '../../src/workers/queues.js';
import {
  attempt,
  createAgents,
  signedHeaders,
  startWebhookDelivery,
  WEBHOOKS_QUEUE,
  type WebhookDelivery,
  type WebhookSettings,
} from '../../src/workers/webhook-delivery.worker.js';
import {
  closeTransport,
  createTestDatabase,
  createTestTransport,
  deleteRedisKeys,
  REDIS_URL,
  TEST_RULES,
  testConfig,
  TRANSPORTS,
  usesRedisPrefix,
  waitFor,
} from '../support/services.js';
import { makePost } from '../support/posts.js';
import { webhookReceiver, type Received } from '../support/webhook-receiver.js';

const FAST: WebhookSettings = {
  relayEveryMs: 50,
  timeoutMs: 300,
  backoffBaseMs: 50,
  backoffMaxMs: 400,
  retryForMs: 3_600_000,
  disableAfterMs: 3_600_000,
  concurrency: 4,
  yieldForMs: 0,
};
const BIN = join(import.meta.dirname, '../../bin/capture.js');

describe.each(TRANSPORTS)('webhook delivery on the %s transport', (kind) => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let delivery: WebhookDelivery | undefined;
  let receiver: ReturnType<typeof webhookReceiver> | undefined;
  let aggregateBase = 0;

  beforeAll(async () => {
    db = await createTestDatabase(`webhooks_${kind}`);
    transport = createTestTransport(kind, db.url, 'webhooks');
  });
  afterEach(async () => {
    await delivery?.close();
    delivery = undefined;
    await receiver?.down();
    receiver = undefined;
    for (const ep of await listEndpoints(db.database.sql, { limit: 100 })) await removeEndpoint(db.database.sql, ep.id);
  });
  afterAll(async () => {
    await closeTransport(transport);
    await db?.drop();
  });

  /** `perRecord` events on each of `records` new cases, each in its own transaction, interleaved across records. */
  async function appendCaseEvents(records: number, perRecord: number, ids?: number[]): Promise<number[]> {
    const aggregates = ids ?? Array.from({ length: records }, () => 90_000 + ++aggregateBase);
    for (let i = 0; i < perRecord; i++) {
      for (const id of aggregates) {
        const type: EventType = i === 0 && !ids ? 'case.created' : 'case.status_changed';
        await db.database.sql.begin((tx) => appendEvents(tx, [{ type, aggregateId: id, data: { id, step: i } }]));
      }
    }
    return aggregates;
  }

  async function eventIdsOf(aggregates: number[]) {
    const rows = await db.database.sql<{ id: string }[]>`
      select id from events where aggregate_type = 'case' and aggregate_id = any(${db.database.sql.array(aggregates)}::bigint[])`;
    return rows.map((r) => r.id).sort();
  }

  async function allDelivered(endpointId: number, n: number) {
    const [row] = await db.database.sql<{ delivered: number; total: number }[]>`
      select count(*) filter (where status = 'delivered')::int as delivered, count(*)::int as total from webhook_deliveries where endpoint_id = ${endpointId}`;
    return row!.total === n && row!.delivered === n;
  }

  /** Whether the relay has fanned out `n` deliveries to the endpoint. */
  async function fannedOut(endpointId: number, n: number) {
    const [row] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where endpoint_id = ${endpointId}`;
    return row!.n === n;
  }

  /** A receiver that answers 204, listening, and an endpoint subscribed to it with the receiver holding its secret. */
  async function subscribedReceiver() {
    const rec = (receiver = webhookReceiver(await freePort()));
    await rec.listen();
    const ep = await addEndpoint(db.database.sql, { url: rec.url });
    rec.setSecret(ep.secret);
    return { rec, ep };
  }

  /** Each record's events arrived (first receipt per webhook-id) in sequence 1, 2, 3… */
  function expectInOrderPerRecord(accepted: Received[], aggregates: number[], perRecord: number) {
    for (const id of aggregates) {
      const seqs = accepted.filter((r) => r.body.aggregate.id === id).map((r) => r.body.aggregate.sequence);
      expect(seqs, `record ${id}`).toEqual(Array.from({ length: perRecord }, (_, i) => i + 1));
    }
  }

  it('a receiver that is down, then answers 500, 429 and slowly, then recovers gets every event once (by webhook-id), in order per record', async () => {
    const port = await freePort();
    // by request number, once it listens: three 500s, two 429s asking for 1 s, two answers slower than the timeout, then fine
    const rec = (receiver = webhookReceiver(port, (n) =>
      n < 3 ? { status: 500 } : n < 5 ? { status: 429, headers: { 'retry-after': '1' } } : n < 7 ? { status: 200, delayMs: 800 } : { status: 204 },
    ));
    const ep = await addEndpoint(db.database.sql, { url: rec.url, description: 'flaky' });
    rec.setSecret(ep.secret);
    const aggregates = await appendCaseEvents(4, 4);
    delivery = startWebhookDelivery({ sql: db.database.sql, transport, log: silentLogger, settings: FAST });
    // down: connections refused, recorded as attempts with no status
    await waitFor(
      async () => {
        const [r] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from webhook_attempts where status_code is null`;
        return r!.n >= 4;
      },
      { what: 'refused attempts' },
    );
    await rec.listen();
    await appendCaseEvents(0, 2, aggregates);
    await waitFor(() => allDelivered(ep.id, 24), { what: 'every event delivered', timeoutMs: 45_000 });

    const accepted = rec.accepted();
    expect(accepted.map((r) => r.webhookId).sort()).toEqual(await eventIdsOf(aggregates));
    expect(accepted.every((r) => r.body.id === r.webhookId)).toBe(true);
    expectInOrderPerRecord(accepted, aggregates, 6);
    expect(rec.received.map((r) => r.status)).toEqual(expect.arrayContaining([500, 429]));
    const attempts = await db.database.sql<{ deliveryId: number; statusCode: number | null; at: number; error: string | null }[]>`
      select a.delivery_id as "deliveryId", a.status_code as "statusCode", (extract(epoch from a.attempted_at) * 1000)::float8 as at, a.error
      from webhook_attempts a
      join webhook_deliveries d on d.id = a.delivery_id where d.endpoint_id = ${ep.id} order by a.id`;
    expect(attempts.some((a) => a.error?.startsWith('timed out'))).toBe(true);
    // Retry-After honoured: the try after a 429 came no sooner than the second it asked for
    const after429 = attempts.flatMap((a, i) => {
      if (a.statusCode !== 429) return [];
      const next = attempts.slice(i + 1).find((b) => b.deliveryId === a.deliveryId);
      return next ? [next.at - a.at] : [];
    });
    expect(after429.length).toBeGreaterThan(0);
    for (const gap of after429) expect(gap).toBeGreaterThanOrEqual(1000);
  });

  it('a SIGKILLed delivery worker and a flushed queue mid-stream lose no event', async () => {
    const port = await freePort();
    const rec = (receiver = webhookReceiver(port, () => ({ status: 204, delayMs: 15 })));
    await rec.listen();
    const ep = await addEndpoint(db.database.sql, { url: rec.url, events: 'case.*' });
    rec.setSecret(ep.secret);
    const aggregates = await appendCaseEvents(8, 5);
    const child = workerProcess(kind, db.url);
    try {
      const first = child.start();
      await waitFor(() => rec.accepted().length >= 8, { what: 'some delivered', timeoutMs: 45_000 });
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const before = rec.accepted().length;
      expect(before).toBeLessThan(40); // killed mid-stream
      await child.flush();
      await appendCaseEvents(0, 2, aggregates);
      child.start();
      await waitFor(() => allDelivered(ep.id, 56), { what: 'every event delivered after the restart', timeoutMs: 60_000 });
    } finally {
      await child.cleanup();
    }
    const accepted = rec.accepted();
    expect(accepted.map((r) => r.webhookId).sort()).toEqual(await eventIdsOf(aggregates));
    expectInOrderPerRecord(accepted, aggregates, 7);
  });

  it('sends each event as the pull feed serves it, without the cursor: the same id, type, time, record, data and change', async () => {
    const { rec, ep } = await subscribedReceiver();
    const aggregates = await appendCaseEvents(2, 2);
    delivery = startWebhookDelivery({ sql: db.database.sql, transport, log: silentLogger, settings: FAST });
    await waitFor(() => allDelivered(ep.id, 4), { what: 'every event delivered' });
    const feed = (await readFeed(db.database.sql, { limit: 1000 })).events.filter((e) => aggregates.includes(e.aggregate.id));
    expect(feed).toHaveLength(4);
    const sent = new Map(rec.accepted().map((r) => [r.webhookId, r.body]));
    for (const { cursor: _cursor, ...message } of feed) expect(sent.get(message.id)).toEqual(message);
  });

  it('gives way to capture: nothing is sent while capture in the process has a backlog, everything once it clears', async () => {
    const { rec, ep } = await subscribedReceiver();
    const aggregates = await appendCaseEvents(3, 2);
    let busy = true;
    delivery = startWebhookDelivery({ sql: db.database.sql, transport, log: silentLogger, settings: { ...FAST, yieldForMs: 60_000 }, captureBusy: () => busy });
    // fanned out and due (the relay runs every 50 ms), then several relay passes more: still nothing sent
    await waitFor(() => fannedOut(ep.id, 6), { what: 'deliveries fanned out' });
    await new Promise((r) => setTimeout(r, 500));
    expect(rec.received).toHaveLength(0);
    const [tried] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from webhook_attempts`;
    expect(tried!.n).toBe(0);
    busy = false;
    await waitFor(() => allDelivered(ep.id, 6), { what: 'every event delivered once capture has no backlog' });
    expectInOrderPerRecord(rec.accepted(), aggregates, 2);
  });

  it('gives way to the capture worker of the same service: held while its posts wait on a lock, sent once they are decided', async () => {
    // The wiring in startService: capture's backlog (posts submitted, not yet decided) of a batch or more holds the
    // drains. The posts' rows are locked here, so capture's batch waits and its backlog stays.
    const { rec, ep } = await subscribedReceiver();
    const stored = await storePage(
      db.database.sql,
      'yield-test',
      Array.from({ length: 4 }, (_, i) => makePost({ text: `my order ${i} never arrived`, authorId: `yield-${kind}-${i}` })),
      null,
    );
    const locker = await db.database.sql.reserve();
    let service: Service | undefined;
    try {
      try {
        await locker`begin`;
        await locker`lock table social_posts in exclusive mode`;
        const config = { ...testConfig({ batchSize: 2, concurrency: 8 }), webhooks: { ...FAST, yieldForMs: 60_000 } };
        service = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: silentLogger, role: 'worker' });
        await enqueuePosts(service.postsQueue, stored.inserted, 3, await queueEpoch(db.database.sql));
        // Capture has taken a batch's worth of the posts (its jobs are active, waiting on the lock) before the
        // events exist: a drain that ran first would rightly find no backlog to give way to.
        const queue = service.postsQueue;
        await waitFor(async () => (await queue.getActiveCount()) >= 2, { what: 'capture holding a batch' });
        await appendCaseEvents(2, 1);
        await waitFor(() => fannedOut(ep.id, 2), { what: 'deliveries fanned out' });
        await new Promise((r) => setTimeout(r, 500));
        expect(rec.received).toHaveLength(0);
      } finally {
        await locker`rollback`;
        locker.release();
      }
      await waitFor(
        async () => (await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where processed_at is not null`)[0]!.n === 4,
        { what: 'the posts decided once the lock is gone' },
      );
      await waitFor(() => allDelivered(ep.id, 2), { what: 'every event delivered once capture has no backlog' });
    } finally {
      // Closed whatever failed above: a service left running would drain the next tests' endpoints.
      await service?.close();
    }
  });

  it('gives way to a lasting capture backlog only so long: after yieldForMs the events go anyway', async () => {
    const { rec, ep } = await subscribedReceiver();
    await appendCaseEvents(3, 2);
    delivery = startWebhookDelivery({ sql: db.database.sql, transport, log: silentLogger, settings: { ...FAST, yieldForMs: 300 }, captureBusy: () => true });
    await waitFor(() => allDelivered(ep.id, 6), { what: 'every event delivered despite the backlog' });
  });

  it('has Postgres analyze the deliveries after a burst, so the claim is planned for the table as it is', async () => {
    const { rec, ep } = await subscribedReceiver();
    const analyzed = async () => {
      const [r] = await db.database.sql<{ n: number }[]>`
        select coalesce(analyze_count, 0)::int as n from pg_stat_user_tables where relname = 'webhook_deliveries'`;
      return r?.n ?? 0;
    };
    const before = await analyzed();
    await appendCaseEvents(3, 2);
    delivery = startWebhookDelivery({ sql: db.database.sql, transport, log: silentLogger, settings: FAST, analyzeAfter: 5 });
    await waitFor(() => allDelivered(ep.id, 6), { what: 'every event delivered' });
    await waitFor(async () => (await analyzed()) > before, { what: 'webhook_deliveries analyzed by the relay' });
  });

  it("signs with the endpoint's own secret: a wrong secret fails verification, and a rotated one takes over", async () => {
    const port = await freePort();
    const rec = (receiver = webhookReceiver(port));
    await rec.listen();
    const ep = await addEndpoint(db.database.sql, { url: rec.url });
    const other = await addEndpoint(db.database.sql, { url: `${rec.url}?other` });
    expect(other.secret).not.toBe(ep.secret);
    rec.setSecret(other.secret); // the receiver holds the wrong secret
    await removeEndpoint(db.database.sql, other.id);
    const [{ since }] = (await db.database.sql`select (extract(epoch from now()) * 1000)::float8 as since`) as unknown as [{ since: number }];
    const [agg] = await appendCaseEvents(1, 1);
    delivery = startWebhookDelivery({ sql: db.database.sql, transport, log: silentLogger, settings: FAST });
    const failed = await waitFor(async () => (await listDeliveries(db.database.sql, { endpointId: ep.id, failed: true, limit: 10 }))[0], {
      what: 'dead-lettered',
    });
    expect(failed).toMatchObject({ status: 'failed', lastStatusCode: 401 });
    expect(rec.received.every((r) => !r.verified)).toBe(true);

    const rotated = await rotateSecret(db.database.sql, ep.id);
    rec.setSecret(rotated.secret);
    expect((await replayEvents(db.database.sql, ep.id, new Date(since))).replayed).toBe(1);
    await waitFor(() => rec.accepted().length === 1, { what: 'replayed delivery verified' });
    expect(rec.accepted()[0]!.body.aggregate.id).toBe(agg);

    // the signature covers the body and the id: a tampered body or the old secret fails
    const body = JSON.stringify({ id: 'evt', type: 'case.created', timestamp: '', aggregate: { type: 'case', id: 1, sequence: 1 }, data: {}, change: null });
    const headers = signedHeaders({ eventId: 'evt', secret: rotated.secret, body }, new Date());
    expect(() => new Webhook(rotated.secret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(ep.secret).verify(body, headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(rotated.secret).verify(body.replace('case.created', 'case.nope'), headers)).toThrow(WebhookVerificationError);
  });

  it('dead-letters a delivery still failing after the retry period and disables an endpoint failing too long', async () => {
    const port = await freePort();
    const rec = (receiver = webhookReceiver(port, () => ({ status: 503 })));
    await rec.listen();
    const ep = await addEndpoint(db.database.sql, { url: rec.url });
    rec.setSecret(ep.secret);
    await appendCaseEvents(1, 1);
    delivery = startWebhookDelivery({ sql: db.database.sql, transport, log: silentLogger, settings: { ...FAST, retryForMs: 300, disableAfterMs: 100_000 } });
    const dead = await waitFor(() => listDeliveries(db.database.sql, { failed: true, limit: 5 }).then((r) => r[0]), { what: 'dead letter' });
    expect(dead!.attemptList.length).toBeGreaterThan(1);
    expect(dead!.attemptList.every((a: { statusCode: number; latencyMs: number }) => a.statusCode === 503 && a.latencyMs >= 0)).toBe(true);
    await delivery.close();

    await appendCaseEvents(1, 1);
    delivery = startWebhookDelivery({ sql: db.database.sql, transport, log: silentLogger, settings: { ...FAST, disableAfterMs: 300 } });
    const disabled = await waitFor(async () => (await listEndpoints(db.database.sql, { limit: 5 })).find((e) => e.id === ep.id && e.status === 'disabled'), {
      what: 'endpoint disabled',
    });
    expect(disabled!.disabledReason).toMatch(/^failing since/);
    expect(disabled!.pending).toBe(1); // kept, not sent, until someone enables it again
  });

  /** The (record, sequence) of each claimed delivery, from the body Postgres built. */
  const streamOf = (c: ClaimedDelivery) => {
    const e = JSON.parse(c.body) as { aggregate: { id: number; sequence: number } };
    return `${e.aggregate.id}#${e.aggregate.sequence}`;
  };
  const delivered = (id: number) => ({ id, result: { statusCode: 204, latencyMs: 1, error: null, outcome: 'delivered' as const } });
  const unavailable = (id: number) => ({ id, result: { statusCode: 503, latencyMs: 1, error: 'HTTP 503', outcome: 'retry' as const, retryInMs: 0 } });
  const POLICY = { retryForMs: 3_600_000, disableAfterMs: 3_600_000 };

  it('two drains claiming at once take each record’s first pending delivery once; the next waits for it and for its lease', async () => {
    const sql = db.database.sql;
    const ep = await addEndpoint(sql, { url: 'http://127.0.0.1:9/unreachable' });
    const aggregates = await appendCaseEvents(5, 3);
    await fanOut(sql, ep.id);
    const [a, b] = await Promise.all([claimDeliveries(sql, ep.id, 128, 60_000), claimDeliveries(sql, ep.id, 128, 60_000)]);
    const first = [...a, ...b];
    expect(first.map(streamOf).sort()).toEqual(aggregates.map((id) => `${id}#1`).sort());
    // the heads are leased and every other delivery waits behind one: a third drain gets nothing
    expect(await claimDeliveries(sql, ep.id, 128, 60_000)).toEqual([]);

    await finishDeliveries(
      sql,
      ep.id,
      first.map((c) => delivered(c.id)),
      [],
      POLICY,
    );
    const second = await claimDeliveries(sql, ep.id, 128, 60_000);
    expect(second.map(streamOf).sort()).toEqual(aggregates.map((id) => `${id}#2`).sort());
    expect(second.every((c) => c.attempts === 1 && c.url === ep.url)).toBe(true);
    // a drain that died mid-send: once its lease runs out, the same deliveries are handed out again
    await sql`update webhook_deliveries set lease_until = now() - interval '1 second' where id = any(${sql.array(second.map((c) => c.id))}::bigint[])`;
    const again = await claimDeliveries(sql, ep.id, 128, 60_000);
    expect(again.map((c) => c.id).sort()).toEqual(second.map((c) => c.id).sort());
    expect(again.every((c) => c.attempts === 2)).toBe(true);
  });

  it('a batch with one success ends the failing streak; a batch of failures once the streak is old enough disables the endpoint', async () => {
    const sql = db.database.sql;
    const ep = await addEndpoint(sql, { url: 'http://127.0.0.1:9/unreachable' });
    await appendCaseEvents(3, 1);
    await fanOut(sql, ep.id);
    const streak = () => sql`update webhook_endpoints set failing_since = now() - interval '2 hours' where id = ${ep.id}`;
    await streak();
    const [c0, c1, c2] = await claimDeliveries(sql, ep.id, 128, 60_000);
    const mixed = await finishDeliveries(sql, ep.id, [unavailable(c0!.id), delivered(c1!.id), unavailable(c2!.id)], [], POLICY);
    expect(mixed).toMatchObject({ delivered: 1, retrying: 2, failed: 0, endpointDisabled: false });
    expect(await getEndpoint(sql, ep.id)).toMatchObject({ status: 'enabled', failingSince: null });

    await streak();
    const retried = await claimDeliveries(sql, ep.id, 128, 60_000);
    expect(retried.map((c) => c.id).sort()).toEqual([c0!.id, c2!.id].sort());
    const failing = await finishDeliveries(
      sql,
      ep.id,
      retried.map((c) => unavailable(c.id)),
      [],
      POLICY,
    );
    expect(failing).toMatchObject({ delivered: 0, retrying: 2, endpointDisabled: true });
    const disabled = await getEndpoint(sql, ep.id);
    expect(disabled).toMatchObject({ status: 'disabled', pending: 2 });
    expect(disabled.disabledReason).toMatch(/^failing since/);
    const attempts = await sql<{ deliveryId: number; statusCode: number }[]>`
      select delivery_id as "deliveryId", status_code as "statusCode" from webhook_attempts
      where delivery_id = any(${sql.array([c0!.id, c1!.id, c2!.id])}::bigint[]) order by id`;
    expect(attempts).toEqual([
      ...[c0!.id, c1!.id, c2!.id].map((id) => ({ deliveryId: id, statusCode: id === c1!.id ? 204 : 503 })),
      ...retried.map((c) => ({ deliveryId: c.id, statusCode: 503 })),
    ]);
  });

  it('two delivery processes draining one endpoint at once deliver every event, in order per record', async () => {
    const port = await freePort();
    // uneven answers, so the two processes' requests overtake each other
    const rec = (receiver = webhookReceiver(port, (n) => ({ status: 204, delayMs: 10 + ((n * 7) % 30) })));
    await rec.listen();
    const ep = await addEndpoint(db.database.sql, { url: rec.url });
    rec.setSecret(ep.secret);
    const aggregates = await appendCaseEvents(12, 5);
    // a second process: its own queue, its own relay and drains, the same database
    const transport2 = createTestTransport(kind, db.url, 'webhooks_b');
    // batches smaller than the 12 records' heads, so each process's drains find heads the other has not claimed
    const second = startWebhookDelivery({ sql: db.database.sql, transport: transport2, log: silentLogger, settings: FAST, batchSize: 4 });
    delivery = startWebhookDelivery({ sql: db.database.sql, transport, log: silentLogger, settings: FAST, batchSize: 4 });
    const sentBy = [0, 0];
    const count = (i: number) => (_job: unknown, result: string) => (sentBy[i]! += Number(result.split('/')[0]) || 0);
    delivery.worker.on('completed', count(0));
    second.worker.on('completed', count(1));
    try {
      await waitFor(() => allDelivered(ep.id, 60), { what: 'every event delivered', timeoutMs: 45_000 });
      // a drain's job completes (and is counted) just after its results are written
      await waitFor(() => sentBy[0]! + sentBy[1]! >= 60, { what: 'the last drains completed' });
    } finally {
      await second.close();
      await closeTransport(transport2);
    }
    expect(sentBy[0]! + sentBy[1]!).toBe(60);
    expect(sentBy.every((n) => n > 0)).toBe(true);
    const accepted = rec.accepted();
    expect(accepted.map((r) => r.webhookId).sort()).toEqual(await eventIdsOf(aggregates));
    expectInOrderPerRecord(accepted, aggregates, 5);
  });

  it('a shutdown lets the requests in flight finish and releases the claimed deliveries not yet sent', async () => {
    const sql = db.database.sql;
    const port = await freePort();
    const rec = (receiver = webhookReceiver(port, () => ({ status: 204, delayMs: 400 })));
    await rec.listen();
    const ep = await addEndpoint(sql, { url: rec.url });
    rec.setSecret(ep.secret);
    const aggregates = await appendCaseEvents(6, 1);
    const oneAtATime = { ...FAST, timeoutMs: 5000, concurrency: 1 };
    delivery = startWebhookDelivery({ sql, transport, log: silentLogger, settings: oneAtATime });
    await waitFor(() => rec.received.length >= 1, { what: 'a request in flight' });
    await delivery.close();
    delivery = undefined;
    const rows = await sql<{ status: string; attempts: number; leased: boolean; firstAttempt: boolean; tried: number }[]>`
      select d.status, d.attempts, d.lease_until is not null as leased, d.first_attempt_at is not null as "firstAttempt",
             (select count(*)::int from webhook_attempts a where a.delivery_id = d.id) as tried
      from webhook_deliveries d where d.endpoint_id = ${ep.id}`;
    expect(rows.length).toBe(6);
    const sent = rows.filter((r) => r.tried > 0);
    expect(sent.length).toBe(rec.received.length);
    expect(sent.every((r) => r.status === 'delivered' && r.attempts === 1 && !r.leased)).toBe(true);
    const untried = rows.filter((r) => r.tried === 0);
    expect(untried.length).toBeGreaterThan(0);
    expect(untried).toEqual(untried.map(() => ({ status: 'pending', attempts: 0, leased: false, firstAttempt: false, tried: 0 })));

    delivery = startWebhookDelivery({ sql, transport, log: silentLogger, settings: oneAtATime });
    await waitFor(() => allDelivered(ep.id, 6), { what: 'the released deliveries sent after the restart', timeoutMs: 30_000 });
    expect(rec.received.map((r) => r.webhookId).sort()).toEqual(await eventIdsOf(aggregates));
  });

  it('a drain sends nothing it could not finish within its lease, so another process never sends the same delivery alongside', async () => {
    const port = await freePort();
    // one request at a time, each answered after 300 ms: a batch of 14 takes longer than the 3 s lease
    const rec = (receiver = webhookReceiver(port, () => ({ status: 204, delayMs: 300 })));
    await rec.listen();
    const ep = await addEndpoint(db.database.sql, { url: rec.url });
    rec.setSecret(ep.secret);
    const aggregates = await appendCaseEvents(14, 1);
    const slow = { ...FAST, timeoutMs: 1000, concurrency: 1 };
    const transport2 = createTestTransport(kind, db.url, 'webhooks_c');
    const second = startWebhookDelivery({ sql: db.database.sql, transport: transport2, log: silentLogger, settings: slow });
    delivery = startWebhookDelivery({ sql: db.database.sql, transport, log: silentLogger, settings: slow });
    try {
      await waitFor(() => allDelivered(ep.id, 14), { what: 'every event delivered', timeoutMs: 45_000 });
    } finally {
      await second.close();
      await closeTransport(transport2);
    }
    const ids = rec.received.map((r) => r.webhookId);
    expect(ids.sort()).toEqual(await eventIdsOf(aggregates)); // each exactly once
  });
});

/** `capture start --role worker` as a child process on the test's database and queue transport. */
function workerProcess(kind: 'redis' | 'postgres', databaseUrl: string) {
  const dir = mkdtempSync(join(tmpdir(), 'capture-webhooks-'));
  const prefix = usesRedisPrefix(`wh_${process.pid}_${Date.now()}`);
  writeFileSync(
    join(dir, 'capture.config.yaml'),
    `capture: { concurrency: 8, batch_size: 4 }
webhooks: { relay_every: 50ms, timeout: 300ms, backoff_base: 50ms, backoff_max: 400ms, concurrency: 4 }
queue: { prefix: ${prefix} }
rules: ${join(import.meta.dirname, '../../rules/default.yaml')}
`,
  );
  const { REDIS_URL: _r, DATABASE_URL: _d, ...base } = process.env;
  const env = {
    ...base,
    DATABASE_URL: databaseUrl,
    ...(kind === 'redis' ? { REDIS_URL } : {}),
    PORT: '0',
    CAPTURE_CONFIG: join(dir, 'capture.config.yaml'),
    LOG_LEVEL: 'warn',
  };
  const children: ReturnType<typeof spawn>[] = [];
  return {
    start() {
      const child = spawn(process.execPath, [BIN, 'start', '--role', 'worker'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(child);
      return child;
    },
    /** Lose every queued job, as a Redis FLUSHALL would (only this child's keys or queue schema). */
    async flush() {
      if (kind === 'redis') return deleteRedisKeys(prefix);
      const t = { kind: 'postgres' as const, url: databaseUrl, schema: 'bullmq' };
      const q = openQueue(t, WEBHOOKS_QUEUE);
      await q.obliterate({ force: true });
      await q.close();
    },
    async cleanup() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('the webhook HTTP client', () => {
  it('sends again on a fresh connection when the receiver closed a kept-alive one as the request went out', async () => {
    // the second request on any connection finds it closed, as when a receiver's keep-alive timeout
    // fires just as a request is sent
    const requestsOn = new Map<unknown, number>();
    let answered = 0;
    const server = createServer((req, res) => {
      const n = (requestsOn.get(req.socket) ?? 0) + 1;
      requestsOn.set(req.socket, n);
      if (n > 1) return void req.socket.destroy();
      req.resume();
      req.on('end', () => ((answered += 1), res.writeHead(204).end()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agents = createAgents(1);
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
      const d = {
        id: 1,
        endpointId: 1,
        url,
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        attempts: 1,
        eventId: 'evt',
        eventType: 'case.created',
        body: '{}',
      };
      const first = await attempt(d, FAST, agents);
      const second = await attempt(d, FAST, agents);
      expect([first.statusCode, second.statusCode]).toEqual([204, 204]);
      expect(answered).toBe(2);
      expect(requestsOn.size).toBe(2); // the kept-alive connection was reused, then a fresh one made
    } finally {
      agents.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
