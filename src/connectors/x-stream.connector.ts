import type { TwitterApi } from 'twitter-api-v2';
import type { Logger } from '../logger.js';
import type { SocialPost } from '../types.js';
import { mapXPage, xError } from './twitter.connector.js';

/**
 * X filtered stream: the rules from config synced to the app (dry run first, then add what is
 * missing and delete what is gone), and one long-lived connection to `GET /2/tweets/search/stream`
 * read line by line, with keep-alive detection. Which error waits how long is X's documented
 * reconnect policy (https://docs.x.com/x-api/fundamentals/handling-disconnections).
 */

/** A rule as config states it. */
export interface StreamRuleSpec {
  value: string;
  tag?: string | undefined;
}

/**
 * Make the app's stream rules equal the configured ones. New rules are validated with a dry run
 * before anything changes, so an invalid rule leaves the old set in place.
 * https://docs.x.com/x-api/posts/filtered-stream/introduction (POST /2/tweets/search/stream/rules)
 */
export async function syncStreamRules(client: TwitterApi, wanted: readonly StreamRuleSpec[]): Promise<{ added: number; deleted: number }> {
  try {
    const current = (await client.v2.streamRules()).data ?? [];
    const key = (r: StreamRuleSpec) => `${r.value}\u0000${r.tag ?? ''}`;
    const want = new Set(wanted.map(key));
    const have = new Set(current.map((r) => key(r)));
    const add = wanted.filter((r) => !have.has(key(r))).map((r) => ({ value: r.value, ...(r.tag ? { tag: r.tag } : {}) }));
    const gone = current.filter((r) => !want.has(key(r))).map((r) => r.id);
    if (gone.length > 0) await client.v2.updateStreamRules({ delete: { ids: gone } });
    if (add.length > 0) {
      const dry = await client.v2.updateStreamRules({ add }, { dry_run: true });
      const refused = dry.meta.summary.not_created;
      if (refused > 0) throw new Error(`X refused ${refused} stream rule(s) in a dry run: ${JSON.stringify(dry.errors ?? [])}`);
      await client.v2.updateStreamRules({ add });
    }
    return { added: add.length, deleted: gone.length };
  } catch (err) {
    throw err instanceof Error && !('code' in err) ? err : xError(err);
  }
}

/** Why a stream connection ended, as X's reconnect policy classes it. */
export type DisconnectClass = 'network' | 'http' | 'rate_limited' | 'auth';

/** A stream connection that ended, and how. */
export class StreamDisconnect extends Error {
  override readonly name = 'StreamDisconnect';
  constructor(
    readonly kind: DisconnectClass,
    message: string,
    /** Posts or keep-alives came before it ended: reconnect at once. */
    readonly hadData = false,
  ) {
    super(message);
  }
}

/** Start values of X's back-off per error class; tests shrink them. */
export interface StreamBackoff {
  /** Network errors, stalls: linear steps. @defaultValue 250 (up to 16 s) */
  networkStepMs: number;
  /** HTTP errors: exponential from here. @defaultValue 5000 (up to 320 s) */
  httpStartMs: number;
  /** 429: exponential from here. @defaultValue 60000 */
  rateLimitStartMs: number;
}

export const X_STREAM_BACKOFF: StreamBackoff = Object.freeze({ networkStepMs: 250, httpStartMs: 5_000, rateLimitStartMs: 60_000 });

/**
 * Wait before reconnect `attempt` (0-based, failures in a row) after a `kind` failure: network
 * errors back off linearly by 250 ms up to 16 s, HTTP errors exponentially from 5 s up to 320 s,
 * 429s exponentially from a minute. An auth error waits as an HTTP error: a person must act.
 */
export function reconnectDelay(kind: DisconnectClass, attempt: number, b: StreamBackoff = X_STREAM_BACKOFF): number {
  if (kind === 'network') return Math.min(16_000, b.networkStepMs * (attempt + 1));
  if (kind === 'rate_limited') return b.rateLimitStartMs * 2 ** Math.min(attempt, 10);
  return Math.min(320_000, b.httpStartMs * 2 ** Math.min(attempt, 10));
}

/** What a stream connection yields. */
export type StreamEvent =
  | { type: 'connected' }
  | { type: 'posts'; posts: SocialPost[]; ids: string[] }
  /** A line that is not a post: something was lost; the caller backfills. */
  | { type: 'malformed'; reason: string };

