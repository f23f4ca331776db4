import type { Platform, SocialAuthor, SocialPost } from '../types.js';
import {
  SANDBOX_CITIES,
  SANDBOX_FIRST_NAMES,
  SANDBOX_LAST_NAMES,
  SANDBOX_REPLIES,
  SANDBOX_TEMPLATES,
  SANDBOX_VOCABULARY,
  type SandboxIntent,
  type SandboxReply,
  type SandboxTemplate,
} from './sandbox-posts.js';

/**
 * The sandbox source: an endless, deterministic stream of realistic posts, polled by `npm start`
 * when no platform credentials are configured and used by tests and benchmarks.
 *
 * Post n (n = 1, 2, ...) is a pure function of the options and n: re-fetching after a crash
 * yields the same posts with the same ids. Only `created_at` depends on the clock, and only when
 * `now` is given.
 */

/** Options of the sandbox connector and {@link sandboxPost}. */
export interface SandboxConnectorOptions {
  /** The configured source this connector serves. */
  sourceId: string;
  platform: Platform;
  /**
   * Picks the stream: same seed, same posts.
   * @defaultValue 1
   */
  seed?: number;
  /**
   * How many new posts one poll (one `fetchPages` walk) yields in total.
   * @defaultValue 5
   */
  postsPerPoll?: number;
  /**
   * Most posts in one page.
   * @defaultValue 100
   */
  pageSize?: number;
  /** Stop emitting after this many posts ever (tests and benchmarks); unset: never stop. */
  total?: number;
  /**
   * How many distinct authors post; a few of them post most of the time.
   * @defaultValue 200
   */
  authors?: number;
  /**
   * Share of posts that reply to an earlier post.
   * @defaultValue 0.15
   */
  replyRate?: number;
  /**
   * Clock for `created_at` of live streams. Unset: 2026-11-20T10:00:00Z + n × 7 s, so tests
   * are deterministic.
   */
  now?: () => Date;
  /**
   * Facebook Page id that prefixes post ids (`<pageId>_<n>`).
   * @defaultValue '1122334455'
   */
  pageId?: string;
  /**
   * X id of post 0, as a decimal string: post n has id `idBase + n`. Give each X sandbox source
   * its own base, or two sources emit different posts under the same id.
   * @defaultValue '1790000000000000000'
   */
  idBase?: string;
}

const DEFAULT_X_ID_BASE = 1790000000000000000n;
const DEFAULT_PAGE_ID = '1122334455';
const FIXED_BASE_MS = Date.parse('2026-11-20T10:00:00Z');
const FIXED_STEP_MS = 7_000;
/** Share of root posts by intent: about 35% lead, 35% case, 30% none. */
const INTENT_WEIGHTS: ReadonlyArray<readonly [SandboxIntent, number]> = [
  ['lead', 0.35],
  ['case', 0.35],
  ['none', 0.3],
];
/** How far back a reply may reach: conversations are mostly recent. */
const REPLY_WINDOW = 300;

/** A stream's resolved options. */
export interface Resolved {
  platform: Platform;
  seedHash: number;
  authors: number;
  replyRate: number;
  now: (() => Date) | undefined;
  pageId: string;
  idBase: bigint;
}

/** The options with their defaults applied, computed once per connector. */
export function resolve(opts: SandboxConnectorOptions): Resolved {
  const seed = opts.seed ?? 1;
  const authors = opts.authors ?? 200;
  const replyRate = opts.replyRate ?? 0.15;
  const pageId = opts.pageId ?? DEFAULT_PAGE_ID;
  const idBase = opts.idBase ?? String(DEFAULT_X_ID_BASE);
  if (!Number.isFinite(seed)) throw new RangeError('sandbox seed must be a finite number');
  if (!Number.isSafeInteger(authors) || authors < 1) {
    throw new RangeError('sandbox authors must be a whole number of at least 1');
  }
  if (!(replyRate >= 0 && replyRate <= 1)) throw new RangeError('sandbox replyRate must be within 0..1');
  if (!/^[1-9][0-9]*$/.test(pageId)) throw new RangeError('sandbox pageId must be decimal digits');
  if (!/^[1-9][0-9]*$/.test(idBase)) throw new RangeError('sandbox idBase must be decimal digits');
  return {
    platform: opts.platform,
    seedHash: hashString(`${seed}`),
    authors,
    replyRate,
    now: opts.now,
    pageId,
    idBase: BigInt(idBase),
  };
}

