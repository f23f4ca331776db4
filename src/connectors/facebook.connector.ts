import { createHmac } from 'node:crypto';
import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { ConnectorError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SocialPost } from '../types.js';
import { parseSocialPost } from './post-schema.js';
import type { Connector, Cursor, FetchedPage } from './types.js';

/**
 * Facebook connector on axios against the Graph API: a Page's feed (its posts and visitor posts),
 * the posts it is tagged in (`/tagged`: `/feed` does not carry them), and the comments and replies
 * on every such post of the conversation window whose `updated_time` or comment count changed.
 * Incremental with `since`, following `paging.next`; `appsecret_proof` on every call when an app
 * secret is set. The cursor is the newest `created_time` of a complete walk and each tracked post's
 * `updated_time` and comment count, handed out with the walk's last page.
 */

// --- raw wire types (Graph API) ----------------------------------------------------------

export interface FbFrom {
  id: string;
  name?: string;
}

/** An item of `GET /{page-id}/feed`. */
export interface FbPost {
  id: string;
  message?: string;
  story?: string;
  created_time: string;
  updated_time?: string;
  from?: FbFrom;
  permalink_url?: string;
}

/** An item of `GET /{object-id}/comments`. */
export interface FbComment {
  id: string;
  message?: string;
  created_time: string;
  from?: FbFrom;
  parent?: { id: string };
}

/** Any Graph list edge. */
export interface FbListResponse<T> {
  data: T[];
  paging?: { cursors?: { before?: string; after?: string }; next?: string; previous?: string };
}

/** A Graph error body. */
export interface FbErrorBody {
  error: { message: string; type?: string; code: number; error_subcode?: number; is_transient?: boolean; fbtrace_id?: string };
}

/** A Page webhook POST body (object `page`, field `feed`). */
export interface FbWebhookPayload {
  object: string;
  entry: {
    id: string;
    time: number;
    changes?: {
      field: string;
      value: {
        item?: string;
        verb?: string;
        post_id?: string;
        comment_id?: string;
        parent_id?: string;
        created_time?: number;
        from?: FbFrom;
        message?: string;
      };
    }[];
  }[];
}

export interface RejectedFbItem {
  id: string | undefined;
  reason: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Graph reads say `2025-03-14T09:26:53+0000`, webhooks epoch seconds; both → ISO 8601 UTC. */
export function fbTime(value: unknown): string | undefined {
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) : NaN;
  // Beyond ±8.64e15 ms a Date is invalid and toISOString throws: such a time is no time (the item is rejected).
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : undefined;
}

function toPost(
  fields: { id: unknown; text: unknown; created: unknown; from: unknown; inReplyTo?: string | undefined; conversationId?: string | undefined },
  pageId: string | undefined,
): { post?: SocialPost; rejected?: RejectedFbItem; own?: true } {
  const id = typeof fields.id === 'string' ? fields.id : undefined;
  if (!id) return { rejected: { id, reason: 'id: required' } };
  const from = isObject(fields.from) ? fields.from : undefined;
  if (!from || typeof from.id !== 'string') {
    // Graph omits `from` when the token may not see the author: without it there is no one to answer.
    return { rejected: { id, reason: 'from: not visible to this token' } };
  }
  // The Page's own posts and replies are ours: capturing them would answer ourselves.
  if (pageId !== undefined && from.id === pageId) return { own: true };
  const parsed = parseSocialPost({
    platform: 'facebook',
    id,
    text: typeof fields.text === 'string' ? fields.text : '',
    created_at: fbTime(fields.created),
    author: { id: from.id, name: typeof from.name === 'string' ? from.name : undefined },
    in_reply_to: fields.inReplyTo,
    conversation_id: fields.conversationId,
  });
  return parsed.ok ? { post: parsed.post } : { rejected: { id, reason: parsed.reason } };
}

/** A feed item → post (its own conversation root). Pure; `own` when the Page wrote it. */
export function mapFbPost(raw: FbPost, pageId?: string) {
  return toPost({ id: raw.id, text: raw.message ?? raw.story, created: raw.created_time, from: raw.from, conversationId: raw.id }, pageId);
}

