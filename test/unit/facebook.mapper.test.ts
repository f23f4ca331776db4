import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validWebhookSignature } from '../../src/api/server.js';
import {
  appSecretProof,
  fbTime,
  fbUsage,
  mapFbComment,
  mapFbPost,
  parseFbCursor,
  mapFbWebhook,
  versionedGraphBase,
  type FbListResponse,
  type FbPost,
} from '../../src/connectors/facebook.connector.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures', name), 'utf8');
const feed = JSON.parse(fixture('fb-feed-page.json')) as FbListResponse<FbPost>;
const PAGE = '104857600000001';

describe('Graph items → posts', () => {
  it("maps a feed post; the Page's own post is left out", () => {
    expect(mapFbPost(feed.data[0]!, PAGE)).toEqual({
      post: {
        platform: 'facebook',
        id: '104857600000001_771234567890123',
        text: 'Is the Riverside store open on Sunday?',
        created_at: '2025-03-14T09:26:53.000Z',
        author: { id: '6543210987654321', name: 'Jane Doe' },
        conversation_id: '104857600000001_771234567890123',
      },
    });
    expect(mapFbPost(feed.data[1]!, PAGE)).toEqual({ own: true });
  });

  it("maps a reply comment under its parent comment, in the post's conversation", () => {
    const r = mapFbComment(
      {
        id: '771234567890123_1203349999000111',
        message: 'yes, 9–5',
        created_time: '2025-03-14T10:05:40+0000',
        from: { id: '7777000011112222', name: 'Sam Lee' },
        parent: { id: '771234567890123_1203344556677889' },
      },
      '104857600000001_771234567890123',
      PAGE,
    );
    expect(r.post).toMatchObject({ in_reply_to: '771234567890123_1203344556677889', conversation_id: '104857600000001_771234567890123' });
  });

  it('rejects an item whose author the token may not see', () => {
    const { from: _from, ...anonymous } = feed.data[0]!;
    expect(mapFbPost(anonymous as FbPost, PAGE).rejected?.reason).toMatch(/from/);
  });

  it.each([
    ['2025-03-14T09:26:53+0000', '2025-03-14T09:26:53.000Z'],
    ['2025-03-14T11:26:53+0200', '2025-03-14T09:26:53.000Z'],
    [1741944411, '2025-03-14T09:26:51.000Z'],
    ['yesterday', undefined],
  ])('fbTime(%j) = %j', (input, expected) => {
    expect(fbTime(input)).toBe(expected);
  });
});

describe('Page webhook', () => {
  const body = fixture('fb-webhook-comment.json');

  it('checks X-Hub-Signature-256 against the reference vector, over the raw bytes', () => {
    const sig = 'sha256=8172dd95b7a56aef4d6fb1bbf046a876c2049492c01a75f303528a63711f1088';
    expect(validWebhookSignature(Buffer.from(body), sig, 'test_app_secret')).toBe(true);
    expect(validWebhookSignature(Buffer.from(JSON.stringify(JSON.parse(body), null, 1)), sig, 'test_app_secret')).toBe(false);
    expect(validWebhookSignature(Buffer.from(body), sig, 'other_secret')).toBe(false);
    expect(validWebhookSignature(Buffer.from(body), undefined, 'test_app_secret')).toBe(false);
    expect(validWebhookSignature(Buffer.from(body), 'sha256=short', 'test_app_secret')).toBe(false);
  });

  it('maps a comment event to the post polling yields for it', () => {
    const { posts, rejected } = mapFbWebhook(JSON.parse(body));
    expect(rejected).toEqual([]);
    expect(posts).toEqual([
      {
        platform: 'facebook',
        id: '771234567890123_1203344556677889',
        text: 'Same problem here',
        created_at: '2025-03-14T09:26:51.000Z',
        author: { id: '6543210987654321', name: 'Jane Doe' },
        in_reply_to: '104857600000001_771234567890123',
        conversation_id: '104857600000001_771234567890123',
      },
    ]);
  });

  it('threads a reply to a comment under that comment', () => {
    const payload = JSON.parse(body) as { entry: { changes: { value: Record<string, unknown> }[] }[] };
    Object.assign(payload.entry[0]!.changes[0]!.value, { comment_id: '771234567890123_1203349999000111', parent_id: '771234567890123_1203344556677889' });
    expect(mapFbWebhook(payload).posts[0]).toMatchObject({
      id: '771234567890123_1203349999000111',
      in_reply_to: '771234567890123_1203344556677889',
      conversation_id: '104857600000001_771234567890123',
    });
  });

  it("ignores reactions, removals and the Page's own replies", () => {
    const payload = JSON.parse(body) as { entry: { changes: { value: Record<string, unknown> }[] }[] };
    const change = payload.entry[0]!.changes[0]!;
    payload.entry[0]!.changes = [
      { ...change, value: { ...change.value, item: 'reaction', reaction_type: 'like' } },
      { ...change, value: { ...change.value, verb: 'remove' } },
      { ...change, value: { ...change.value, from: { id: PAGE, name: 'Acme Coffee' } } },
    ];
    expect(mapFbWebhook(payload)).toEqual({ posts: [], rejected: [], ignored: 3 });
  });
});

describe('Graph plumbing', () => {
  it('computes appsecret_proof as the reference vector says', () => {
    expect(appSecretProof('APPSECRET', 'EAAB-token')).toBe('1ab151da58d68fd5aa5d8e2d2ce7d1030dd2d9c4e05d319ab449ea60207863be');
  });

  it("reads the highest usage share and Meta's wait estimate from the usage headers", () => {
    expect(fbUsage({})).toEqual({ percent: 0, regainMs: 0 });
    expect(
      fbUsage({
        'x-app-usage': '{"call_count":28,"total_cputime":25,"total_time":25}',
        'x-page-usage': '{"call_count":85,"total_cputime":56,"total_time":60}',
        'x-business-use-case-usage':
          '{"104857600000001":[{"type":"pages","call_count":12,"total_cputime":3,"total_time":91,"estimated_time_to_regain_access":4}]}',
      }),
    ).toEqual({ percent: 91, regainMs: 240_000 });
    expect(fbUsage({ 'x-app-usage': 'not json' })).toEqual({ percent: 0, regainMs: 0 });
  });

  it.each([
    [undefined, 'https://graph.facebook.com/v27.0'],
    ['https://graph.facebook.com/v23.0/', 'https://graph.facebook.com/v23.0'],
    ['http://127.0.0.1:4020', 'http://127.0.0.1:4020/v27.0'],
  ])('versioned base of %j is %j', (input, expected) => {
    expect(versionedGraphBase(input)).toBe(expected);
  });
});

describe('parseFbCursor', () => {
  it('reads the walk state, and a bare watermark stored before conversations were tracked', () => {
    expect(parseFbCursor(null)).toEqual({ w: null, p: {} });
    expect(parseFbCursor('1796232939')).toEqual({ w: 1796232939, p: {} });
    expect(parseFbCursor('{"w":5,"p":{"1_2":"7:3"}}')).toEqual({ w: 5, p: { '1_2': '7:3' } });
  });
  it.each(['{"w":"x","p":{}}', 'not json', '{"w":1}'])('refuses %j as a bad response', (c) => {
    expect(() => parseFbCursor(c)).toThrow(expect.objectContaining({ code: 'bad_response' }));
  });
});
