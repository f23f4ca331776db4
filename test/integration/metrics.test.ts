import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storePage } from '../../src/db/inbox.repo.js';
import { queueEpoch } from '../../src/db/settings.repo.js';
import { silentLogger } from '../../src/logger.js';
import { fbWebhookSignature } from '../../src/sandbox/facebook.simulator.js';
import { startService, type Service } from '../../src/service.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport, type Transport } from '../../src/workers/queues.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig, waitFor } from '../support/services.js';

const TOKEN = 'metrics-token';
const SECRET = 'metrics-secret';

/** The value of one series in a Prometheus text exposition (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) total += Number(m[3]);
  }
  return total;
}

/** Issue 17, item 6: prom-client counters that only go up, latency histograms, and no staleness for pushed sources. */
describe('metrics', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase('metrics');
    transport = createTestTransport('redis', db.url, 'metrics');
    const config = { ...testConfig(), port: 0, secrets: { apiToken: TOKEN, facebookAppSecret: SECRET } };
    service = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: silentLogger, role: 'all' });
    base = service.api!.url.replace('0.0.0.0', '127.0.0.1');
  });
  afterAll(async () => {
    await service?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
  });

  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };

  it('counts decisions as they happen, keeps counting up after an erasure, and times capture, polls and requests', async () => {
    const before = await scrape();
    const author = `52${process.pid}001`;
    const posts = [makePost({ authorId: author, text: 'how much is it' }), makePost({ authorId: author, text: 'refund please' }), makePost({ text: 'hello' })];
    const stored = await storePage(db.database.sql, 'metrics-test', posts, null);
    await enqueuePosts(service.postsQueue, stored.inserted, 3, await queueEpoch(db.database.sql));
    await waitFor(async () => (await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where status = 'pending'`)[0]!.n === 0, {
      what: 'posts decided',
    });
    const after = await scrape();
    const decided = (t: string) => sample(t, 'capture_posts_decided_total');
    expect(decided(after) - decided(before)).toBe(3);
    expect(sample(after, 'capture_posts_decided_total', { label: 'none' }) - sample(before, 'capture_posts_decided_total', { label: 'none' })).toBe(1);
    expect(sample(after, 'capture_enqueue_to_commit_seconds_count') - sample(before, 'capture_enqueue_to_commit_seconds_count')).toBe(3);
    expect(after).toMatch(/capture_enqueue_to_commit_seconds_bucket\{le="0.005"\}/);
    expect(sample(after, 'capture_api_request_duration_seconds_count', { route: '/metrics' })).toBeGreaterThan(0);
    expect(after).toContain('process_cpu_user_seconds_total');
    expect(after).toContain('# TYPE capture_poll_duration_seconds histogram');

    const erased = await fetch(`${base}/api/erasures`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ platform: 'twitter', userId: author, mode: 'delete' }),
    });
    expect(erased.status).toBe(200);
    const later = await scrape();
    expect(decided(later)).toBe(decided(after)); // rows went; the counter did not go down
    expect(sample(later, 'capture_api_requests_total', { route: '/api/erasures', status: '200' })).toBe(1);
  });

  it('the webhook counts its deliveries and reports no staleness for itself', async () => {
    const raw = JSON.stringify({
      object: 'page',
      entry: [
        {
          id: '1',
          time: 1,
          changes: [
            {
              field: 'feed',
              value: { item: 'status', verb: 'add', post_id: '1_424242', created_time: 1_790_000_000, from: { id: '777', name: 'V' }, message: 'hi' },
            },
          ],
        },
      ],
    });
    const post = (sig: string) =>
      fetch(`${base}/webhooks/facebook`, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig } });
    expect((await post(fbWebhookSignature(SECRET, raw))).status).toBe(200);
    expect((await post('sha256=00')).status).toBe(401);
    const text = await scrape();
    expect(sample(text, 'capture_webhook_requests_total', { platform: 'facebook', result: 'stored' })).toBe(1);
    expect(sample(text, 'capture_webhook_requests_total', { platform: 'facebook', result: 'refused' })).toBe(1);
    expect(sample(text, 'capture_posts_stored_total', { source: 'facebook-webhook' })).toBe(1);
    expect(text).not.toMatch(/capture_source_last_success_age_seconds\{source="facebook-webhook"\}/);
  });
});
