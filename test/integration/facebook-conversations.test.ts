import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigFile, type SourceConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startFacebookSimulator, type FacebookSimulator, type PublishOptions } from '../../src/sandbox/facebook.simulator.js';
import type { SocialPost } from '../../src/types.js';
import { connectorFor } from '../../src/service.js';
import { pollSource } from '../../src/workers/poll.worker.js';
import { closeTransport, openQueue, POSTS_QUEUE, type CaptureJobData, type Transport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport } from '../support/services.js';

/** All of a Page's conversation by polling alone: tagged posts, and comments on older and visitor posts. */

const PAGE = '3344556677';
const DAY = 86_400_000;

describe('Facebook: tagged posts and comments on the posts of the last 30 days, by polling', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sim: FacebookSimulator;
  let transport: Transport;

  beforeAll(async () => {
    db = await createTestDatabase('fb_conversations');
    transport = createTestTransport('redis', db.url, 'fb_conversations');
  });
  afterAll(async () => {
    await closeTransport(transport);
    await db.drop();
  });
  afterEach(async () => {
    await sim?.close();
  });

  let seq = 0;
  function item(text: string, author: string, reply?: { to: string; conversation: string }): SocialPost {
    seq += 1;
    return {
      platform: 'facebook',
      id: `conv-${seq}`,
      text,
      created_at: new Date().toISOString(),
      author: { id: author, name: `Person ${author}` },
      ...(reply ? { in_reply_to: reply.to, conversation_id: reply.conversation } : {}),
    };
  }
  /** Publish, returning the Graph id and the sandbox id (to reply to it). */
  function publish(p: SocialPost, o: PublishOptions = {}) {
    return { graphId: sim.publish(PAGE, p, o).id, ref: p.id };
  }
  const source = (extra = ''): SourceConfig =>
    parseConfigFile(`sources:\n  - { id: fb-conv, platform: facebook, kind: page, page_id: "${PAGE}"${extra} }\n`, 'test').sources[0]!;
  const poll = (s: SourceConfig) =>
    pollSource(
      db.database.sql,
      openQueue<CaptureJobData>(transport, POSTS_QUEUE),
      connectorFor(s, { facebook: { pageToken: 'sandbox-page-token', baseUrl: sim.url }, timeoutMs: 5000 }, silentLogger),
      3,
    );
  const stored = async () =>
    (await db.database.sql<{ id: string }[]>`select external_id as id from social_posts where source_id = 'fb-conv' order by 1`).map((r) => r.id);
  const commentReads = (from: number) =>
    sim.requests
      .slice(from)
      .filter((r) => r.path.endsWith('/comments'))
      .map((r) => r.path.split('/')[2]);

  it('stores tagged posts, comments on a two-week-old Page post and on visitor and tagged posts; reads only the posts that changed', async () => {
    await db.database.sql`delete from social_posts where source_id = 'fb-conv'`;
    await db.database.sql`delete from source_cursors where source_id = 'fb-conv'`;
    sim = await startFacebookSimulator();
    const old = publish(item('Our winter menu is out', PAGE), { lateByMs: 14 * DAY }); // the Page's own post
    const quiet = publish(item('Opening hours over the holidays', PAGE), { lateByMs: 10 * DAY });
    const visitor = publish(item('Is the Riverside store open Sunday?', '901'), { lateByMs: 3_600_000 });
    const tagged = publish(item('Great coffee at @Acme today', '902'), { tagged: true, lateByMs: 1_800_000 });
    const s = source();

    await poll(s);
    // the Page's own posts are not captured; the visitor post and the tagged one are
    expect(await stored()).toEqual([visitor.graphId, tagged.graphId].sort());

    const onOld = publish(item('My order from the winter menu never came', '903', { to: old.ref, conversation: old.ref }));
    const replyOnOld = publish(item('Same here, still waiting', '904', { to: onOld.ref, conversation: old.ref }));
    const onVisitor = publish(item('It was closed last Sunday', '905', { to: visitor.ref, conversation: visitor.ref }));
    const onTagged = publish(item('Which shop was that?', '906', { to: tagged.ref, conversation: tagged.ref }));
    const newTagged = publish(item('@Acme charged me twice', '907'), { tagged: true });
    const before = sim.requests.length;
    await poll(s);
    expect(await stored()).toEqual([visitor, tagged, onOld, replyOnOld, onVisitor, onTagged, newTagged].map((x) => x.graphId).sort());
    // comments were read on the posts that changed (and the new one), never on the quiet post
    expect(commentReads(before).sort()).toEqual([old.graphId, visitor.graphId, tagged.graphId, newTagged.graphId].sort());
    expect(commentReads(before)).not.toContain(quiet.graphId);

    const idle = sim.requests.length;
    await poll(s);
    expect(commentReads(idle)).toEqual([]); // nothing changed: no comment reads at all
  });

  it('follows comments only within the conversation window', async () => {
    await db.database.sql`delete from social_posts where source_id = 'fb-conv'`;
    await db.database.sql`delete from source_cursors where source_id = 'fb-conv'`;
    sim = await startFacebookSimulator();
    const old = publish(item('Autumn menu', PAGE), { lateByMs: 14 * DAY });
    const s = source(', conversation_window: 7d');
    await poll(s);
    publish(item('Still hungry for the autumn menu', '911', { to: old.ref, conversation: old.ref }));
    await poll(s);
    expect(await stored()).toEqual([]); // a 14-day-old post is outside a 7-day window
  });
});
