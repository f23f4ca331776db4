import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACEBOOK_WEBHOOK_SOURCE } from '../../src/api/server.js';
import { createFacebookConnector, createGraphClient } from '../../src/connectors/facebook.connector.js';
import { sandboxPost } from '../../src/connectors/sandbox.connector.js';
import { queueEpoch } from '../../src/db/settings.repo.js';
import { silentLogger } from '../../src/logger.js';
import { fbWebhookBody, fbWebhookSignature, startFacebookSimulator, type FacebookSimulator } from '../../src/sandbox/facebook.simulator.js';
import { startService, type Service } from '../../src/service.js';
import { pollSource } from '../../src/workers/poll.worker.js';
import { closeTransport, type Transport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig } from '../support/services.js';

const PAGE = '1122334455';
const SECRET = 'test_app_secret';

describe('the api role: health and the Facebook Page webhook', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service;
  let sim: FacebookSimulator;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase('webhook');
    transport = createTestTransport('redis', db.url, 'webhook');
    sim = await startFacebookSimulator();
    const config = {
      ...testConfig(),
      port: 0,
      secrets: { facebookAppSecret: SECRET, facebookVerifyToken: 'verify-me' },
    };
    service = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: silentLogger, role: 'api' });
    base = service.api!.url.replace('0.0.0.0', '127.0.0.1');
  });
  afterAll(async () => {
    await service.close();
    await sim.close();
    await closeTransport(transport);
    await db.drop();
  });

  const count = async (sql = db.database.sql) => (await sql<{ n: number }[]>`select count(*)::int as n from social_posts`)[0]!.n;
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/webhooks/facebook`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

  let seq = 0;
  function publish(n: number) {
    seq += 1;
    const o = { sourceId: `wh${seq}`, platform: 'facebook' as const, seed: 70 + seq, pageId: `8${seq}`, replyRate: 0.5 };
    return Array.from({ length: n }, (_, i) => sim.publish(PAGE, sandboxPost(o, i + 1)));
  }

  it('answers /healthz and /readyz', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('verifies the subscription with hub.verify_token, and only with it', async () => {
    const ok = await fetch(`${base}/webhooks/facebook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await fetch(`${base}/webhooks/facebook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-you`);
    expect(wrong.status).toBe(403);
  });

  it.each([
    ['unsigned', () => ({})],
    ['signed with another secret', (body: string) => ({ 'x-hub-signature-256': fbWebhookSignature('not-the-secret', body) })],
    ['signed over other bytes', (body: string) => ({ 'x-hub-signature-256': fbWebhookSignature(SECRET, body.replace('"add"', '"add" ')) })],
    ['sha1 only', () => ({ 'x-hub-signature': 'sha1=0000000000000000000000000000000000000000' })],
  ])('refuses a forged delivery (%s) with 401 and stores nothing', async (_label, sign) => {
    const body = fbWebhookBody(publish(3));
    const before = await count();
    const res = await post(body, sign(body));
    expect(res.status).toBe(401);
    expect(await count()).toBe(before);
  });

  it('stores a signed delivery once, however often Meta repeats it, and queues it for capture', async () => {
    const items = publish(4);
    const body = fbWebhookBody(items);
    const headers = { 'x-hub-signature-256': fbWebhookSignature(SECRET, body) };
    const first = await post(body, headers);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ received: 4, new: 4 });
    expect(await (await post(body, headers)).json()).toMatchObject({ received: 4, new: 0 });
    const rows = await db.database.sql<{ id: string; source: string }[]>`
      select external_id as id, source_id as source from social_posts where external_id = any(${db.database.sql.array(items.map((i) => i.id))})`;
    expect(rows.map((r) => r.id).sort()).toEqual(items.map((i) => i.id).sort());
    expect(new Set(rows.map((r) => r.source))).toEqual(new Set([FACEBOOK_WEBHOOK_SOURCE]));
    const epoch = await queueEpoch(db.database.sql);
    for (const i of items) expect(await service.postsQueue.getJob(`fb-${i.id}-${epoch}`)).toBeTruthy();
  });

  it('a post pushed by webhook and then polled is stored once, the same post', async () => {
    const items = publish(6);
    const pushed = items.slice(0, 3);
    const body = fbWebhookBody(pushed);
    expect((await post(body, { 'x-hub-signature-256': fbWebhookSignature(SECRET, body) })).status).toBe(200);
    const client = createGraphClient({ pageToken: 'sandbox-page-token', baseUrl: `${sim.url}/v25.0` });
    const connector = createFacebookConnector({ sourceId: 'wh-poll', pageId: PAGE, client });
    const r = await pollSource(db.database.sql, service.postsQueue, connector, 3);
    const ids = items.map((i) => i.id);
    const rows = await db.database.sql<{ id: string; source: string; payload: { in_reply_to?: string; conversation_id?: string } }[]>`
      select external_id as id, source_id as source, payload from social_posts where external_id = any(${db.database.sql.array(ids)})`;
    expect(rows).toHaveLength(6);
    expect(
      rows
        .filter((x) => x.source === FACEBOOK_WEBHOOK_SOURCE)
        .map((x) => x.id)
        .sort(),
    ).toEqual(pushed.map((i) => i.id).sort());
    expect(r.fetched - r.inserted).toBeGreaterThanOrEqual(3); // the poll saw the pushed ones again and stored nothing new for them
    // webhook and poll describe a comment alike: same parent, same conversation
    for (const i of items.filter((x) => x.kind === 'comment')) {
      const row = rows.find((x) => x.id === i.id)!;
      expect(row.payload).toMatchObject({ in_reply_to: i.parentId ?? i.postId, conversation_id: i.postId });
    }
  });

  it('a body whose signature checks out but is not JSON is a 400, and nothing is stored', async () => {
    const before = await count();
    const body = '{"object":"page","entry":[';
    const res = await post(body, { 'x-hub-signature-256': fbWebhookSignature(SECRET, body) });
    expect(res.status).toBe(400);
    expect(await count()).toBe(before);
  });

  it('refuses every delivery when FACEBOOK_APP_SECRET is not set', async () => {
    const other = createTestTransport('redis', db.url, 'webhook_nosecret');
    const s = await startService({
      config: { ...testConfig(), port: 0 },
      database: db.database,
      transport: other,
      ruleset: TEST_RULES,
      log: silentLogger,
      role: 'api',
    });
    try {
      const body = fbWebhookBody(publish(1));
      const res = await fetch(`${s.api!.url.replace('0.0.0.0', '127.0.0.1')}/webhooks/facebook`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': fbWebhookSignature('', body) },
      });
      expect(res.status).toBe(401);
    } finally {
      await s.close();
      await closeTransport(other);
    }
  });
});