/** A comment on Page post `postId` → post replying to its parent comment, or to the post. Pure. */
export function mapFbComment(raw: FbComment, postId: string, pageId?: string) {
  const parent = isObject(raw.parent) && typeof raw.parent.id === 'string' ? raw.parent.id : undefined;
  return toPost(
    { id: raw.id, text: raw.message, created: raw.created_time, from: raw.from, inReplyTo: parent ?? postId, conversationId: postId },
    pageId,
  );
}

/** Webhook items that are content a person wrote; reactions, likes and the like are not posts. */
const WEBHOOK_ITEMS = new Set(['post', 'status', 'photo', 'video', 'share', 'comment']);

/**
 * A Page webhook body → the same posts polling yields for the same items (same ids, so the
 * inbox stores each once whichever way it came first). Only `verb: add`; the Page's own items
 * are left out. Pure.
 */
export function mapFbWebhook(payload: unknown): { posts: SocialPost[]; rejected: RejectedFbItem[]; ignored: number } {
  const posts: SocialPost[] = [];
  const rejected: RejectedFbItem[] = [];
  let ignored = 0;
  if (!isObject(payload) || payload.object !== 'page' || !Array.isArray(payload.entry)) {
    return { posts, rejected: [{ id: undefined, reason: 'not a page webhook (object must be "page" with an entry list)' }], ignored };
  }
  for (const entry of payload.entry as unknown[]) {
    if (!isObject(entry) || !Array.isArray(entry.changes)) continue;
    const pageId = typeof entry.id === 'string' ? entry.id : undefined;
    for (const change of entry.changes as unknown[]) {
      const value = isObject(change) && change.field === 'feed' && isObject(change.value) ? change.value : undefined;
      if (!value || value.verb !== 'add' || typeof value.item !== 'string' || !WEBHOOK_ITEMS.has(value.item)) {
        ignored += 1;
        continue;
      }
      const postId = typeof value.post_id === 'string' ? value.post_id : undefined;
      const isComment = value.item === 'comment';
      const r = toPost(
        {
          id: isComment ? value.comment_id : postId,
          text: value.message,
          created: value.created_time,
          from: value.from,
          inReplyTo: isComment ? (typeof value.parent_id === 'string' ? value.parent_id : postId) : undefined,
          conversationId: postId,
        },
        pageId,
      );
      if (r.post) posts.push(r.post);
      else if (r.rejected) rejected.push(r.rejected);
      else ignored += 1;
    }
  }
  return { posts, rejected, ignored };
}

// --- usage headers and errors ------------------------------------------------------------

/** The highest share of any quota the usage headers report (0–100), and Meta's wait estimate. */
export function fbUsage(headers: Record<string, unknown>): { percent: number; regainMs: number } {
  let percent = 0;
  let regainMs = 0;
  const parse = (name: string): unknown => {
    const raw = headers[name];
    if (typeof raw !== 'string') return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      return undefined;
    }
  };
  const take = (u: unknown) => {
    if (!isObject(u)) return;
    for (const k of ['call_count', 'total_cputime', 'total_time']) {
      const v = u[k];
      if (typeof v === 'number' && v > percent) percent = v;
    }
    const regain = u.estimated_time_to_regain_access;
    if (typeof regain === 'number' && regain * 60_000 > regainMs) regainMs = regain * 60_000; // minutes
  };
  take(parse('x-app-usage'));
  take(parse('x-page-usage'));
  const buc = parse('x-business-use-case-usage');
  if (isObject(buc)) for (const list of Object.values(buc)) if (Array.isArray(list)) list.forEach(take);
  return { percent, regainMs };
}

/** Graph error codes that mean "slow down": app, user, Page, custom and Pages BUC limits. */
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80001, 341]);
const TOKEN_CODES = new Set([190, 102]);

