import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_BATCH_LINES, parseImportLines, readImportFile, type ImportBatch, type ImportProgress } from '../../src/connectors/import.js';
import { parseSocialPost } from '../../src/connectors/post-schema.js';

const valid = {
  platform: 'twitter',
  id: '1790000000000000001',
  text: 'Internet down again @acme',
  created_at: '2026-11-20T10:00:00Z',
  author: { id: '1300000000000000007', handle: 'jane_doe', name: 'Jane Doe' },
};

/** `valid` with `patch` applied; a value of `undefined` removes the key. */
function line(patch: Record<string, unknown> = {}, author: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...valid, ...patch, author: { ...valid.author, ...author } });
}

describe('parseSocialPost', () => {
  it('accepts a conforming post and keeps X ids beyond 2^53 exactly', () => {
    const result = parseSocialPost({
      ...valid,
      in_reply_to: '1790000000000000000',
      conversation_id: '1790000000000000000',
      lang: 'en',
      author: { ...valid.author, email: 'jane@example.com', followers: 12 },
    });
    expect(result).toEqual({
      ok: true,
      post: {
        ...valid,
        in_reply_to: '1790000000000000000',
        conversation_id: '1790000000000000000',
        lang: 'en',
        author: { ...valid.author, email: 'jane@example.com', followers: 12 },
      },
    });
  });

  it.each([
    ['twitter', '20'],
    ['twitter', '9223372036854775807'],
    ['facebook', '1122334455'],
    ['facebook', '1122334455_987654321'],
    ['facebook', '1122334455_987654321_42'],
  ])('accepts a %s id %s', (platform, id) => {
    const result = parseSocialPost({ ...valid, platform, id });
    expect(result.ok && result.post.id).toBe(id);
  });

  it.each([
    ['Z', '2026-11-20T10:00:00Z'],
    ['an offset', '2026-11-20T10:00:00+01:00'],
    ['fractional seconds', '2026-11-20T10:00:00.123Z'],
  ])('accepts created_at with %s', (_, created_at) => {
    expect(parseSocialPost({ ...valid, created_at }).ok).toBe(true);
  });

  it.each<[string, unknown, string]>([
    ['not an object', [1, 2], 'post: must be an object, got an array'],
    ['null', null, 'post: must be an object, got null'],
    ['platform missing', { ...valid, platform: undefined }, 'platform: required'],
    ['an unknown platform', { ...valid, platform: 'myspace' }, 'platform: must be one of twitter, facebook'],
    ['id missing', { ...valid, id: undefined }, 'id: required'],
    ['a numeric id', { ...valid, id: 1790000000000000001 }, 'id: must be a string: numeric ids above 2^53 lose digits'],
    ['an empty id', { ...valid, id: '' }, 'id: must not be empty'],
    ['an X id with letters', { ...valid, id: '17900abc' }, 'id: X ids are decimal digits without a leading zero'],
    ['an X id with a leading zero', { ...valid, id: '0179' }, 'id: X ids are decimal digits without a leading zero'],
    ['an X id beyond 64 bits', { ...valid, id: '9223372036854775808' }, 'id: exceeds the 64-bit range of X ids'],
    ['a malformed Facebook id', { ...valid, platform: 'facebook', id: 'page_12' }, 'id: Facebook ids are digits'],
    ['text missing', { ...valid, text: undefined }, 'text: required'],
    ['a numeric text', { ...valid, text: 42 }, 'text: must be a string, got a number'],
    ['created_at missing', { ...valid, created_at: undefined }, 'created_at: required'],
    ['created_at without a time zone', { ...valid, created_at: '2026-11-20T10:00:00' }, 'created_at: must be an ISO 8601 timestamp with a time zone'],
    ['created_at on a day that does not exist', { ...valid, created_at: '2026-02-30T10:00:00Z' }, 'created_at: must be an ISO 8601'],
    ['created_at as epoch millis', { ...valid, created_at: 1795000000000 }, 'created_at: must be an ISO 8601'],
    ['author missing', { ...valid, author: undefined }, 'author: required'],
    ['author a string', { ...valid, author: 'jane' }, 'author: must be an object, got a string'],
    ['author.id missing', { ...valid, author: { handle: 'jane' } }, 'author.id: required'],
    ['a numeric author.id', { ...valid, author: { id: 123 } }, 'author.id: must be a string: numeric ids above 2^53 lose digits'],
    ['an author.id with spaces', { ...valid, author: { id: '12 34' } }, 'author.id: must not contain whitespace or NUL'],
    ['a bad author.email', { ...valid, author: { id: '1', email: 'jane at home' } }, 'author.email: must be an e-mail address'],
    ['negative author.followers', { ...valid, author: { id: '1', followers: -3 } }, 'author.followers: must not be negative'],
    ['fractional author.followers', { ...valid, author: { id: '1', followers: 1.5 } }, 'author.followers: must be a whole number'],
    ['a numeric in_reply_to', { ...valid, in_reply_to: 1790000000000000000 }, 'in_reply_to: must be a string: numeric ids'],
    ['a malformed conversation_id', { ...valid, conversation_id: 'abc' }, 'conversation_id: X ids are decimal digits'],
    ['a lang that is no tag', { ...valid, lang: 'english' }, 'lang: must be a language tag'],
  ])('refuses %s, naming the field', (_, value, reason) => {
    const result = parseSocialPost(value);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });

  it('reports every problem of a post, each with its path', () => {
    const result = parseSocialPost({ platform: 'twitter', id: 7, text: 'hi', author: {} });
    expect(result).toEqual({
      ok: false,
      reason: 'id: must be a string: numeric ids above 2^53 lose digits; created_at: required; author.id: required',
    });
  });

  it('strips NUL from text, handle and name instead of refusing the post', () => {
    const result = parseSocialPost({
      ...valid,
      text: 'sooo\u0000 broken',
      author: { id: '9', handle: 'ja\u0000ne', name: 'Ja\u0000ne' },
    });
    expect(result.ok && result.post.text).toBe('sooo broken');
    expect(result.ok && result.post.author).toEqual({ id: '9', handle: 'jane', name: 'Jane' });
  });

  it('normalizes: unknown keys stripped, null optionals absent, leading @ dropped, empty text kept', () => {
    const result = parseSocialPost({
      ...valid,
      text: '',
      retweets: 4,
      in_reply_to: null,
      conversation_id: null,
      lang: null,
      author: { id: '9', handle: '@jane_doe', name: '', email: null, followers: null, verified: true },
    });
    expect(result).toEqual({
      ok: true,
      post: { ...valid, text: '', author: { id: '9', handle: 'jane_doe' } },
    });
    expect(result.ok && Object.keys(result.post)).toEqual(['platform', 'id', 'text', 'created_at', 'author']);
  });
});