// --- deterministic randomness: a hash of (seed, platform, n, purpose) seeds a small PRNG ------

function mix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h);
}

function hashWords(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const word of words) h = mix32(h ^ mix32(word >>> 0) ^ Math.imul(h, 31));
  return h;
}

/** Purposes, so the draws for one aspect of a post never shift when another changes. */
const DRAW = { link: 1, author: 2, content: 3, identity: 4 } as const;
type Draw = (typeof DRAW)[keyof typeof DRAW];

/** mulberry32: small, fast, good enough to make text varied. */
function rng(state: number): () => number {
  let a = state;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function drawsFor(ctx: Resolved, n: number, purpose: Draw): () => number {
  // n may exceed 2^32: hash both halves.
  return rng(hashWords(ctx.seedHash, ctx.platform === 'twitter' ? 1 : 2, n >>> 0, Math.floor(n / 2 ** 32), purpose));
}

function pick<T>(items: readonly T[], u: number): T {
  const item = items[Math.floor(u * items.length)];
  if (item === undefined) throw new Error('sandbox: pick from an empty list');
  return item;
}

// --- authors: a Zipf-like pool, identity a pure function of (platform, pool index) ----------

const zipfTables = new Map<number, Float64Array>();

/** Cumulative weights 1/(rank + 3): the first authors post most, the tail posts rarely. */
function zipfTable(size: number): Float64Array {
  let table = zipfTables.get(size);
  if (!table) {
    table = new Float64Array(size);
    let sum = 0;
    for (let rank = 0; rank < size; rank++) {
      sum += 1 / (rank + 3);
      table[rank] = sum;
    }
    zipfTables.set(size, table);
  }
  return table;
}

function zipfIndex(size: number, u: number): number {
  const table = zipfTable(size);
  const target = u * (table[size - 1] ?? 0);
  let lo = 0;
  let hi = size - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((table[mid] ?? 0) > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function asciiSlug(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/ł/g, 'l')
    .replace(/ø/g, 'o')
    .replace(/ı/g, 'i')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

interface AuthorName {
  first: string;
  last: string;
  display: string;
}

function authorName(index: number): AuthorName {
  // Every tenth author from index 3 shares the display name of the author two places up, with
  // its own id and handle: identity must never merge on a name.
  const source = index % 10 === 3 ? index - 2 : index;
  const draw = rng(hashWords(0x5eed, source, DRAW.identity));
  const first = pick(SANDBOX_FIRST_NAMES, draw());
  const last = pick(SANDBOX_LAST_NAMES, draw());
  const style = draw();
  const display =
    style < 0.6
      ? `${first} ${last}`
      : style < 0.75
        ? first
        : style < 0.9
          ? `${first} ${last.charAt(0)}.`
          : `${first} ${last} ${pick(['🌻', '✈️', '☕', '⚽', '🎧'], draw())}`;
  return { first, last, display };
}

function authorOfIndex(ctx: Resolved, index: number): SocialAuthor {
  const draw = rng(hashWords(0xa117, index, DRAW.identity));
  const jitter = BigInt(Math.floor(draw() * 1_000_000));
  const { first, last, display } = authorName(index);
  if (ctx.platform === 'facebook') {
    // The Graph API gives a commenter's id and name, no handle.
    return { id: String(100_000_000_000_000n + BigInt(index) * 1_000_003n + jitter), name: display };
  }
  // Old accounts have short ids, new ones snowflakes beyond 2^53; the two ranges never meet.
  const id =
    draw() < 0.2 ? String(10_000_000n + BigInt(index) * 1_009n + (jitter % 1_000n)) : String(1_300_000_000_000_000_000n + BigInt(index) * 1_000_003n + jitter);
  // Handles end in the pool index, so they are unique; X allows 15 characters.
  const suffix = String(index);
  const f = asciiSlug(first);
  const l = asciiSlug(last);
  const style = draw();
  const stem = style < 0.35 ? `${f}_${l}` : style < 0.6 ? `${f.charAt(0)}${l}` : style < 0.8 ? `${l}${f}` : `the_${f}`;
  const handle = stem.slice(0, 15 - suffix.length) + suffix;
  const followers = Math.floor(10 ** (draw() * 5.5)) - 1;
  return { id, handle, name: display, followers };
}

// --- the stream: which posts reply to which, who writes them, what they say -----------------

/** The post n replies to, or null for a conversation root. */
function parentOf(ctx: Resolved, n: number): number | null {
  if (n < 2) return null;
  const draw = drawsFor(ctx, n, DRAW.link);
  if (draw() >= ctx.replyRate) return null;
  const reach = Math.min(n - 1, REPLY_WINDOW);
  // Cubed: most replies answer one of the last few posts.
  return n - 1 - Math.floor(draw() ** 3 * reach);
}

function rootOf(ctx: Resolved, n: number): number {
  let current = n;
  for (let parent = parentOf(ctx, current); parent !== null; parent = parentOf(ctx, current)) {
    current = parent;
  }
  return current;
}

interface Content {
  text: string;
  lang: string | undefined;
  intent: SandboxIntent;
  industryIndex: number;
  brandIndex: number;
}

const INDUSTRIES = Object.keys(SANDBOX_VOCABULARY) as Array<keyof typeof SANDBOX_VOCABULARY>;
/** Templates by `industry:intent`, for replies of the same kind about the same brand. */
const TEMPLATES_BY_KIND = new Map<string, SandboxTemplate[]>();
for (const template of SANDBOX_TEMPLATES) {
  const key = `${template.industry}:${template.intent}`;
  TEMPLATES_BY_KIND.set(key, [...(TEMPLATES_BY_KIND.get(key) ?? []), template]);
}
const TEMPLATES_BY_INTENT: Record<SandboxIntent, readonly SandboxTemplate[]> = {
  lead: SANDBOX_TEMPLATES.filter((t) => t.intent === 'lead'),
  case: SANDBOX_TEMPLATES.filter((t) => t.intent === 'case'),
  none: SANDBOX_TEMPLATES.filter((t) => t.intent === 'none'),
};

function drawIntent(u: number): SandboxIntent {
  let acc = 0;
  for (const [intent, weight] of INTENT_WEIGHTS) {
    acc += weight;
    if (u < acc) return intent;
  }
  return 'none';
}

function fillSlots(ctx: Resolved, text: string, industryIndex: number, brandIndex: number, lang: string | undefined, draw: () => number): string {
  const vocabulary = SANDBOX_VOCABULARY[INDUSTRIES[industryIndex] ?? 'telecom'];
  const brand = vocabulary.brands[brandIndex];
  if (!brand) throw new Error(`sandbox: no brand ${brandIndex} in industry ${industryIndex}`);
  const chosen = new Map<string, string>();
  const value = (slot: string): string => {
    switch (slot) {
      case 'brand':
        return brand.name;
      case 'at':
        return ctx.platform === 'twitter' ? `@${brand.handle}` : brand.name;
      case 'competitor':
        return pick(vocabulary.competitors, draw());
      case 'product':
        return pick(vocabulary.products, draw());
      case 'city':
        return pick(SANDBOX_CITIES, draw());
      case 'qty':
        return String(pick([5, 8, 12, 20, 25, 40, 50, 100, 200, 500], draw()));
      case 'order':
        return `#${pick([...'ABCDEFGHJKLMNPQRSTUVWXYZ'], draw())}${10_000 + Math.floor(draw() * 90_000)}`;
      case 'days':
        return String(3 + Math.floor(draw() * 19));
      case 'amount': {
        const whole = pick([12, 19, 35, 49, 60, 89, 120, 249, 480], draw());
        const currency = lang ? '€' : pick(['$', '£', '€'], draw());
        return `${currency}${whole}${draw() < 0.4 ? '.99' : ''}`;
      }
      default:
        throw new Error(`sandbox template has an unknown slot {${slot}}`);
    }
  };
  return text.replace(/\{(\w+)\}/g, (_, slot: string) => {
    let filled = chosen.get(slot);
    if (filled === undefined) {
      filled = value(slot);
      chosen.set(slot, filled);
    }
    return filled;
  });
}

/** What a conversation root says: a template of a drawn intent, its slots filled. */
function rootContent(ctx: Resolved, n: number): Content {
  const draw = drawsFor(ctx, n, DRAW.content);
  const intent = drawIntent(draw());
  const template = pick(TEMPLATES_BY_INTENT[intent], draw());
  const industryIndex = INDUSTRIES.indexOf(template.industry);
  const brands = SANDBOX_VOCABULARY[template.industry].brands.length;
  const brandIndex = Math.floor(draw() * brands);
  const text = fillSlots(ctx, template.text, industryIndex, brandIndex, template.lang, draw);
  return { text, lang: template.lang, intent, industryIndex, brandIndex };
}

const replyPools = new Map<string, readonly SandboxReply[]>();

function replyPool(after: SandboxIntent, byAuthor: boolean): readonly SandboxReply[] {
  const key = `${after}:${byAuthor}`;
  let pool = replyPools.get(key);
  if (!pool) {
    pool = SANDBOX_REPLIES.filter((r) => (r.after === after || r.after === 'any') && (r.by === 'any' || r.by === (byAuthor ? 'author' : 'other')));
    replyPools.set(key, pool);
  }
  return pool;
}

/**
 * What a reply says: a follow-up fitting the root (in the root's language when one exists) or,
 * from someone else, sometimes a post of their own of the same kind about the same brand.
 */
function replyContent(ctx: Resolved, n: number, root: Content, byRootAuthor: boolean): Content {
  const draw = drawsFor(ctx, n, DRAW.content);
  const industry = INDUSTRIES[root.industryIndex] ?? 'telecom';
  if (!byRootAuthor && draw() < 0.3) {
    const template = pick(TEMPLATES_BY_KIND.get(`${industry}:${root.intent}`) ?? [], draw());
    const text = fillSlots(ctx, template.text, root.industryIndex, root.brandIndex, template.lang, draw);
    return { ...root, text, lang: template.lang, intent: template.intent };
  }
  const pool = replyPool(root.intent, byRootAuthor);
  const sameLanguage = pool.filter((r) => r.lang === root.lang);
  const reply = pick(sameLanguage.length > 0 && draw() < 0.8 ? sameLanguage : pool, draw());
  const text = fillSlots(ctx, reply.text, root.industryIndex, root.brandIndex, reply.lang, draw);
  return { ...root, text, lang: reply.lang, intent: reply.intent };
}

function postId(ctx: Resolved, n: number): string {
  return ctx.platform === 'twitter' ? String(ctx.idBase + BigInt(n)) : `${ctx.pageId}_${n}`;
}

function rootAuthorIndex(ctx: Resolved, root: number): number {
  return zipfIndex(ctx.authors, drawsFor(ctx, root, DRAW.author)());
}

/** Who writes post n, given its parent (null: a root) and its conversation's root. */
function authorIndexOf(ctx: Resolved, n: number, parent: number | null, root: number, rootIntent: SandboxIntent): number {
  if (parent === null) return rootAuthorIndex(ctx, n);
  const draw = drawsFor(ctx, n, DRAW.author);
  // People follow up on their own complaints more than on anything else.
  const followUpRate = rootIntent === 'case' ? 0.7 : 0.35;
  return draw() < followUpRate ? rootAuthorIndex(ctx, root) : zipfIndex(ctx.authors, draw());
}

/** Post n of the stream `ctx` describes. */
export function build(ctx: Resolved, n: number): SocialPost {
  const parent = parentOf(ctx, n);
  const root = parent === null ? n : rootOf(ctx, parent);
  const rootText = rootContent(ctx, root);
  const authorIndex = authorIndexOf(ctx, n, parent, root, rootText.intent);
  let content = rootText;
  let text = rootText.text;
  if (parent !== null) {
    const rootAuthor = rootAuthorIndex(ctx, root);
    content = replyContent(ctx, n, rootText, authorIndex === rootAuthor);
    text = content.text;
    const grandparent = parentOf(ctx, parent);
    const parentAuthor = authorIndexOf(ctx, parent, grandparent, root, rootText.intent);
    if (ctx.platform === 'twitter' && parentAuthor !== authorIndex) {
      // X starts a reply with the handle of whoever is answered.
      text = `@${authorOfIndex(ctx, parentAuthor).handle ?? ''} ${text}`;
    }
  }

  const post: SocialPost = {
    platform: ctx.platform,
    id: postId(ctx, n),
    text,
    created_at: (ctx.now ? ctx.now() : new Date(FIXED_BASE_MS + n * FIXED_STEP_MS)).toISOString(),
    author: authorOfIndex(ctx, authorIndex),
  };
  if (parent !== null) {
    post.in_reply_to = postId(ctx, parent);
    post.conversation_id = postId(ctx, root);
  }
  if (content.lang) post.lang = content.lang;
  return post;
}

/**
 * Post n (n ≥ 1) of the sandbox stream these options describe: the same options and n always
 * give the same post (`created_at` aside when `now` is given).
 */
export function sandboxPost(opts: SandboxConnectorOptions, n: number): SocialPost {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('sandbox post number must be a whole number ≥ 1');
  return build(resolve(opts), n);
}
