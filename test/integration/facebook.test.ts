import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SourceConfig } from '../../src/config.js';
import {
  appSecretProof,
  createFacebookConnector,
  createGraphClient,
  parseFbCursor,
  type FacebookConnectorOptions,
} from '../../src/connectors/facebook.connector.js';
import { sandboxPost } from '../../src/connectors/sandbox.connector.js';
import type { Connector } from '../../src/connectors/types.js';
import { ConnectorError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { startFacebookSimulator, type FacebookSimulator, type PublishedFbItem } from '../../src/sandbox/facebook.simulator.js';
import { startTwitterSimulator, type TwitterSimulator } from '../../src/sandbox/twitter.simulator.js';
import { startService, type Service } from '../../src/service.js';
import { createPollProcessor, pollSource } from '../../src/workers/poll.worker.js';
import { closeTransport, openQueue, POLL_JOB, POSTS_QUEUE, type CaptureJobData, type PollJobData, type Transport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig, waitFor } from '../support/services.js';

const PAGE = '1122334455';

describe('Facebook connector against the Graph API simulator', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sim: FacebookSimulator;
  let xsim: TwitterSimulator | undefined;
  let transport: Transport;
  let service: Service | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('facebook');
  });
  afterAll(async () => {
    await db.drop();
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    await sim?.close();
    await xsim?.close();
    xsim = undefined;
    await closeTransport(transport);
  });

  let seedSeq = 0;
  /** Publish `n` sandbox posts (roots become feed posts, replies comments) on a page. */
  function publish(n: number, pageId = PAGE, opts: { lateByMs?: number } = {}): PublishedFbItem[] {
    seedSeq += 1;
    // its own sandbox id range (pageId prefixes them), so replies only ever answer posts of this batch
    const o = { sourceId: `fb${seedSeq}`, platform: 'facebook' as const, seed: 40 + seedSeq, pageId: `9${seedSeq}`, replyRate: 0.4 };
    return Array.from({ length: n }, (_, i) => sim.publish(pageId, sandboxPost(o, i + 1), opts));
  }
  function connector(sourceId: string, extra: Partial<FacebookConnectorOptions> = {}, appSecret?: string): Connector {
    const client = createGraphClient({ pageToken: 'sandbox-page-token', appSecret, baseUrl: `${sim.url}/v25.0`, timeoutMs: 2000 });
    return createFacebookConnector({ sourceId, pageId: PAGE, client, pageSize: 10, ...extra });
  }
  const storedIds = async (sourceId: string) =>
    (await db.database.sql<{ id: string }[]>`select external_id as id from social_posts where source_id = ${sourceId}`).map((r) => r.id).sort();
  const sourceRow = async (sourceId: string) =>
    (
      await db.database.sql<{ cursor: string | null; healthy: boolean; lastError: string | null; blockedUntil: string | null }[]>`
        select cursor, healthy, last_error as "lastError", blocked_until as "blockedUntil" from source_cursors where source_id = ${sourceId}`
    )[0];

  it('stores every post and comment once across pages, duplicates, a crash, a restart and a late post, with appsecret_proof', async () => {
    sim = await startFacebookSimulator({ appSecret: 'APPSECRET' });
    transport = createTestTransport('redis', db.url, 'fb_once');
    const q = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    const items = publish(40);
    expect(items.some((i) => i.kind === 'comment')).toBe(true);
    sim.faults.push({ kind: 'duplicate', edge: 'feed', followUpOnly: true }, { kind: 'server_error', edge: 'feed', followUpOnly: true });
    await expect(pollSource(db.database.sql, q, connector('fb-once', {}, 'APPSECRET'), 3)).rejects.toMatchObject({ code: 'temporary' });
    expect((await sourceRow('fb-once'))?.cursor ?? null).toBeNull();

    await pollSource(db.database.sql, q, connector('fb-once', {}, 'APPSECRET'), 3); // a restarted process
    expect(await storedIds('fb-once')).toEqual(items.map((i) => i.id).sort());
    const watermark = parseFbCursor((await sourceRow('fb-once'))!.cursor).w;
    expect(watermark).toBe(Math.max(...items.map((i) => i.createdTime)));

    const more = [...publish(10), ...publish(3, PAGE, { lateByMs: 30_000 })];
    await pollSource(db.database.sql, q, connector('fb-once', {}, 'APPSECRET'), 3);
    expect(await storedIds('fb-once')).toEqual([...items, ...more].map((i) => i.id).sort());
    const proof = appSecretProof('APPSECRET', 'sandbox-page-token');
    expect(sim.requests.every((r) => r.query.get('appsecret_proof') === proof && r.query.get('access_token') === 'sandbox-page-token')).toBe(true);
    expect(sim.requests.some((r) => r.query.has('after'))).toBe(true); // paging.next was followed
    expect(sim.requests.every((r) => r.status !== 400)).toBe(true);

    // a comment keeps its thread: parent comment or post, and the post as conversation
    const comment = items.find((i) => i.kind === 'comment')!;
    const [row] = await db.database.sql<{ inReplyTo: string; conversationId: string }[]>`
      select in_reply_to as "inReplyTo", conversation_id as "conversationId" from social_posts where external_id = ${comment.id}`;
    expect(row).toEqual({ inReplyTo: comment.parentId ?? comment.postId, conversationId: comment.postId });
    await q.close();
  });

  it('is refused without appsecret_proof when the app requires it', async () => {
    sim = await startFacebookSimulator({ appSecret: 'APPSECRET' });
    transport = createTestTransport('redis', db.url, 'fb_proof');
    const q = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    publish(3);
    const err = await pollSource(db.database.sql, q, connector('fb-proof'), 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as Error).message).toMatch(/appsecret_proof/);
    await q.close();
  });

  it('backs off before the limit when the usage headers near 100%', async () => {
    sim = await startFacebookSimulator();
    transport = createTestTransport('redis', db.url, 'fb_usage');
    const q = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    publish(30);
    sim.setUsage(90);
    const c = connector('fb-usage', { usageThreshold: 85, usageBackoffMs: 60_000 });
    const err = await pollSource(db.database.sql, q, c, 3).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'rate_limited' });
    expect((err as ConnectorError).retryAfterMs).toBeGreaterThan(55_000);
    expect(sim.requests).toHaveLength(1); // the first answer said 90%: nothing more was sent
    expect(sim.requests.some((r) => r.status === 403)).toBe(false);
    await expect(pollSource(db.database.sql, q, c, 3)).rejects.toMatchObject({ code: 'rate_limited' });
    expect(sim.requests).toHaveLength(1);
    await q.close();
  });

  it.each([4, 17, 32, 613] as const)('Graph error %i is a rate limit: the source waits, healthy, without requests', async (code) => {
    sim = await startFacebookSimulator();
    transport = createTestTransport('redis', db.url, `fb_rl${code}`);
    const q = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    publish(3);
    sim.faults.push({ kind: 'rate_limit', code });
    const sourceId = `fb-rl-${code}`;
    const processor = createPollProcessor({
      sql: db.database.sql,
      log: silentLogger,
      postsQueue: q,
      connectors: new Map([[sourceId, connector(sourceId, { rateLimitWaitMs: 30_000 })]]),
      attempts: 3,
      reconcileGraceMs: 0,
    });
    const job = { name: POLL_JOB, data: { sourceId } } as Job<PollJobData>;
    expect(await processor(job)).toMatchObject({ code: 'rate_limited' });
    const row = await sourceRow(sourceId);
    expect(row!.healthy).toBe(true);
    expect(row!.lastError).toMatch(new RegExp(`Graph error ${code}`));
    expect(new Date(row!.blockedUntil!).getTime()).toBeGreaterThan(Date.now() + 20_000);
    expect(await processor(job)).toMatchObject({ skipped: 'blocked' });
    expect(sim.requests).toHaveLength(1);
    await q.close();
  });

  it('a malformed page neither stores anything of itself nor moves the watermark', async () => {
    sim = await startFacebookSimulator();
    transport = createTestTransport('redis', db.url, 'fb_bad');
    const q = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    const items = publish(25);
    await pollSource(db.database.sql, q, connector('fb-bad'), 3);
    const before = (await sourceRow('fb-bad'))!.cursor;
    const more = publish(25);
    sim.faults.push({ kind: 'malformed', edge: 'feed', followUpOnly: true });
    await expect(pollSource(db.database.sql, q, connector('fb-bad'), 3)).rejects.toMatchObject({ code: 'bad_response' });
    expect((await sourceRow('fb-bad'))!.cursor).toBe(before);
    sim.faults.push({ kind: 'missing_fields', times: 100 });
    await pollSource(db.database.sql, q, connector('fb-bad'), 3);
    expect(await storedIds('fb-bad')).toEqual([...items, ...more].map((i) => i.id).sort());
    await q.close();
  });

  it('an expired Page token marks only that source unhealthy; an X source beside it keeps polling', async () => {
    sim = await startFacebookSimulator();
    xsim = await startTwitterSimulator();
    transport = createTestTransport('redis', db.url, 'fb_auth');
    const sources: SourceConfig[] = [
      { id: 'fb-auth', platform: 'facebook', kind: 'page', page_id: PAGE, every: 100, enabled: true },
      { id: 'fb-auth-x', platform: 'twitter', kind: 'search', query: 'acme', every: 100, enabled: true },
    ];
    sim.faults.push({ kind: 'expired_token', times: 1_000 });
    service = await startService({
      config: { ...testConfig(), sources },
      database: db.database,
      transport,
      ruleset: TEST_RULES,
      log: silentLogger,
      role: 'poller',
      endpoints: {
        facebook: { pageToken: 'sandbox-page-token', baseUrl: sim.url },
        twitter: { bearerToken: 'sandbox-token', baseUrl: xsim.url },
      },
    });
    const down = await waitFor(async () => ((await sourceRow('fb-auth'))?.healthy === false ? sourceRow('fb-auth') : null), { what: 'fb unhealthy' });
    expect(down!.lastError).toMatch(/190\/463.*FACEBOOK_PAGE_TOKEN/);
    const opts = { sourceId: 'fbx', platform: 'twitter' as const, seed: 9, idBase: '1797000000000000000' };
    const ids = Array.from({ length: 6 }, (_, i) => xsim!.publish({ search: 'acme' }, sandboxPost(opts, i + 1)).id).sort();
    await waitFor(async () => (await storedIds('fb-auth-x')).length === 6, { what: 'X still polled' });
    expect(await storedIds('fb-auth-x')).toEqual(ids);
    expect((await sourceRow('fb-auth-x'))!.healthy).toBe(true);
  });
});
