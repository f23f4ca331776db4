import type http from 'node:http';
import { snowflakeAt } from '../connectors/snowflake.js';
import type { XProblem, XSearchResponse, XTweet, XUser } from '../connectors/twitter.connector.js';
import type { SocialPost } from '../types.js';
import { decodeToken, encodeToken, listen, sendJson, sendMalformed, type RunningServer, type SeenRequest } from './http.js';
import { createXStreamHub, type XStreamHub } from './x-stream.simulator.js';

/**
 * A local X API v2 that speaks the wire format (reference/social-apis.md, sections A–B):
 * `GET /2/tweets/search/recent` and `GET /2/users/:id/mentions`, newest first, `since_id` /
 * `until_id`, `next_token` / `pagination_token`, `expansions=author_id`, rate-limit headers on
 * every response, RFC 7807 error bodies, and faults a test switches on.
 */

export type XFaultKind =
  /** 429 with x-rate-limit-remaining 0 and a reset `resetInSec` ahead; the window stays closed until then. */
  | 'rate_limit'
  | 'server_error'
  /** Holds the request without answering for `hangMs`. */
  | 'timeout'
  /** 200 with a body cut off mid-JSON. */
  | 'malformed'
  /** Drops `created_at` and `includes` (what a partial outage of the hydration service looks like). */
  | 'missing_fields'
  /** 401 as for a revoked or expired bearer token. */
  | 'expired_token'
  /** Repeats the previous page's last post at the top of a follow-up page. */
  | 'duplicate';

export interface XFault {
  kind: XFaultKind;
  endpoint?: 'search' | 'mentions';
  /** Only on requests that carry a page token (page 2 and later of a walk). */
  followUpOnly?: boolean;
  /** How many requests it hits. @defaultValue 1 */
  times?: number;
  /** @defaultValue 2 */
  resetInSec?: number;
  /** @defaultValue 60000 */
  hangMs?: number;
}

export interface TwitterSimulatorOptions {
  /** The bearer token it accepts. @defaultValue 'sandbox-token' */
  bearerToken?: string;
  /** Requests per window per endpoint. @defaultValue 450 per 15 min */
  rateLimit?: { limit: number; windowMs: number };
  /** @defaultValue 0 (any free port) */
  port?: number;
  /** Keep-alive interval of the filtered stream. @defaultValue 20000 */
  heartbeatMs?: number;
}

export interface TwitterSimulator extends RunningServer {
  /**
   * Make a post visible to a search query or to a user's mentions. It gets a snowflake id of the
   * publishing moment, or of `lateByMs` earlier: a post indexed late, older than ones already served.
   */
  publish(stream: XStream, post: SocialPost, opts?: { lateByMs?: number }): XTweet;
  /** Faults still to fire, in order; a test pushes onto it. */
  faults: XFault[];
  requests: SeenRequest[];
  tweets(stream: XStream): XTweet[];
  /** The filtered stream: its rules, its faults, and a post published under a query matching a rule's value goes out on it. */
  stream: XStreamHub;
}

/** How many of a user's newest mentions `GET /2/users/:id/mentions` reaches back. */
const MENTIONS_SERVED = 800;

export type XStream = { search: string } | { mentions: string };
const keyOf = (s: XStream) => ('search' in s ? `search:${s.search}` : `mentions:${s.mentions}`);

function problem(status: number, title: string, detail: string, type = 'about:blank'): XProblem {
  return { title, detail, type, status };
}

