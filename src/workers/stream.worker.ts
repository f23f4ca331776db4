import type { Queue } from 'bullmq';
import type { TwitterApi } from 'twitter-api-v2';
import { DEFAULT_COST, type CostConfig, type SourceConfig } from '../config.js';
import { maxId } from '../connectors/snowflake.js';
import { createTwitterConnector, createXClient } from '../connectors/twitter.connector.js';
import {
  backfillQueries,
  openXStream,
  reconnectDelay,
  StreamDisconnect,
  syncStreamRules,
  X_STREAM_BACKOFF,
  type StreamBackoff,
} from '../connectors/x-stream.connector.js';
import type { Sql } from '../db/client.js';
import { recordPollSuccess, recordSourceError } from '../db/inbox.repo.js';
import { markBudgetExhausted, monthUse, recordUsage } from '../db/usage.repo.js';
import type { SocialPost } from '../types.js';
import type { Logger } from '../logger.js';
import { billingMonth, budgetVerdict, pricePerPost, utcDay } from '../capture/budget.js';
import { ingestPosts } from './ingest.js';
import type { CaptureJobData } from './queues.js';

type StreamSource = Extract<SourceConfig, { kind: 'stream' }>;

/** What a running stream source needs. */
export interface StreamSourceDeps {
  sql: Sql;
  postsQueue: Queue<CaptureJobData>;
  log: Logger;
  source: StreamSource;
  /** For the rules and the recent-search backfill. */
  client: TwitterApi;
  /** Origin of the stream endpoint and the token (the client's). */
  baseUrl: string;
  bearerToken: string;
  attempts: number;
  prices?: CostConfig;
  /** @defaultValue X_STREAM_BACKOFF */
  backoff?: StreamBackoff;
  /** While paused on budget, how often it looks whether a new month began. @defaultValue 60000 */
  budgetCheckMs?: number;
  /** Clock of the cost counters and billing months (not of the platform's ids). @defaultValue Date.now */
  now?: () => number;
}

