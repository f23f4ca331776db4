import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snowflakeAt, snowflakeTime } from '../../src/connectors/snowflake.js';
import { mapXPage, xError } from '../../src/connectors/twitter.connector.js';
import { ConnectorError } from '../../src/errors.js';

const page = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/x-search-page.json'), 'utf8')) as unknown;

describe('mapXPage (X API v2 page → posts)', () => {
  it('maps a search page in the documented shape', () => {
    const { posts, rejected } = mapXPage(page);
    expect(rejected).toEqual([]);
    expect(posts[0]).toEqual({
      platform: 'twitter',
      id: '1899001122334455667',
      text: "@AcmeSupport order #4411 still hasn't shipped https://t.co/AbCdEf #fail",
      created_at: '2025-03-14T09:26:53.000Z',
      author: { id: '2244994945', handle: 'patq', name: 'Pat Quinn', followers: 120 },
      in_reply_to: '1898990000000000000',
      conversation_id: '1898990000000000000',
      lang: 'en',
    });
    expect(posts[1]).not.toHaveProperty('lang'); // "und": no language
    expect(posts[1]).not.toHaveProperty('in_reply_to');
  });

  it('marks a retweet with the id of the original, so capture can suppress it', () => {
    const { posts } = mapXPage({
      data: [
        {
          id: '1899001122334455700',
          text: 'RT @patq: order still not shipped',
          author_id: '42',
          referenced_tweets: [{ type: 'retweeted', id: '1899001122334455667' }],
        },
        { id: '1899001122334455701', text: 'so true', author_id: '42', referenced_tweets: [{ type: 'quoted', id: '1899001122334455667' }] },
      ],
      includes: { users: [{ id: '42', username: 'fan', name: 'Fan' }] },
      meta: { result_count: 2 },
    });
    expect(posts[0]!.retweet_of).toBe('1899001122334455667');
    expect(posts[1]).not.toHaveProperty('retweet_of'); // a quote has words of its own
  });

  it('accepts the empty page X sends, with no data key', () => {
    expect(mapXPage({ meta: { result_count: 0 } })).toEqual({ posts: [], rejected: [] });
  });

  it.each([
    ['no meta', { data: [] }],
    ['data not a list', { data: {}, meta: { result_count: 1 } }],
    ['not an object', 'Bad gateway'],
  ])('refuses a body that is not a page (%s): bad_response, nothing mapped', (_label, body) => {
    expect(() => mapXPage(body)).toThrow(ConnectorError);
    try {
      mapXPage(body);
    } catch (err) {
      expect((err as ConnectorError).code).toBe('bad_response');
    }
  });

  it('rejects a post without an author, keeps the rest, and derives a missing created_at from the id', () => {
    const raw = structuredClone(page) as { data: Record<string, unknown>[]; includes?: unknown };
    delete raw.data[0]!.author_id;
    delete raw.data[1]!.created_at;
    delete raw.includes;
    const { posts, rejected } = mapXPage(raw);
    expect(rejected).toEqual([{ id: '1899001122334455667', reason: expect.stringContaining('author_id') }]);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.author).toEqual({ id: '2244994945' });
    expect(posts[0]!.created_at).toBe(new Date(snowflakeTime('1899001122334455600')).toISOString());
  });

  it('refuses numeric ids: their digits are already lost', () => {
    const raw = structuredClone(page) as { data: Record<string, unknown>[] };
    raw.data[0]!.id = 1899001122334455667;
    expect(mapXPage(raw).rejected[0]!.reason).toMatch(/id/);
  });
});

describe('snowflake ids', () => {
  it('reads the moment an id was minted and back', () => {
    expect(new Date(snowflakeTime('4194304')).toISOString()).toBe('2010-11-04T01:42:54.658Z'); // 1 ms after X's epoch
    const at = Date.parse('2026-11-20T10:00:00Z');
    expect(snowflakeTime(snowflakeAt(at))).toBe(at);
    expect(BigInt(snowflakeAt(at + 1)) > BigInt(snowflakeAt(at))).toBe(true);
  });
});

describe('xError', () => {
  it('passes a ConnectorError through and calls anything else temporary', () => {
    const e = new ConnectorError('auth', 'x');
    expect(xError(e)).toBe(e);
    expect(xError(new Error('socket hang up')).code).toBe('temporary');
  });
});
