import { describe, expect, it } from 'vitest';
import { parseSocialPost } from '../../src/connectors/post-schema.js';
import { createSandboxConnector, sandboxPost, type SandboxConnectorOptions } from '../../src/connectors/sandbox.connector.js';
import type { Connector, Cursor, FetchedPage } from '../../src/connectors/types.js';
import type { Platform, SocialPost } from '../../src/types.js';

const PLATFORMS: Platform[] = ['twitter', 'facebook'];

async function pagesOf(connector: Connector, cursor: Cursor | null): Promise<FetchedPage[]> {
  const pages: FetchedPage[] = [];
  for await (const page of connector.fetchPages(cursor)) pages.push(page);
  return pages;
}

/** Posts 1..count of the stream, in one poll. */
async function stream(opts: Omit<SandboxConnectorOptions, 'sourceId'>, count: number): Promise<SocialPost[]> {
  const connector = createSandboxConnector({ sourceId: 'sandbox', postsPerPoll: count, ...opts });
  return (await pagesOf(connector, null)).flatMap((page) => page.posts);
}

/** The sequence number of a post, from its id. */
function seq(post: SocialPost): number {
  return post.platform === 'twitter' ? Number(BigInt(post.id) - 1790000000000000000n) : Number(post.id.split('_')[1]);
}