export interface RunningStream {
  /** Connections opened so far. */
  readonly connects: number;
  close(): Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Run a `kind: stream` source until closed: sync its rules, hold one connection, and store each
 * post it delivers through the same path as polling (store a page with the cursor, then enqueue).
 * Before reading a fresh connection it backfills with recent search from the last id stored (minus
 * the overlap), and again after a malformed line, so a disconnect or a lost line loses nothing.
 */
export function startStreamSource(deps: StreamSourceDeps): RunningStream {
  const { sql, source, log } = deps;
  const now = deps.now ?? Date.now;
  const prices = deps.prices ?? DEFAULT_COST;
  const price = pricePerPost(source, prices);
  const stop = new AbortController();
  let connects = 0;

  async function count(requests: number, ids: readonly string[]): Promise<void> {
    await recordUsage(sql, { sourceId: source.id, platform: 'twitter', day: utcDay(now()), read: { requests, ids }, priceUsd: price });
  }

  async function store(posts: readonly SocialPost[], cursor: string | null): Promise<void> {
    await ingestPosts(sql, deps.postsQueue, source.id, posts, cursor, deps.attempts);
  }

  /** Recent search from the stored cursor (or the backfill depth) over every rule; the cursor moves only at the end. Returns it. */
  async function backfill(): Promise<string | null> {
    const [row] = await sql<{ cursor: string | null }[]>`select cursor from source_cursors where source_id = ${source.id}`;
    const from = row?.cursor ?? null;
    let newest = from;
    for (const query of backfillQueries(source.rules)) {
      const connector = createTwitterConnector({
        sourceId: source.id,
        target: { kind: 'search', query },
        client: deps.client,
        log,
        ...(source.overlap !== undefined ? { overlapMs: source.overlap } : {}),
        ...(source.backfill !== undefined ? { backfillMs: source.backfill } : {}),
      });
      for await (const page of connector.fetchPages(from, stop.signal)) {
        await store(page.posts, null);
        if (page.read) await count(page.read.requests, page.read.ids);
        for (const p of page.posts) newest = maxId(newest, p.id);
        if (page.nextCursor) newest = maxId(newest, page.nextCursor);
      }
    }
    if (newest !== from) await store([], newest);
    return newest;
  }

  /** Budget check; true when the source must pause (and it is marked so). */
  async function overBudget(): Promise<{ until: string } | null> {
    const month = billingMonth(now());
    const verdict = budgetVerdict(source, prices, await monthUse(sql, source.id, 'twitter', month.start));
    if (verdict.status !== 'budget exhausted') return null;
    await markBudgetExhausted(sql, source.id, `${verdict.reason}; paused until ${month.next}`);
    return { until: month.next };
  }

  /** One connection: backfill once it is up, then store what it delivers. Returns when the budget runs out; otherwise ends by throwing. */
  async function connection(): Promise<void> {
    let cursor: string | null = null;
    for await (const ev of openXStream({
      baseUrl: deps.baseUrl,
      bearerToken: deps.bearerToken,
      heartbeatTimeoutMs: source.heartbeat_timeout ?? 30_000,
      signal: stop.signal,
      log,
    })) {
      if (ev.type === 'connected') {
        connects += 1;
        cursor = await backfill();
        await recordPollSuccess(sql, source.id, null);
        log.info({ connects }, 'X stream connected');
      } else if (ev.type === 'malformed') {
        // The line was a post we could not read: fetch it by search, and never move the cursor back after it.
        cursor = maxId(cursor, await backfill());
      } else {
        for (const id of ev.ids) cursor = maxId(cursor, id);
        await store(ev.posts, cursor);
        await count(0, ev.ids);
        if (await overBudget()) return; // leaving the loop closes the connection
      }
    }
    throw new StreamDisconnect('network', 'stream ended');
  }

  async function run(): Promise<void> {
    let failures = 0;
    let synced = false;
    while (!stop.signal.aborted) {
      try {
        const paused = await overBudget();
        if (paused) {
          log.warn({ until: paused.until }, 'X stream paused: budget exhausted');
          await sleep(deps.budgetCheckMs ?? 60_000, stop.signal);
          continue;
        }
        if (!synced) {
          const r = await syncStreamRules(deps.client, source.rules);
          log.info(r, 'X stream rules synced');
          synced = true;
        }
        await connection();
      } catch (err) {
        if (stop.signal.aborted) break;
        const d = err instanceof StreamDisconnect ? err : new StreamDisconnect('http', (err as Error).message);
        failures = d.hadData ? 0 : failures + 1;
        // X: reconnect at once after a connection that worked; back off per error class after failed attempts.
        const wait = failures === 0 ? 0 : reconnectDelay(d.kind, failures - 1, deps.backoff ?? X_STREAM_BACKOFF);
        log.warn({ err: d, kind: d.kind, retryInMs: wait }, 'X stream disconnected; reconnecting');
        await recordSourceError(sql, source.id, d.message, d.kind !== 'auth').catch(() => {});
        if (wait > 0) await sleep(wait, stop.signal);
      }
    }
  }

  const done = run().catch((err: unknown) => log.error({ err }, 'X stream stopped'));
  return {
    get connects() {
      return connects;
    },
    async close() {
      stop.abort();
      await done;
    },
  };
}

/** Start every stream source against the X endpoint in `endpoints`; none when there are none. */
export function startStreams(
  sources: readonly SourceConfig[],
  endpoints: { twitter?: { bearerToken: string; baseUrl?: string | undefined } },
  deps: Pick<StreamSourceDeps, 'sql' | 'postsQueue' | 'log' | 'attempts' | 'prices'>,
): RunningStream[] {
  return sources.flatMap((source) => {
    if (source.kind !== 'stream') return [];
    if (!endpoints.twitter) throw new Error(`source ${source.id}: no X endpoint (TWITTER_BEARER_TOKEN or the simulator)`);
    const { bearerToken, baseUrl } = endpoints.twitter;
    return [
      startStreamSource({
        ...deps,
        log: deps.log.child({ sourceId: source.id }),
        source,
        client: createXClient({ bearerToken, baseUrl }),
        baseUrl: baseUrl ?? 'https://api.x.com',
        bearerToken,
      }),
    ];
  });
}