export async function startTwitterSimulator(opts: TwitterSimulatorOptions = {}): Promise<TwitterSimulator> {
  const token = opts.bearerToken ?? 'sandbox-token';
  const limit = opts.rateLimit ?? { limit: 450, windowMs: 15 * 60_000 };
  const streams = new Map<string, XTweet[]>();
  const users = new Map<string, XUser>();
  const idOf = new Map<string, string>(); // post id as published → X id given
  const windows = new Map<string, { resetAt: number; used: number }>();
  const faults: XFault[] = [];
  const requests: SeenRequest[] = [];
  let seq = 0;
  const hub = createXStreamHub({ ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}) });

  function mint(atMs: number): string {
    // 22 low bits are worker/sequence in a snowflake: a counter below 2^22 keeps ids unique and time-ordered.
    seq = (seq + 1) % 4_000_000;
    return (BigInt(snowflakeAt(atMs)) + BigInt(seq)).toString();
  }

  function publish(stream: XStream, post: SocialPost, o: { lateByMs?: number } = {}): XTweet {
    const at = Date.now() - (o.lateByMs ?? 0);
    const id = mint(at);
    idOf.set(post.id, id);
    const tweet: XTweet = {
      id,
      text: post.text,
      edit_history_tweet_ids: [id],
      author_id: post.author.id,
      created_at: new Date(at).toISOString(),
      conversation_id: post.conversation_id ? (idOf.get(post.conversation_id) ?? post.conversation_id) : id,
      ...(post.lang ? { lang: post.lang } : {}),
    };
    if (post.in_reply_to) {
      const parent = idOf.get(post.in_reply_to) ?? post.in_reply_to;
      tweet.referenced_tweets = [{ type: 'replied_to', id: parent }];
    }
    users.set(post.author.id, {
      id: post.author.id,
      name: post.author.name ?? post.author.handle ?? post.author.id,
      username: post.author.handle ?? `user${post.author.id}`,
      public_metrics: { followers_count: post.author.followers ?? 0 },
    });
    const list = streams.get(keyOf(stream)) ?? [];
    list.push(tweet);
    list.sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : BigInt(b.id) < BigInt(a.id) ? -1 : 0));
    streams.set(keyOf(stream), list);
    if ('search' in stream) hub.deliver(stream.search, tweet, users.get(post.author.id)!);
    return tweet;
  }

  function rateHeaders(endpoint: string, consume: boolean): { headers: Record<string, string>; exhausted: boolean } {
    const now = Date.now();
    let w = windows.get(endpoint);
    if (!w || w.resetAt <= now) {
      w = { resetAt: now + limit.windowMs, used: 0 };
      windows.set(endpoint, w);
    }
    const exhausted = w.used >= limit.limit;
    if (consume && !exhausted) w.used += 1;
    return {
      exhausted,
      headers: {
        'x-rate-limit-limit': String(limit.limit),
        'x-rate-limit-remaining': String(Math.max(0, limit.limit - w.used)),
        'x-rate-limit-reset': String(Math.ceil(w.resetAt / 1000)),
      },
    };
  }

  function takeFault(endpoint: 'search' | 'mentions', followUp: boolean): XFault | undefined {
    const i = faults.findIndex((f) => (!f.endpoint || f.endpoint === endpoint) && (!f.followUpOnly || followUp));
    if (i < 0) return undefined;
    const f = faults[i]!;
    const left = (f.times ?? 1) - 1;
    if (left <= 0) faults.splice(i, 1);
    else f.times = left;
    return f;
  }

  /** A query's posts; `(a) OR (b)`, as the stream's backfill combines its rules, is the union of a's and b's. */
  function searchPool(query: string): XTweet[] {
    const parts = /^\(.*\)$/.test(query) ? query.slice(1, -1).split(') OR (') : [query];
    const all = new Map<string, XTweet>();
    for (const part of parts) for (const t of streams.get(`search:${part}`) ?? []) all.set(t.id, t);
    return [...all.values()].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : BigInt(b.id) < BigInt(a.id) ? -1 : 0));
  }

  function serve(req: http.IncomingMessage, res: http.ServerResponse, url: URL): number {
    const search = url.pathname === '/2/tweets/search/recent';
    const mentions = /^\/2\/users\/(\d+)\/mentions$/.exec(url.pathname);
    if (!search && !mentions) {
      sendJson(res, 404, problem(404, 'Not Found Error', `no route ${url.pathname}`, 'https://api.twitter.com/2/problems/resource-not-found'));
      return 404;
    }
    const endpoint = search ? 'search' : 'mentions';
    const q = url.searchParams;
    const pageToken = q.get(search ? 'next_token' : 'pagination_token') ?? (search ? q.get('pagination_token') : null);
    const unauthorized = () => {
      sendJson(res, 401, problem(401, 'Unauthorized', 'Unauthorized'), rateHeaders(endpoint, false).headers, 'application/problem+json');
      return 401;
    };
    if (req.headers.authorization !== `Bearer ${token}`) return unauthorized();
    const fault = takeFault(endpoint, pageToken !== null);
    if (fault?.kind === 'expired_token') return unauthorized();
    if (fault?.kind === 'timeout') {
      setTimeout(() => res.destroy(), fault.hangMs ?? 60_000).unref();
      return 0;
    }
    if (fault?.kind === 'rate_limit') {
      const w = { resetAt: Date.now() + (fault.resetInSec ?? 2) * 1000, used: limit.limit };
      windows.set(endpoint, w);
    }
    const rate = rateHeaders(endpoint, true);
    if (rate.exhausted) {
      sendJson(res, 429, problem(429, 'Too Many Requests', 'Too Many Requests'), rate.headers, 'application/problem+json');
      return 429;
    }
    if (fault?.kind === 'server_error') {
      sendJson(res, 503, problem(503, 'Service Unavailable', 'Service Unavailable'), rate.headers, 'application/problem+json');
      return 503;
    }
    if (fault?.kind === 'malformed') {
      sendMalformed(res, rate.headers);
      return 200;
    }

    const max = Number(q.get('max_results') ?? 10);
    const [lo, hi] = search ? [10, 100] : [5, 100];
    if (!Number.isInteger(max) || max < lo || max > hi) {
      sendJson(
        res,
        400,
        {
          errors: [
            {
              parameters: { max_results: [String(q.get('max_results'))] },
              message: `The \`max_results\` query parameter value [${q.get('max_results')}] is not between ${lo} and ${hi}`,
            },
          ],
          title: 'Invalid Request',
          detail: 'One or more parameters to your request was invalid.',
          type: 'https://api.twitter.com/2/problems/invalid-request',
        },
        rate.headers,
      );
      return 400;
    }
    if (search && !q.get('query')) {
      sendJson(
        res,
        400,
        {
          ...problem(400, 'Invalid Request', 'One or more parameters to your request was invalid.', 'https://api.twitter.com/2/problems/invalid-request'),
          errors: [{ message: 'The `query` query parameter can not be empty' }],
        },
        rate.headers,
      );
      return 400;
    }
    const key = search ? `search:${q.get('query')}` : `mentions:${mentions![1]}`;
    const since = q.get('since_id') ? BigInt(q.get('since_id')!) : null;
    const until = q.get('until_id') ? BigInt(q.get('until_id')!) : null;
    const below = pageToken ? BigInt(decodeToken(pageToken).replace(/^lt:/, '')) : null;
    // The mentions timeline serves only a user's 800 newest mentions.
    const pool = search ? searchPool(q.get('query')!) : (streams.get(key) ?? []).slice(0, MENTIONS_SERVED);
    const matching = pool.filter((t) => {
      const id = BigInt(t.id);
      return (since === null || id > since) && (until === null || id < until) && (below === null || id < below);
    });
    let page = matching.slice(0, max);
    const more = matching.length > max;
    if (fault?.kind === 'duplicate' && below !== null) {
      const prev = (streams.get(key) ?? []).find((t) => BigInt(t.id) === below);
      if (prev) page = [prev, ...page];
    }

    const fields = new Set((q.get('tweet.fields') ?? '').split(',').filter(Boolean));
    const expandAuthors = (q.get('expansions') ?? '').split(',').includes('author_id');
    const userFields = new Set((q.get('user.fields') ?? '').split(',').filter(Boolean));
    const data = page.map((t) => {
      const out: Record<string, unknown> = { id: t.id, text: t.text, edit_history_tweet_ids: t.edit_history_tweet_ids };
      for (const f of fields) if (f in t) out[f] = (t as unknown as Record<string, unknown>)[f];
      if (fault?.kind === 'missing_fields') delete out.created_at;
      return out as unknown as XTweet;
    });
    const body: XSearchResponse = { meta: { result_count: data.length } };
    if (data.length > 0) {
      body.data = data;
      body.meta.newest_id = data[0]!.id;
      body.meta.oldest_id = data[data.length - 1]!.id;
      if (expandAuthors && fault?.kind !== 'missing_fields') {
        const seen = [...new Set(page.map((t) => t.author_id!))];
        body.includes = {
          users: seen.map((id) => {
            const u = users.get(id)!;
            const out: XUser = { id: u.id, name: u.name!, username: u.username! };
            if (userFields.has('public_metrics')) out.public_metrics = u.public_metrics!;
            return out;
          }),
        };
      }
    }
    if (more && page.length > 0) body.meta.next_token = encodeToken(`lt:${page[page.length - 1]!.id}`);
    sendJson(res, 200, body, rate.headers);
    return 200;
  }

  const server = await listen((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const seen: SeenRequest = { at: Date.now(), method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, status: 0 };
    requests.push(seen);
    if (hub.handle(req, res, url, req.headers.authorization === `Bearer ${token}`)) return;
    try {
      seen.status = serve(req, res, url);
    } catch (err) {
      seen.status = 500;
      sendJson(res, 500, problem(500, 'Internal Error', (err as Error).message));
    }
  }, opts.port);

  return {
    ...server,
    close: async () => {
      hub.close();
      await server.close();
    },
    stream: hub,
    publish,
    faults,
    requests,
    tweets: (s) => [...(streams.get(keyOf(s)) ?? [])],
  };
}
