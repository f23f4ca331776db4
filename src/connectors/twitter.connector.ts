import http from 'node:http';
import {
  ApiPartialResponseError,
  ApiRequestError,
  ApiResponseError,
  TwitterApi,
  type ITwitterApiClientPlugin,
  type TweetV2PaginableTimelineParams,
} from 'twitter-api-v2';
import { ConnectorError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SocialPost } from '../types.js';
import { parseSocialPost } from './post-schema.js';
import { maxId, snowflakeAt, snowflakeTime } from './snowflake.js';
import type { Connector, Cursor, FetchedPage } from './types.js';

/**
 * Twitter/X connector on twitter-api-v2: recent search and user mentions, walked newest first
 * with `since_id` and `next_token`, authors expanded. The cursor is the newest X id of a
 * complete walk; it is handed out only with the walk's last page, so a walk that dies half-way
 * starts again from the same since_id and never skips.
 */

// --- raw wire types (X API v2) ------------------------------------------------------------

/** A post as X API v2 returns it with the fields this connector asks for. */
export interface XTweet {
  id: string;
  text: string;
  author_id?: string;
  created_at?: string;
  conversation_id?: string;
  in_reply_to_user_id?: string;
  referenced_tweets?: { type: 'retweeted' | 'quoted' | 'replied_to'; id: string }[];
  lang?: string;
  edit_history_tweet_ids?: string[];
}

/** A user object in `includes.users` (expansions=author_id). */
export interface XUser {
  id: string;
  name?: string;
  username?: string;
  public_metrics?: { followers_count?: number };
}

/** RFC 7807 problem object, as a whole error body or in a 200's `errors` array. */
export interface XProblem {
  title?: string;
  detail?: string;
  type?: string;
  status?: number;
}

/** `GET /2/tweets/search/recent` and `GET /2/users/:id/mentions` (same shape). */
export interface XSearchResponse {
  data?: XTweet[];
  includes?: { users?: XUser[] };
  meta: { result_count: number; newest_id?: string; oldest_id?: string; next_token?: string; previous_token?: string };
  errors?: XProblem[];
}

/** A tweet the mapper could not turn into a post, and why. */
export interface RejectedItem {
  id: string | undefined;
  reason: string;
}

export interface MappedPage {
  posts: SocialPost[];
  rejected: RejectedItem[];
}