describe.each(PLATFORMS)('sandbox connector on %s', (platform) => {
  it('is deterministic: two connectors with one seed emit identical posts, equal to sandboxPost', async () => {
    const first = await stream({ platform, seed: 7 }, 400);
    const second = await stream({ platform, seed: 7 }, 400);
    expect(second).toEqual(first);
    expect(first.map(seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    for (const n of [1, 2, 57, 400]) {
      expect(sandboxPost({ sourceId: 'other', platform, seed: 7 }, n)).toEqual(first[n - 1]);
    }
  });

  it('emits another stream for another seed', async () => {
    const a = await stream({ platform, seed: 1 }, 50);
    const b = await stream({ platform, seed: 2 }, 50);
    const same = a.filter((post, i) => post.text === b[i]?.text).length;
    expect(same).toBeLessThan(10);
  });

  it('resumes from the cursor: no gap and no overlap across polls and pages', async () => {
    const connector = createSandboxConnector({ sourceId: 's', platform, postsPerPoll: 7, pageSize: 3 });
    const seen: SocialPost[] = [];
    let cursor: Cursor | null = null;
    for (let poll = 0; poll < 5; poll++) {
      const pages = await pagesOf(connector, cursor);
      expect(pages.map((p) => p.posts.length)).toEqual([3, 3, 1]);
      for (const page of pages) {
        expect(page.nextCursor).toBe(String(seq(page.posts.at(-1)!)));
        seen.push(...page.posts);
      }
      cursor = pages.at(-1)?.nextCursor ?? cursor;
    }
    expect(seen.map(seq)).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
    expect(seen).toEqual(await stream({ platform }, 35));
  });

  it.each([
    [null, 1],
    ['0', 1],
    ['41', 42],
  ])('after cursor %s the next post is number %i', async (cursor, next) => {
    const pages = await pagesOf(createSandboxConnector({ sourceId: 's', platform }), cursor);
    expect(pages.flatMap((p) => p.posts).map(seq)).toEqual([next, next + 1, next + 2, next + 3, next + 4]);
  });

  it('stops at total, mid-poll and for good', async () => {
    const connector = createSandboxConnector({ sourceId: 's', platform, postsPerPoll: 4, total: 10 });
    const counts: number[] = [];
    let cursor: Cursor | null = null;
    for (let poll = 0; poll < 5; poll++) {
      const pages = await pagesOf(connector, cursor);
      counts.push(pages.reduce((sum, p) => sum + p.posts.length, 0));
      cursor = pages.at(-1)?.nextCursor ?? cursor;
    }
    expect(counts).toEqual([4, 4, 2, 0, 0]);
    expect(cursor).toBe('10');
    expect(await pagesOf(connector, '25')).toEqual([]);
  });

  it('yields nothing when postsPerPoll is 0', async () => {
    expect(await pagesOf(createSandboxConnector({ sourceId: 's', platform, postsPerPoll: 0 }), null)).toEqual([]);
  });

  it('emits only posts that parse as the import format, unchanged', async () => {
    for (const post of await stream({ platform, seed: 3 }, 1500)) {
      expect(parseSocialPost(post)).toEqual({ ok: true, post });
    }
  });

  it('replies to earlier posts of a real conversation, about replyRate of the time', async () => {
    const posts = await stream({ platform, seed: 11 }, 3000);
    const byId = new Map(posts.map((p) => [p.id, p]));
    const replies = posts.filter((p) => p.in_reply_to !== undefined);
    expect(replies.length / posts.length).toBeGreaterThan(0.1);
    expect(replies.length / posts.length).toBeLessThan(0.2);
    let sameAuthor = 0;
    for (const reply of replies) {
      const parent = byId.get(reply.in_reply_to!);
      const root = byId.get(reply.conversation_id!);
      expect(parent && seq(parent)).toBeLessThan(seq(reply));
      expect(root?.in_reply_to).toBeUndefined();
      expect(parent?.conversation_id ?? parent?.id).toBe(reply.conversation_id);
      if (root?.author.id === reply.author.id) sameAuthor++;
    }
    // Follow-ups to one's own post are common.
    expect(sameAuthor / replies.length).toBeGreaterThan(0.3);
  });

  it.each([
    [0, 0],
    [1, 199],
  ])('with replyRate %d, %i of 200 posts are replies (the first cannot be)', async (replyRate, expected) => {
    const posts = await stream({ platform, replyRate }, 200);
    expect(posts.filter((p) => p.in_reply_to !== undefined)).toHaveLength(expected);
  });

  it('has repeat authors, with one stable identity per author id', async () => {
    const posts = await stream({ platform }, 1000);
    const counts = new Map<string, number>();
    const identity = new Map<string, string>();
    for (const { author } of posts) {
      counts.set(author.id, (counts.get(author.id) ?? 0) + 1);
      const seen = identity.get(author.id);
      const now = JSON.stringify(author);
      if (seen !== undefined) expect(now).toBe(seen);
      identity.set(author.id, now);
    }
    expect(counts.size).toBeLessThanOrEqual(200);
    expect(Math.max(...counts.values())).toBeGreaterThan(20);
    expect([...counts.values()].filter((c) => c === 1).length).toBeGreaterThan(0);
  });

  it('has authors who share a display name under different ids', async () => {
    const idsByName = new Map<string, Set<string>>();
    for (const { author } of await stream({ platform }, 1000)) {
      idsByName.set(author.name!, (idsByName.get(author.name!) ?? new Set()).add(author.id));
    }
    expect([...idsByName.values()].some((ids) => ids.size > 1)).toBe(true);
  });

  it('draws every author from a pool of the given size', async () => {
    const posts = await stream({ platform, authors: 1 }, 50);
    expect(new Set(posts.map((p) => p.author.id)).size).toBe(1);
  });

  it('stamps created_at from the fixed base, or from now() for live streams', async () => {
    const fixed = await stream({ platform }, 3);
    expect(fixed.map((p) => p.created_at)).toEqual(['2026-11-20T10:00:07.000Z', '2026-11-20T10:00:14.000Z', '2026-11-20T10:00:21.000Z']);
    const live = await stream({ platform, now: () => new Date('2027-01-02T03:04:05.678Z') }, 3);
    expect(live.map((p) => p.created_at)).toEqual(Array(3).fill('2027-01-02T03:04:05.678Z'));
  });

  it('sets lang on non-English posts only, and mixes languages', async () => {
    const posts = await stream({ platform }, 1000);
    const langs = new Set(posts.map((p) => p.lang));
    expect(langs).toEqual(new Set([undefined, 'es', 'de', 'fr']));
    expect(posts.find((p) => p.lang === 'de')?.text).toMatch(/[äöüß]|\b(ist|nicht|die|der|das|Sie|ihr)\b/);
  });

  it('stops a walk when the signal aborts', async () => {
    const connector = createSandboxConnector({ sourceId: 's', platform });
    const controller = new AbortController();
    controller.abort();
    const walk = async () => {
      for await (const _ of connector.fetchPages(null, controller.signal)) expect.unreachable();
    };
    await expect(walk()).rejects.toThrow();
  });
});

describe('sandbox ids', () => {
  it('gives X posts decimal string ids beyond 2^53 that BigInt-parse and increase', async () => {
    const posts = await stream({ platform: 'twitter' }, 100);
    const ids = posts.map((p) => BigInt(p.id));
    expect(posts[0]?.id).toBe('1790000000000000001');
    expect(ids[0]! > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! - ids[i - 1]!).toBe(1n);
    // A Number would have merged neighbours: that is why ids stay strings.
    expect(Number(posts[0]!.id)).toBe(Number(posts[1]!.id));
  });

  it('gives X authors string ids, some beyond 2^53 and some short', async () => {
    const ids = (await stream({ platform: 'twitter' }, 500)).map((p) => BigInt(p.author.id));
    expect(ids.some((id) => id > BigInt(Number.MAX_SAFE_INTEGER))).toBe(true);
    expect(ids.some((id) => id < 1_000_000_000n)).toBe(true);
  });

  it('gives Facebook posts <pageId>_<n> ids and authors without handles', async () => {
    const posts = await stream({ platform: 'facebook' }, 3);
    expect(posts.map((p) => p.id)).toEqual(['1122334455_1', '1122334455_2', '1122334455_3']);
    expect(posts.every((p) => p.author.handle === undefined && /^[0-9]+$/.test(p.author.id))).toBe(true);
    const other = await stream({ platform: 'facebook', pageId: '998877' }, 1);
    expect(other[0]?.id).toBe('998877_1');
  });

  it('takes another X id base so two X sandbox sources never share ids', () => {
    expect(sandboxPost({ sourceId: 's', platform: 'twitter', idBase: '1800000000000000000' }, 5).id).toBe('1800000000000000005');
  });
});

describe('sandbox options', () => {
  it.each<[string, Partial<SandboxConnectorOptions>]>([
    ['postsPerPoll -1', { postsPerPoll: -1 }],
    ['pageSize 0', { pageSize: 0 }],
    ['total 1.5', { total: 1.5 }],
    ['authors 0', { authors: 0 }],
    ['replyRate 2', { replyRate: 2 }],
    ['seed NaN', { seed: Number.NaN }],
    ['pageId abc', { pageId: 'abc' }],
    ['idBase 1e18', { idBase: '1e18' }],
  ])('refuses %s', (_, bad) => {
    expect(() => createSandboxConnector({ sourceId: 's', platform: 'twitter', ...bad })).toThrow(RangeError);
  });

  it.each(['abc', '-1', '1.5', ''])('refuses the cursor %j', async (cursor) => {
    const connector = createSandboxConnector({ sourceId: 's', platform: 'twitter' });
    await expect(pagesOf(connector, cursor)).rejects.toThrow(/cursor must be a post sequence number/);
  });

  it('refuses post number 0 in sandboxPost', () => {
    expect(() => sandboxPost({ sourceId: 's', platform: 'twitter' }, 0)).toThrow(RangeError);
  });
});