describe('parseImportLines', () => {
  it('returns every good post and every bad line with its 1-based number, skipping blank lines', () => {
    const content = [
      line(), // 1
      '', // 2
      '{"platform": "twitter", "id": ', // 3
      '   ', // 4
      line({ id: 1790000000000000002 }), // 5
      line({ id: '1790000000000000003', platform: 'facebook' }), // 6: a Facebook id may be bare digits
      line({}, { id: undefined }), // 7
      '"just a string"', // 8
      line({ id: '1790000000000000001' }), // 9: a duplicate id is the inbox's business
      '', // 10: the trailing newline
    ].join('\n');

    const { posts, errors } = parseImportLines(content);

    expect(posts.map((p) => [p.line, p.post.id, p.post.platform])).toEqual([
      [1, '1790000000000000001', 'twitter'],
      [6, '1790000000000000003', 'facebook'],
      [9, '1790000000000000001', 'twitter'],
    ]);
    expect(errors.map((e) => e.line)).toEqual([3, 5, 7, 8]);
    expect(errors[0]?.reason).toMatch(/^invalid JSON: /);
    expect(errors[1]?.reason).toBe('id: must be a string: numeric ids above 2^53 lose digits');
    expect(errors[2]?.reason).toBe('author.id: required');
    expect(errors[3]?.reason).toBe('post: must be an object, got a string');
  });

  it('reads CRLF line endings and a leading byte-order mark', () => {
    const { posts, errors } = parseImportLines(`\uFEFF${line()}\r\n${line({ id: '5' })}\r\n`);
    expect(errors).toEqual([]);
    expect(posts.map((p) => [p.line, p.post.id])).toEqual([
      [1, '1790000000000000001'],
      [2, '5'],
    ]);
  });

  it('keeps a NUL-bearing line, stripped', () => {
    const { posts } = parseImportLines(line({ text: 'a\u0000b' }));
    expect(posts[0]?.post.text).toBe('ab');
  });

  it('returns nothing for empty content', () => {
    expect(parseImportLines('')).toEqual({ posts: [], errors: [] });
  });
});

