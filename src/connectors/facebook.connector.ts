import type { AxiosResponse } from 'axios';
import { ConnectorError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SocialPost } from '../types.js';
import type { Connector, Cursor, FetchedPage } from './types.js';
import { fbError, fbUsage, type GraphClient } from './facebook.client.js';
import { fbTime, isObject, mapFbComment, mapFbPost } from './facebook.mapper.js';
import type { FbComment, FbListResponse, FbPost, RejectedFbItem } from './facebook.wire.js';

/**
 * Facebook connector on axios against the Graph API: a Page's feed (its posts and visitor posts),
 * the posts it is tagged in (`/tagged`: `/feed` does not carry them), and the comments and replies
 * on every such post of the conversation window whose `updated_time` or comment count changed.
 * Incremental with `since`, following `paging.next`; `appsecret_proof` on every call when an app
 * secret is set. The cursor is the newest `created_time` of a complete walk and each tracked post's
 * `updated_time` and comment count, handed out with the walk's last page.
 */

// The wire types, mappers and client live in facebook.wire.ts, facebook.mapper.ts and facebook.client.ts.
export * from './facebook.client.js';
export * from './facebook.mapper.js';
export * from './facebook.wire.js';

// --- connector ---------------------------------------------------------------------------

/** Options of {@link createFacebookConnector}. */
export interface FacebookConnectorOptions {
  sourceId: string;
  pageId: string;
  client: GraphClient;
  /** @defaultValue 100 */
  pageSize?: number;
  /**
   * How far below the stored watermark each poll reads again: Graph time is in seconds and items
   * reach a Page late. Re-read items are absorbed by the inbox's unique key; Graph reads cost no money.
   * @defaultValue 600000 (10 min)
   */
  overlapMs?: number;
  /** How far back the first poll reaches. @defaultValue 86400000 (1 day) */
  backfillMs?: number;
  /**
   * Comments are followed on the Page's posts, visitor posts and tagged posts this recent: each
   * poll lists them (one request per 100) and reads the comments of those whose `updated_time` or
   * comment count changed since the last poll.
   * @defaultValue 2592000000 (30 days)
   */
  conversationWindowMs?: number;
  /**
   * Stop before the limit: when a usage header reports this share (0–100) of any quota used, no
   * further request goes out for `usageBackoffMs` (or Meta's own estimate, when longer).
   * @defaultValue 85
   */
  usageThreshold?: number;
  /** @defaultValue 300000 (5 min) */
  usageBackoffMs?: number;
  /** Wait after a rate-limit error (codes 4, 17, 32, 613, 80001) without Meta's estimate. @defaultValue 900000 */
  rateLimitWaitMs?: number;
  now?: () => number;
  log?: Logger;
}

/** `comments.filter(stream)` so the count includes replies to comments: a new reply changes it too. */
const FEED_FIELDS = 'id,message,story,created_time,updated_time,from{id,name},permalink_url,comments.filter(stream).summary(true).limit(0)';
const COMMENT_FIELDS = 'id,message,created_time,from{id,name},parent{id}';