export interface OpenStreamOptions {
  /** Origin standing in for https://api.x.com. */
  baseUrl: string;
  bearerToken: string;
  /** Reconnect when this long passes without a byte. @defaultValue 30000 */
  heartbeatTimeoutMs?: number;
  signal?: AbortSignal;
  log?: Logger;
}

const STREAM_QUERY =
  'tweet.fields=created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,lang&expansions=author_id&user.fields=username,name,public_metrics';

/** One stream line → posts. Pure. */
export function mapStreamLine(line: string): StreamEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { type: 'malformed', reason: 'not JSON' };
  }
  const o = raw as { data?: { id?: unknown }; includes?: unknown; errors?: unknown };
  if (!o || typeof o !== 'object' || !o.data || typeof o.data.id !== 'string') return { type: 'malformed', reason: 'no data.id' };
  const page = mapXPage({ data: [o.data], includes: o.includes, meta: { result_count: 1 } });
  return { type: 'posts', posts: page.posts, ids: [o.data.id] };
}

/**
 * One connection to the filtered stream. Yields `connected`, then posts; a keep-alive resets the
 * clock; `heartbeatTimeoutMs` without a byte ends it as a network disconnect. Always ends by
 * throwing a {@link StreamDisconnect} (or the abort reason when `signal` fires).
 */
export async function* openXStream(opts: OpenStreamOptions): AsyncGenerator<StreamEvent> {
  const timeoutMs = opts.heartbeatTimeoutMs ?? 30_000;
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  opts.signal?.addEventListener('abort', onAbort);
  let hadData = false;
  try {
    let res: Response;
    // The signal also governs the body: a connect timeout must be a timer cleared once headers arrive.
    const connectTimer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      res = await fetch(`${opts.baseUrl.replace(/\/+$/, '')}/2/tweets/search/stream?${STREAM_QUERY}`, {
        headers: { authorization: `Bearer ${opts.bearerToken}` },
        signal: abort.signal,
      });
    } catch (err) {
      opts.signal?.throwIfAborted();
      throw new StreamDisconnect('network', `stream connect failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(connectTimer);
    }
    if (res.status !== 200 || !res.body) {
      const detail = (await res.text().catch(() => '')).slice(0, 200);
      const kind: DisconnectClass = res.status === 429 ? 'rate_limited' : res.status === 401 || res.status === 403 ? 'auth' : 'http';
      throw new StreamDisconnect(kind, `stream connect answered ${res.status}: ${detail}`);
    }
    yield { type: 'connected' };
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), timeoutMs)));
      const chunk = await Promise.race([reader.read(), stalled]).finally(() => clearTimeout(timer));
      if (chunk === 'stalled') {
        abort.abort();
        throw new StreamDisconnect('network', `no data or keep-alive for ${timeoutMs} ms`, hadData);
      }
      if (chunk.done) throw new StreamDisconnect('network', 'stream closed by the server', hadData);
      hadData = true;
      buffer += chunk.value;
      const lines = buffer.split('\r\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line.trim() === '') continue; // keep-alive
        const ev = mapStreamLine(line);
        if (ev.type === 'malformed') opts.log?.warn({ reason: ev.reason, line: line.slice(0, 200) }, 'X stream line skipped: malformed');
        yield ev;
      }
    }
  } catch (err) {
    opts.signal?.throwIfAborted();
    if (err instanceof StreamDisconnect) throw err;
    throw new StreamDisconnect('network', `stream read failed: ${(err as Error).message}`, hadData);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    abort.abort();
  }
}

/**
 * The stream's rules as recent-search queries for the backfill: `(a) OR (b) …`, each at most 512
 * characters (recent search's query limit), so a reconnect costs few requests.
 */
export function backfillQueries(rules: readonly StreamRuleSpec[], maxLength = 512): string[] {
  const out: string[] = [];
  let current = '';
  for (const r of rules) {
    const part = `(${r.value})`;
    if (current && current.length + 4 + part.length > maxLength) {
      out.push(current);
      current = '';
    }
    current = current ? `${current} OR ${part}` : part;
  }
  if (current) out.push(current);
  return out;
}
