import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigFile, type SourceConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startFacebookSimulator, type FacebookSimulator } from '../../src/sandbox/facebook.simulator.js';
import { startTwitterSimulator, type TwitterSimulator } from '../../src/sandbox/twitter.simulator.js';
import type { SocialPost } from '../../src/types.js';
import { connectorFor } from '../../src/service.js';
import { pollSource } from '../../src/workers/poll.worker.js';
import { closeTransport, openQueue, POSTS_QUEUE, type CaptureJobData, type Transport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport } from '../support/services.js';

/** Late posts (overlap) and the first poll's reach (backfill), with sources built from config text. */

const QUERY = 'acme late';
const PAGE = '5566778899';
const MIN = 60_000;
const DAY = 86_400_000;

let postSeq = 0;
/** A root post by a fresh author; the simulator gives it its platform id. */
function post(platform: 'twitter' | 'facebook', text: string): SocialPost {
  postSeq += 1;
  return {
    platform,
    id: `src-${postSeq}`,
    text,
    created_at: new Date().toISOString(),
    author: { id: String(700_000 + postSeq), handle: `late${postSeq}`, name: `Late ${postSeq}` },
  };
}

/** The one source of a config file's text, validated as the service validates it. */
function source(yaml: string): SourceConfig {
  return parseConfigFile(`sources:\n${yaml}`, 'test').sources[0]!;
}