export function createFacebookConnector(opts: FacebookConnectorOptions): Connector {
  const now = opts.now ?? Date.now;
  const pageSize = opts.pageSize ?? 100;
  const overlapMs = opts.overlapMs ?? 600_000;
  const backfillMs = opts.backfillMs ?? 86_400_000;
  const conversationWindowMs = opts.conversationWindowMs ?? 30 * 86_400_000;
  const threshold = opts.usageThreshold ?? 85;
  const usageBackoffMs = opts.usageBackoffMs ?? 300_000;
  const rateLimitWaitMs = opts.rateLimitWaitMs ?? 900_000;
  let throttledUntil = 0;

  async function get<T>(pathOrUrl: string, params?: Record<string, string | number>): Promise<T> {
    const wait = throttledUntil - now();
    if (wait > 0) {
      throw new ConnectorError('rate_limited', `Graph usage near its limit: paused until ${new Date(throttledUntil).toISOString()}`, wait);
    }
    let res: AxiosResponse<T>;
    try {
      res = await opts.client.get<T>(pathOrUrl, params);
    } catch (err) {
      throw fbError(err, rateLimitWaitMs);
    }
    const usage = fbUsage(res.headers as Record<string, unknown>);
    if (usage.percent >= threshold) {
      throttledUntil = now() + Math.max(usage.regainMs, usageBackoffMs);
      opts.log?.warn(
        { sourceId: opts.sourceId, usage: usage.percent, until: new Date(throttledUntil).toISOString() },
        'Graph usage near its limit; pausing this source',
      );
    }
    // axios hands back a body it cannot parse as a string rather than failing.
    if (!isObject(res.data) || !Array.isArray((res.data as Record<string, unknown>).data)) {
      throw new ConnectorError('bad_response', `Graph sent a body that is not a list page (${pathOrUrl.split('?')[0]})`);
    }
    return res.data;
  }

  function reportRejected(r: RejectedFbItem | undefined): void {
    if (r) opts.log?.warn({ sourceId: opts.sourceId, id: r.id, reason: r.reason }, 'Facebook item skipped: malformed');
  }

  /** One walk of a list edge (`feed`, `tagged`): new items become posts, every item in the window is tracked. */
  async function* walkPosts(edge: 'feed' | 'tagged', w: Walk, signal?: AbortSignal): AsyncGenerator<FetchedPage> {
    // https://developers.facebook.com/docs/graph-api/reference/page/feed — …/page/tagged
    let next: string | undefined = `${opts.pageId}/${edge}`;
    let params: Record<string, string | number> | undefined = { fields: FEED_FIELDS, limit: pageSize, since: Math.min(w.floorS, w.windowFloorS) };
    while (next) {
      signal?.throwIfAborted();
      const body: FbListResponse<FbPost> = await get<FbListResponse<FbPost>>(next, params);
      const posts: SocialPost[] = [];
      for (const raw of body.data) {
        if (!isObject(raw)) {
          reportRejected({ id: undefined, reason: 'not an object' });
          continue;
        }
        const createdS = epochS(raw.created_time);
        if (typeof raw.id === 'string' && createdS !== undefined && createdS >= w.windowFloorS) w.track(raw);
        if (createdS !== undefined && createdS < w.floorS) continue; // read before: only its comments may be new
        const r = mapFbPost(raw, opts.pageId);
        if (r.post) {
          posts.push(r.post);
          w.seen(r.post.created_at);
        } else reportRejected(r.rejected);
      }
      yield { posts, nextCursor: null, read: { requests: 1, ids: itemIds(body.data) } };
      next = body.paging?.next;
      params = undefined;
    }
  }

  /** The comments and replies on one post since the floor, newest first. */
  async function* walkComments(postId: string, w: Walk, signal?: AbortSignal): AsyncGenerator<FetchedPage> {
    // https://developers.facebook.com/docs/graph-api/reference/object/comments
    let url: string | undefined = `${postId}/comments`;
    let q: Record<string, string | number> | undefined = {
      fields: COMMENT_FIELDS,
      filter: 'stream',
      order: 'reverse_chronological',
      limit: pageSize,
      since: w.floorS,
    };
    while (url) {
      signal?.throwIfAborted();
      const body: FbListResponse<FbComment> = await get<FbListResponse<FbComment>>(url, q);
      const posts: SocialPost[] = [];
      let reachedFloor = false;
      for (const raw of body.data) {
        const createdS = epochS(isObject(raw) ? raw.created_time : undefined);
        if (createdS !== undefined && createdS < w.floorS) {
          reachedFloor = true; // newest first: the rest is older still
          continue;
        }
        const r = isObject(raw) ? mapFbComment(raw, postId, opts.pageId) : { rejected: { id: undefined, reason: 'not an object' } };
        if ('post' in r && r.post) {
          posts.push(r.post);
          w.seen(r.post.created_at);
        } else reportRejected((r as { rejected?: RejectedFbItem }).rejected);
      }
      yield { posts, nextCursor: null, read: { requests: 1, ids: itemIds(body.data) } };
      url = reachedFloor ? undefined : body.paging?.next;
      q = undefined;
    }
  }

  return {
    sourceId: opts.sourceId,
    async *fetchPages(cursor: Cursor | null, signal?: AbortSignal): AsyncGenerator<FetchedPage> {
      const state = parseFbCursor(cursor);
      const t = now();
      const w = new Walk(
        state,
        Math.floor((state.w === null ? t - backfillMs : state.w * 1000 - overlapMs) / 1000),
        Math.floor((t - conversationWindowMs) / 1000),
      );
      for (const edge of ['feed', 'tagged'] as const) {
        for await (const page of walkPosts(edge, w, signal)) yield { ...page, nextCursor: cursor };
      }
      // Only the posts whose updated_time or comment count moved since the last walk: no re-reading every post.
      for (const postId of w.changed()) {
        for await (const page of walkComments(postId, w, signal)) yield { ...page, nextCursor: cursor };
      }
      // The walk is complete: only now may the watermark and the snapshot move.
      yield { posts: [], nextCursor: w.cursor() };
    },
  };
}