/** A Graph/axios failure → the ConnectorError the error policy acts on. */
export function fbError(err: unknown, rateLimitWaitMs: number): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (err instanceof AxiosError) {
    const res = err.response;
    if (!res) return new ConnectorError('temporary', `Graph request failed: ${err.code ?? ''} ${err.message}`.trim());
    const body = isObject(res.data) && isObject(res.data.error) ? (res.data as unknown as FbErrorBody).error : undefined;
    if (!body) {
      return res.status >= 500
        ? new ConnectorError('temporary', `Graph answered ${res.status}`)
        : new ConnectorError('bad_response', `Graph answered ${res.status} without an error object`);
    }
    const said = `Graph error ${body.code}${body.error_subcode ? `/${body.error_subcode}` : ''}: ${body.message}`;
    if (TOKEN_CODES.has(body.code)) return new ConnectorError('auth', `${said} (set a valid FACEBOOK_PAGE_TOKEN)`);
    if (RATE_LIMIT_CODES.has(body.code)) {
      const { regainMs } = fbUsage(res.headers as Record<string, unknown>);
      return new ConnectorError('rate_limited', said, Math.max(regainMs, rateLimitWaitMs));
    }
    if (body.code === 10 || (body.code >= 200 && body.code <= 299)) return new ConnectorError('auth', `${said} (the token lacks a permission)`);
    if (body.code === 100 && body.error_subcode === 33) return new ConnectorError('not_found', said);
    if (body.code === 803) return new ConnectorError('not_found', said);
    if (body.is_transient || body.code === 1 || body.code === 2 || res.status >= 500) return new ConnectorError('temporary', said);
    return new ConnectorError('bad_response', said);
  }
  return new ConnectorError('temporary', `Graph request failed: ${(err as Error)?.message ?? String(err)}`);
}

// --- client ------------------------------------------------------------------------------

/** The Graph version used when the base URL names none. */
export const DEFAULT_GRAPH_VERSION = 'v27.0';
export const DEFAULT_GRAPH_BASE_URL = `https://graph.facebook.com/${DEFAULT_GRAPH_VERSION}`;

/** `appsecret_proof`: lowercase hex HMAC-SHA256 of the access token, keyed with the app secret. */
export function appSecretProof(appSecret: string, accessToken: string): string {
  return createHmac('sha256', appSecret).update(accessToken).digest('hex');
}

/** A base URL with a version segment: `…/v27.0`, the default version appended when none is given. */
export function versionedGraphBase(baseUrl: string | undefined): string {
  const base = (baseUrl ?? DEFAULT_GRAPH_BASE_URL).replace(/\/+$/, '');
  return /\/v\d+\.\d+$/.test(base) ? base : `${base}/${DEFAULT_GRAPH_VERSION}`;
}

/** Options of {@link createGraphClient}. */
export interface GraphClientOptions {
  pageToken: string;
  /** Enables `appsecret_proof` on every call. */
  appSecret?: string | undefined;
  /** @defaultValue https://graph.facebook.com/v27.0 */
  baseUrl?: string | undefined;
  /** @defaultValue 15000 */
  timeoutMs?: number;
}

export interface GraphClient {
  readonly base: string;
  /** GET a path under the base, or an absolute `paging.next` URL of the same origin. */
  get<T>(pathOrUrl: string, params?: Record<string, string | number>): Promise<AxiosResponse<T>>;
}

export function createGraphClient(opts: GraphClientOptions): GraphClient {
  const base = versionedGraphBase(opts.baseUrl);
  const origin = new URL(base).origin;
  const http: AxiosInstance = axios.create({ timeout: opts.timeoutMs ?? 15_000, headers: { accept: 'application/json' } });
  const auth: Record<string, string> = { access_token: opts.pageToken };
  if (opts.appSecret) auth.appsecret_proof = appSecretProof(opts.appSecret, opts.pageToken);
  return {
    base,
    async get<T>(pathOrUrl: string, params: Record<string, string | number> = {}) {
      const url = new URL(/^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${base}/${pathOrUrl.replace(/^\/+/, '')}`);
      // paging.next carries the token in its query: follow it only where the token may go.
      if (url.origin !== origin) throw new ConnectorError('bad_response', `Graph paging led off ${origin}: ${url.origin}`);
      for (const [k, v] of Object.entries({ ...params, ...auth })) url.searchParams.set(k, String(v));
      return http.get<T>(url.toString());
    },
  };
}

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
      opts.log?.warn({ sourceId: opts.sourceId, usage: usage.percent, until: new Date(throttledUntil).toISOString() }, 'Graph usage near its limit; pausing this source');
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
    let q: Record<string, string | number> | undefined = { fields: COMMENT_FIELDS, filter: 'stream', order: 'reverse_chronological', limit: pageSize, since: w.floorS };
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