/** X's codes for "no language": undetermined, media only, hashtags only, mentions only, ... */
const X_NO_LANGUAGE = new Set(['und', 'zxx', 'qme', 'qht', 'qam', 'qst', 'qct', 'art']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One X page → normalized posts. Pure. A body that is not a page at all (no `meta`, `data` not a
 * list) throws `bad_response`: nothing of it may be stored. A single tweet that lacks what a post
 * needs is rejected with its reason and the rest of the page goes through. A missing `created_at`
 * is read from the snowflake id; a missing user object leaves the author as the bare id.
 */
export function mapXPage(raw: unknown): MappedPage {
  if (!isObject(raw) || !isObject(raw.meta)) {
    throw new ConnectorError('bad_response', 'X page without a meta object');
  }
  if (raw.data !== undefined && !Array.isArray(raw.data)) {
    throw new ConnectorError('bad_response', 'X page whose data is not a list');
  }
  const users = new Map<string, XUser>();
  const includes = isObject(raw.includes) ? raw.includes : {};
  if (Array.isArray(includes.users)) {
    for (const u of includes.users) if (isObject(u) && typeof u.id === 'string') users.set(u.id, u as unknown as XUser);
  }
  const posts: SocialPost[] = [];
  const rejected: RejectedItem[] = [];
  for (const item of (raw.data ?? []) as unknown[]) {
    const tweet = isObject(item) ? (item as unknown as XTweet) : undefined;
    const id = typeof tweet?.id === 'string' ? tweet.id : undefined;
    if (!tweet || !id) {
      rejected.push({ id, reason: 'id: required' });
      continue;
    }
    if (typeof tweet.author_id !== 'string') {
      rejected.push({ id, reason: 'author_id: required (expansions=author_id)' });
      continue;
    }
    const user = users.get(tweet.author_id);
    const replyTo = Array.isArray(tweet.referenced_tweets) ? tweet.referenced_tweets.find((r) => isObject(r) && r.type === 'replied_to')?.id : undefined;
    const retweetOf = Array.isArray(tweet.referenced_tweets) ? tweet.referenced_tweets.find((r) => isObject(r) && r.type === 'retweeted')?.id : undefined;
    let createdAt = tweet.created_at;
    if (typeof createdAt !== 'string' && /^[1-9][0-9]*$/.test(id)) createdAt = new Date(snowflakeTime(id)).toISOString();
    const parsed = parseSocialPost({
      platform: 'twitter',
      id,
      text: tweet.text,
      created_at: createdAt,
      author: {
        id: tweet.author_id,
        handle: user?.username,
        name: user?.name,
        followers: user?.public_metrics?.followers_count,
      },
      in_reply_to: replyTo,
      conversation_id: tweet.conversation_id,
      retweet_of: retweetOf,
      lang: tweet.lang && /^[a-z]{2,3}$/i.test(tweet.lang) && !X_NO_LANGUAGE.has(tweet.lang) ? tweet.lang : undefined,
    });
    if (parsed.ok) posts.push(parsed.post);
    else rejected.push({ id, reason: parsed.reason });
  }
  return { posts, rejected };
}

/** The ids of every post a page returned, mapped or not: X charges for each. */
export function rawIds(raw: unknown): string[] {
  const data = isObject(raw) && Array.isArray(raw.data) ? (raw.data as unknown[]) : [];
  return data.flatMap((t) => (isObject(t) && typeof t.id === 'string' ? [t.id] : []));
}

// --- errors ------------------------------------------------------------------------------

/** Default wait when X says 429 without a usable reset header: one 15-minute window. */
const DEFAULT_X_RESET_MS = 15 * 60_000;

/** A twitter-api-v2 error → the ConnectorError the error policy acts on. */
export function xError(err: unknown, now: number = Date.now()): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (err instanceof ApiResponseError) {
    const problem = (isObject(err.data) ? err.data : {}) as XProblem;
    const detail = problem.detail ?? problem.title ?? '';
    const said = `X answered ${err.code}${detail ? ` (${detail})` : ''}`;
    if (err.code === 429 || err.code === 420) {
      const reset = err.rateLimit?.reset;
      const wait = reset ? Math.max(1000, reset * 1000 - now) : DEFAULT_X_RESET_MS;
      return new ConnectorError('rate_limited', `${said}: rate limited until ${new Date(now + wait).toISOString()}`, wait);
    }
    if (err.code === 401) return new ConnectorError('auth', `${said}: the bearer token is invalid or expired; set a valid TWITTER_BEARER_TOKEN`);
    if (err.code === 403) return new ConnectorError('auth', `${said}: the app may not use this endpoint; check the project and access level`);
    if (err.code === 404) return new ConnectorError('not_found', `${said}: no such user or endpoint`);
    if (err.code >= 500) return new ConnectorError('temporary', said);
    return new ConnectorError('bad_response', said);
  }
  if (err instanceof ApiPartialResponseError) return new ConnectorError('bad_response', `X sent an unreadable body: ${err.message}`);
  if (err instanceof ApiRequestError) {
    return new ConnectorError('temporary', `X request failed: ${(err.requestError as Error | undefined)?.message ?? err.message}`);
  }
  return new ConnectorError('temporary', `X request failed: ${(err as Error)?.message ?? String(err)}`);
}

// --- client ------------------------------------------------------------------------------

/** Options of {@link createXClient}. */
export interface XClientOptions {
  bearerToken: string;
  /**
   * Origin that stands in for https://api.x.com (a simulator, a proxy). Unset: the real host.
   * twitter-api-v2 has no base-URL option, so a plugin rewrites each request's URL.
   */
  baseUrl?: string | undefined;
  /**
   * Socket idle time before a request fails as a timeout.
   * @defaultValue 15000
   */
  timeoutMs?: number;
}