/** Where a Page walk stopped: the newest item time (epoch s) and each tracked post's `updated_time:count`. */
export interface FbCursorState {
  w: number | null;
  p: Record<string, string>;
}

/** A stored cursor → state. Bare epoch seconds is the format before conversations were tracked. */
export function parseFbCursor(cursor: Cursor | null): FbCursorState {
  if (cursor === null) return { w: null, p: {} };
  if (/^\d+$/.test(cursor)) return { w: Number(cursor), p: {} };
  try {
    const v = JSON.parse(cursor) as unknown;
    if (isObject(v) && (v.w === null || typeof v.w === 'number') && isObject(v.p)) return v as unknown as FbCursorState;
  } catch {
    // falls through to the error below
  }
  throw new ConnectorError('bad_response', `stored Facebook cursor is not a Page walk state: ${JSON.stringify(cursor.slice(0, 80))}`);
}

/** The ids of a list page's items, for the read counters. */
const itemIds = (data: unknown[]): string[] => data.flatMap((d) => (isObject(d) && typeof d.id === 'string' ? [d.id] : []));

/** Graph time → epoch seconds. */
const epochS = (v: unknown): number | undefined => {
  const iso = fbTime(v);
  return iso === undefined ? undefined : Math.floor(Date.parse(iso) / 1000);
};

/** The state of one walk: its floors, the newest time seen, and the posts tracked now vs last time. */
class Walk {
  private newest: number | null;
  private readonly now: Record<string, string> = {};
  constructor(
    private readonly before: FbCursorState,
    readonly floorS: number,
    readonly windowFloorS: number,
  ) {
    this.newest = before.w;
  }
  seen(iso: string): void {
    const s = Math.floor(Date.parse(iso) / 1000);
    if (this.newest === null || s > this.newest) this.newest = s;
  }
  track(raw: FbPost & { comments?: { summary?: { total_count?: number } } }): void {
    const count = isObject(raw.comments) && isObject(raw.comments.summary) ? raw.comments.summary.total_count : undefined;
    this.now[raw.id] = `${epochS(raw.updated_time) ?? ''}:${typeof count === 'number' ? count : ''}`;
  }
  /** Posts new to the window, or whose updated_time or comment count changed; unknown values count as changed. */
  changed(): string[] {
    return Object.entries(this.now)
      .filter(([id, v]) => this.before.p[id] !== v || v.startsWith(':') || v.endsWith(':'))
      .map(([id]) => id);
  }
  cursor(): Cursor {
    return JSON.stringify({ w: this.newest, p: this.now } satisfies FbCursorState);
  }
}