describe('readImportFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'capture-import-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function readAll(path: string): Promise<{ batches: ImportBatch[]; progress: ImportProgress[] }> {
    const batches: ImportBatch[] = [];
    const progress: ImportProgress[] = [];
    for await (const batch of readImportFile(path, (p) => progress.push(p))) batches.push(batch);
    return { batches, progress };
  }

  it('streams batches of lines with the file line numbers across batches', async () => {
    const badLines = new Set([1, 1000, 1001, 2002, 2500]);
    const blankLines = new Set([3, 1500]);
    const lines: string[] = [];
    for (let n = 1; n <= 2500; n++) {
      if (badLines.has(n)) lines.push(n % 2 === 0 ? '{oops' : line({ id: n }));
      else if (blankLines.has(n)) lines.push('');
      else lines.push(line({ id: String(1790000000000000000n + BigInt(n)) }));
    }
    const content = `${lines.join('\n')}\n`;
    const path = join(dir, 'posts.jsonl');
    await writeFile(path, content);

    const { batches, progress } = await readAll(path);

    expect(IMPORT_BATCH_LINES).toBe(1000);
    expect(batches.map((b) => b.posts.length + b.errors.length)).toEqual([999, 999, 500]);
    expect(batches.map((b) => b.errors.map((e) => e.line))).toEqual([[1, 1000], [1001], [2002, 2500]]);
    expect(batches[1]?.posts[0]).toMatchObject({ line: 1002, post: { id: '1790000000000001002' } });
    // Every post sits on the line its id says.
    for (const { line: n, post } of batches.flatMap((b) => b.posts)) {
      expect(BigInt(post.id) - 1790000000000000000n).toBe(BigInt(n));
    }
    // Streaming and in-memory parsing agree.
    const whole = parseImportLines(content);
    expect(batches.flatMap((b) => b.posts)).toEqual(whole.posts);
    expect(batches.flatMap((b) => b.errors)).toEqual(whole.errors);

    const { size } = await stat(path);
    expect(progress.map((p) => [p.lines, p.posts, p.errors])).toEqual([
      [1000, 997, 2],
      [2000, 1995, 3],
      [2500, 2493, 5],
    ]);
    expect(progress.every((p) => p.totalBytes === size)).toBe(true);
    expect(progress.at(-1)?.bytesRead).toBe(size);
  });

  it('yields no empty batch: not for a batch of blank lines, not after an exact multiple', async () => {
    const path = join(dir, 'blanks.jsonl');
    const lines = [...Array<string>(1000).fill(''), ...Array<string>(1000).fill(line())];
    await writeFile(path, lines.join('\n'));

    const { batches, progress } = await readAll(path);

    expect(batches).toHaveLength(1);
    expect(batches[0]?.posts[0]?.line).toBe(1001);
    expect(batches[0]?.posts.at(-1)?.line).toBe(2000);
    expect(progress.map((p) => p.lines)).toEqual([1000, 2000]);
  });

  it('rejects when the file cannot be read', async () => {
    await expect(readAll(join(dir, 'missing.jsonl'))).rejects.toThrow(/ENOENT/);
    await expect(readAll(dir)).rejects.toThrow(/EISDIR/);
  });
});