/** A twitter-api-v2 client, aimed at `baseUrl` when given, with a request timeout. */
export function createXClient(opts: XClientOptions): TwitterApi {
  const base = opts.baseUrl?.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const plugin: ITwitterApiClientPlugin = {
    onBeforeRequestConfig({ params }) {
      if (base) params.url = params.url.replace(/^https:\/\/(api|upload)\.(x|twitter)\.com\//, `${base}/`);
      // Read by the request maker after this hook; the core has no client-wide timeout setting.
      params.timeout = timeoutMs;
    },
  };
  return new TwitterApi(opts.bearerToken, {
    plugins: [plugin],
    // The library sends with https.request even for http:// URLs; a plain agent makes that work.
    ...(base?.startsWith('http:') ? { httpAgent: new http.Agent({ keepAlive: true }) } : {}),
  });
}

// --- connector ---------------------------------------------------------------------------

export type XTarget = { kind: 'search'; query: string } | { kind: 'mentions'; userId: string };

/** Options of {@link createTwitterConnector}. */
export interface TwitterConnectorOptions {
  sourceId: string;
  target: XTarget;
  client: TwitterApi;
  /**
   * Posts per request (10–100 for search, 5–100 for mentions).
   * @defaultValue 100
   */
  pageSize?: number;
  /**
   * How far below the stored since_id each poll reads again, as time: X indexes some posts late,
   * with ids older than ones already seen. Re-read posts are absorbed by the inbox's unique key,
   * and X charges a post read twice in one UTC day once (docs/sources.md).
   * @defaultValue 600000 (10 min)
   */
  overlapMs?: number;
  /**
   * How far back the first poll of a source reaches; recent search serves at most 7 days and the
   * mentions timeline its 800 newest mentions, whatever this says.
   * @defaultValue 86400000 (1 day)
   */
  backfillMs?: number;
  /** Clock. @defaultValue Date.now */
  now?: () => number;
  /** Where rejected tweets are reported. */
  log?: Logger;
}

/** Read-again window behind the newest post seen: X posts reach search up to minutes late (docs/sources.md). */
export const DEFAULT_OVERLAP_MS = 10 * 60_000;

/** Recent search refuses a since_id older than 7 days; stay a minute inside that. */
const SEARCH_WINDOW_MS = 7 * 86_400_000 - 60_000;
const TWEET_FIELDS = ['created_at', 'author_id', 'conversation_id', 'in_reply_to_user_id', 'referenced_tweets', 'lang'];

export function createTwitterConnector(opts: TwitterConnectorOptions): Connector {
  const now = opts.now ?? Date.now;
  const pageSize = opts.pageSize ?? 100;
  const overlapMs = opts.overlapMs ?? DEFAULT_OVERLAP_MS;
  const backfillMs = opts.backfillMs ?? 86_400_000;
  /** Until when the last response's x-rate-limit-remaining said 0: no request before then. */
  let exhaustedUntil = 0;

  function sinceFor(cursor: Cursor | null): Partial<TweetV2PaginableTimelineParams> {
    const t = now();
    if (cursor !== null && !/^[1-9][0-9]*$/.test(cursor)) {
      throw new ConnectorError('bad_response', `stored X cursor is not an id: ${JSON.stringify(cursor)}`);
    }
    let floor = cursor === null ? t - backfillMs : snowflakeTime(cursor) - overlapMs;
    if (opts.target.kind === 'search') floor = Math.max(floor, t - SEARCH_WINDOW_MS);
    return { since_id: snowflakeAt(floor) };
  }

  function checkBudget(): void {
    const wait = exhaustedUntil - now();
    if (wait > 0) {
      throw new ConnectorError('rate_limited', `X rate limit used up until ${new Date(exhaustedUntil).toISOString()}`, wait);
    }
  }

  function noteRateLimit(rl: { remaining?: number; reset?: number } | undefined): void {
    if (rl && rl.remaining === 0 && typeof rl.reset === 'number') exhaustedUntil = rl.reset * 1000;
  }

  return {
    sourceId: opts.sourceId,
    // Search: https://docs.x.com/x-api/posts/search-recent-posts — mentions: https://docs.x.com/x-api/users/get-mentions
    async *fetchPages(cursor: Cursor | null, signal?: AbortSignal): AsyncGenerator<FetchedPage> {
      const params: Partial<TweetV2PaginableTimelineParams> = {
        ...sinceFor(cursor),
        max_results: pageSize,
        expansions: ['author_id'],
        'tweet.fields': TWEET_FIELDS as TweetV2PaginableTimelineParams['tweet.fields'],
        'user.fields': ['username', 'name', 'public_metrics'],
      };
      checkBudget();
      let paginator;
      try {
        paginator =
          opts.target.kind === 'search'
            ? await opts.client.v2.search(opts.target.query, params)
            : await opts.client.v2.userMentionTimeline(opts.target.userId, params);
      } catch (err) {
        noteRateLimit((err as ApiResponseError).rateLimit);
        throw xError(err, now());
      }
      let newest = cursor;
      for (;;) {
        signal?.throwIfAborted();
        noteRateLimit(paginator.rateLimit);
        const page = mapXPage(paginator.data);
        for (const r of page.rejected) opts.log?.warn({ sourceId: opts.sourceId, id: r.id, reason: r.reason }, 'X post skipped: malformed');
        for (const p of page.posts) newest = maxId(newest, p.id);
        const meta = (paginator.data as unknown as XSearchResponse).meta;
        if (meta.newest_id && /^[1-9][0-9]*$/.test(meta.newest_id)) newest = maxId(newest, meta.newest_id);
        const read = { requests: 1, ids: rawIds(paginator.data) };
        if (!meta.next_token) {
          // The walk is complete: only now may the cursor move to the newest id seen.
          yield { posts: page.posts, nextCursor: newest, read };
          return;
        }
        yield { posts: page.posts, nextCursor: cursor, read };
        checkBudget();
        try {
          paginator = await paginator.next(pageSize);
        } catch (err) {
          noteRateLimit((err as ApiResponseError).rateLimit);
          throw xError(err, now());
        }
      }
    },
  };
}