describe('late posts and backfill depth, per source', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let x: TwitterSimulator;
  let fb: FacebookSimulator;
  let transport: Transport;

  beforeAll(async () => {
    db = await createTestDatabase('late_backfill');
    transport = createTestTransport('redis', db.url, 'late_backfill');
  });
  afterAll(async () => {
    await closeTransport(transport);
    await db.drop();
  });
  afterEach(async () => {
    await x?.close();
    await fb?.close();
  });

  const endpoints = () => ({
    twitter: { bearerToken: 'sandbox-token', baseUrl: x.url },
    facebook: { pageToken: 'sandbox-page-token', baseUrl: fb.url },
    timeoutMs: 5000,
  });
  const poll = (s: SourceConfig) =>
    pollSource(db.database.sql, openQueue<CaptureJobData>(transport, POSTS_QUEUE), connectorFor(s, endpoints(), silentLogger), 3);
  const stored = async (sourceId: string) =>
    (await db.database.sql<{ id: string }[]>`select external_id as id from social_posts where source_id = ${sourceId} order by 1`).map((r) => r.id);

  it('X: posts that reach search up to 10 minutes late are all stored with the default overlap', async () => {
    x = await startTwitterSimulator();
    fb = await startFacebookSimulator();
    const s = source(`  - { id: x-late, platform: twitter, kind: search, query: "${QUERY}" }`);
    const onTime = [x.publish({ search: QUERY }, post('twitter', 'first')).id];
    await poll(s);
    expect(await stored('x-late')).toEqual(onTime);
    // indexed late: their ids are older than the newest one already read
    const late = [1, 4, 8, 9.5].map((m) => x.publish({ search: QUERY }, post('twitter', `late ${m}m`), { lateByMs: m * MIN }).id);
    onTime.push(x.publish({ search: QUERY }, post('twitter', 'second')).id);
    await poll(s);
    expect(await stored('x-late')).toEqual([...onTime, ...late].sort());
  });

  it('X: an overlap set per source is the one used', async () => {
    x = await startTwitterSimulator();
    fb = await startFacebookSimulator();
    const s = source(`  - { id: x-short, platform: twitter, kind: search, query: "${QUERY} short", overlap: 1m }`);
    const first = x.publish({ search: `${QUERY} short` }, post('twitter', 'first')).id;
    await poll(s);
    const inside = x.publish({ search: `${QUERY} short` }, post('twitter', 'late 20s'), { lateByMs: 20_000 }).id;
    x.publish({ search: `${QUERY} short` }, post('twitter', 'late 5m'), { lateByMs: 5 * MIN });
    await poll(s);
    // the 5-minute-late post is beyond this source's 1-minute overlap: the setting took effect
    expect(await stored('x-short')).toEqual([first, inside].sort());
  });

  it('Facebook: posts that reach the Page up to 10 minutes late are all stored with the default overlap', async () => {
    x = await startTwitterSimulator();
    fb = await startFacebookSimulator();
    const s = source(`  - { id: fb-late, platform: facebook, kind: page, page_id: "${PAGE}" }`);
    const onTime = [fb.publish(PAGE, post('facebook', 'first')).id];
    await poll(s);
    const late = [1, 4, 8, 9.5].map((m) => fb.publish(PAGE, post('facebook', `late ${m}m`), { lateByMs: m * MIN }).id);
    await poll(s);
    expect(await stored('fb-late')).toEqual([...onTime, ...late].sort());
  });

  it.each([
    ['search', (q: string) => ({ search: `${QUERY} ${q}` }), (q: string) => `kind: search, query: "${QUERY} ${q}"`],
    ['mentions', (q: string) => ({ mentions: q === 'deep' ? '42' : '44' }), (q: string) => `kind: mentions, user_id: "${q === 'deep' ? '42' : '44'}"`],
  ] as const)('X %s: backfill: 3d picks up three days on the first poll, the default one day', async (kind, stream, spec) => {
    x = await startTwitterSimulator();
    fb = await startFacebookSimulator();
    const ages = [0.1, 0.9, 1.5, 2.9, 3.2, 6];
    const deep = ages.map((d) => x.publish(stream('deep'), post('twitter', `${d} days ago`), { lateByMs: d * DAY }).id);
    const day = ages.map((d) => x.publish(stream('day'), post('twitter', `${d} days ago`), { lateByMs: d * DAY }).id);
    await poll(source(`  - { id: x-deep-${kind}, platform: twitter, ${spec('deep')}, backfill: 3d }`));
    await poll(source(`  - { id: x-day-${kind}, platform: twitter, ${spec('day')} }`));
    expect(await stored(`x-deep-${kind}`)).toEqual(deep.slice(0, 4).sort());
    expect(await stored(`x-day-${kind}`)).toEqual(day.slice(0, 2).sort());
  });

  it('Facebook: backfill: 3d picks up three days of the Page on the first poll, the default one day', async () => {
    x = await startTwitterSimulator();
    fb = await startFacebookSimulator();
    const pageA = '5566778801';
    const pageB = '5566778802';
    const within = [0.1, 1.5, 2.9].map((d) => fb.publish(pageA, post('facebook', `${d} days ago`), { lateByMs: d * DAY }).id);
    fb.publish(pageA, post('facebook', '3.2 days ago'), { lateByMs: 3.2 * DAY });
    const dayB = [0.5].map((d) => fb.publish(pageB, post('facebook', `${d} days ago`), { lateByMs: d * DAY }).id);
    fb.publish(pageB, post('facebook', '1.5 days ago'), { lateByMs: 1.5 * DAY });
    await poll(source(`  - { id: fb-deep, platform: facebook, kind: page, page_id: "${pageA}", backfill: 3d }`));
    await poll(source(`  - { id: fb-day, platform: facebook, kind: page, page_id: "${pageB}" }`));
    expect(await stored('fb-deep')).toEqual(within.sort());
    expect(await stored('fb-day')).toEqual(dayB);
  });

  it('the mentions simulator serves only the 800 newest mentions, as X does', async () => {
    x = await startTwitterSimulator();
    fb = await startFacebookSimulator();
    const ids = Array.from({ length: 805 }, (_, i) => x.publish({ mentions: '43' }, post('twitter', `m${i}`), { lateByMs: (805 - i) * 1000 }).id);
    await poll(source('  - { id: x-800, platform: twitter, kind: mentions, user_id: "43", backfill: 30d }'));
    const got = await stored('x-800');
    expect(got).toHaveLength(800);
    expect(got).toEqual(ids.slice(5).sort());
  });
});
