import { createHash } from 'node:crypto';
import type { Queue, Worker } from 'bullmq';
import { classify, type ClassifierInput, type Ruleset } from './classifier/index.js';
import { type Config, DEFAULT_EVENT_RETENTION, DEFAULT_REOPEN_WINDOW_MS, type SourceConfig } from './config.js';
import type { FastifyInstance } from 'fastify';
import { buildApiServer, resolveApiToken } from './api/server.js';
import { createFacebookConnector, createGraphClient } from './connectors/facebook.connector.js';
import { createSandboxConnector } from './connectors/sandbox.connector.js';
import { createTwitterConnector, createXClient } from './connectors/twitter.connector.js';
import type { Connector } from './connectors/types.js';
import { startLiveSandbox, type LiveSandbox } from './sandbox/live.js';
import type { Database } from './db/client.js';
import type { DatabaseHealth } from './db/embedded.js';
import type { Logger } from './logger.js';
import { normalizeHandle } from './util/handle.js';
import { createCaptureProcessor } from './workers/capture.worker.js';
import { createPollProcessor } from './workers/poll.worker.js';
import { startStreams, type RunningStream } from './workers/stream.worker.js';
import { startWebhookDelivery, type WebhookDelivery } from './workers/webhook-delivery.worker.js';
import { startEventPruner } from './workers/event-retention.js';
import {
  openQueue,
  openWorker,
  POLL_JOB,
  POLL_QUEUE,
  POSTS_QUEUE,
  RECONCILE_JOB,
  RECONCILE_SCHEDULER,
  type CaptureJobData,
  type PollJobData,
  type Transport,
} from './workers/queues.js';

export type Role = 'all' | 'poller' | 'worker' | 'api';

/** Where the platform connectors send their requests, and with what credentials. */
export interface PlatformEndpoints {
  twitter?: { bearerToken: string; baseUrl?: string | undefined };
  facebook?: { pageToken: string; appSecret?: string | undefined; baseUrl?: string | undefined };
  /** Request timeout. @defaultValue 15000 */
  timeoutMs?: number;
}

/**
 * The connector for a configured source: kind `sandbox` yields the built-in synthetic stream
 * directly; `search` and `mentions` use the X connector, `page` the Facebook connector, aimed at
 * the real platforms or at the simulators (`endpoints`).
 */
export function connectorFor(source: SourceConfig, endpoints: PlatformEndpoints = {}, log?: Logger): Connector {
  if (source.kind === 'search' || source.kind === 'mentions') {
    if (!endpoints.twitter) throw new Error(`source ${source.id}: no X endpoint (TWITTER_BEARER_TOKEN or the simulator)`);
    const client = createXClient({ ...endpoints.twitter, ...(endpoints.timeoutMs ? { timeoutMs: endpoints.timeoutMs } : {}) });
    return createTwitterConnector({
      sourceId: source.id,
      target: source.kind === 'search' ? { kind: 'search', query: source.query } : { kind: 'mentions', userId: source.user_id },
      client,
      ...windows(source),
      ...(log ? { log } : {}),
    });
  }
  if (source.kind === 'stream') throw new Error(`source ${source.id} is a stream: it holds a connection (startStreamSource), it is not polled`);
  if (source.kind === 'page') {
    if (!endpoints.facebook) throw new Error(`source ${source.id}: no Graph endpoint (FACEBOOK_PAGE_TOKEN or the simulator)`);
    const client = createGraphClient({ ...endpoints.facebook, ...(endpoints.timeoutMs ? { timeoutMs: endpoints.timeoutMs } : {}) });
    return createFacebookConnector({
      sourceId: source.id,
      pageId: source.page_id,
      client,
      ...windows(source),
      ...(source.conversation_window !== undefined ? { conversationWindowMs: source.conversation_window } : {}),
      ...(log ? { log } : {}),
    });
  }
  return createSandboxConnector({
    sourceId: source.id,
    platform: source.platform,
    idBase: sandboxIdBase(source.id),
    seed: source.seed,
    postsPerPoll: source.posts_per_poll,
    ...(source.total !== undefined ? { total: source.total } : {}),
    now: () => new Date(),
  });
}

/** A source's `overlap` and `backfill`, as connector options; unset ones keep the connector's defaults. */
function windows(source: SourceConfig): { overlapMs?: number; backfillMs?: number } {
  return {
    ...(source.overlap !== undefined ? { overlapMs: source.overlap } : {}),
    ...(source.backfill !== undefined ? { backfillMs: source.backfill } : {}),
  };
}

/** Each sandbox source gets its own id range, so two sources never emit different posts under one id. */
function sandboxIdBase(sourceId: string): string {
  const slot = BigInt(createHash('sha256').update(sourceId).digest().readUInt32BE(0) % 100_000);
  return (1_790_000_000_000_000_000n + slot * 10_000_000_000n).toString();
}

export interface ServiceDeps {
  config: Config;
  database: Database;
  transport: Transport;
  ruleset: Ruleset;
  log: Logger;
  role: Role;
  /** Override the connectors built from config (tests aim them at simulators). */
  connectors?: ReadonlyMap<string, Connector>;
  /** Override where the X and Facebook connectors built from config send requests (tests). */
  endpoints?: PlatformEndpoints;
  /** The database server's health, for `/readyz` (see DatabaseHandle). */
  databaseHealth?: () => DatabaseHealth;
}

export interface Service {
  postsQueue: Queue<CaptureJobData>;
  pollQueue: Queue<PollJobData>;
  workers: Worker[];
  /** The api role's HTTP server, listening on `config.port`. */
  api?: { app: FastifyInstance; url: string /** The bearer token of `/api`. */; token: string };
  /** Swap the ruleset the capture worker decides with; takes effect on the next job. */
  setRuleset(r: Ruleset): void;
  /** Drain in-flight jobs, then close queues. Idempotent. */
  close(): Promise<void>;
}

/** Wire the roles of one process: the poller (schedulers + poll worker + reconciler) and/or the capture worker. */
export async function startService(deps: ServiceDeps): Promise<Service> {
  const { config, database, transport, log } = deps;
  let ruleset = deps.ruleset;
  const postsQueue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
  const pollQueue = openQueue<PollJobData>(transport, POLL_QUEUE);
  for (const q of [postsQueue, pollQueue] as Queue[]) {
    // Without a listener BullMQ prints the error with its whole client object to stderr.
    q.on('error', (err) => log.warn({ queue: q.name, err }, 'queue connection error'));
  }
  await Promise.all([postsQueue.waitUntilReady(), pollQueue.waitUntilReady()]);
  const workers: Worker[] = [];
  let watchdog: NodeJS.Timeout | undefined;
  let sandbox: LiveSandbox | undefined;
  let api: Service['api'];
  let webhooks: WebhookDelivery | undefined;
  let pruner: { close(): Promise<void> } | undefined;
  let streams: RunningStream[] = [];

  if (deps.role === 'all' || deps.role === 'worker') {
    // The `addressed` features look for the brand's own handles (config own_accounts).
    const brandHandles = new Set(config.ownAccounts.twitter.map(normalizeHandle));
    const decide = (input: ClassifierInput) => classify({ ...input, brandHandles }, ruleset);
    const processor = createCaptureProcessor({
      sql: database.sql,
      log: log.child({ component: 'capture' }),
      decide,
      options: {
        caseWindowMs: config.capture.caseWindowMs,
        slaMs: config.capture.slaMs,
        reopenWindowMs: config.capture.reopenWindowMs ?? DEFAULT_REOPEN_WINDOW_MS,
        ownAccounts: config.ownAccounts,
        captureRetweetSources: new Set(config.sources.filter((s) => s.retweets === 'capture').map((s) => s.id)),
      },
      batching: {
        maxBatch: config.capture.batchSize,
        // a batch committing and the next one filling per lane
        maxInFlight: Math.max(1, Math.floor(config.capture.concurrency / (2 * config.capture.batchSize))),
      },
    });
    const worker = openWorker<CaptureJobData, unknown>(transport, POSTS_QUEUE, processor, {
      concurrency: config.capture.concurrency,
      // A capture job takes well under a second: a worker that died is noticed in ~15 s rather
      // than BullMQ's default 30 s, and its posts go to another worker.
      lockDuration: 15_000,
      stalledInterval: 15_000,
    });
    worker.on('error', (err) => log.error({ err }, 'capture worker error'));
    workers.push(worker as Worker);
    webhooks = startWebhookDelivery({
      sql: database.sql,
      transport,
      log: log.child({ component: 'webhooks' }),
      settings: config.webhooks,
      // a batch's worth of posts not yet decided: a burst, which goes first
      captureBusy: () => processor.backlog() >= config.capture.batchSize,
    });
    pruner = startEventPruner({ sql: database.sql, log: log.child({ component: 'events' }), retention: config.events ?? DEFAULT_EVENT_RETENTION });
  }

  if (deps.role === 'all' || deps.role === 'poller') {
    // A stream source holds a connection instead of being polled.
    const enabled = config.sources.filter((s) => s.enabled && s.kind !== 'stream');
    const streamed = config.sources.filter((s) => s.enabled && s.kind === 'stream');
    let connectors = deps.connectors;
    let endpoints = deps.endpoints;
    if (!connectors || (streamed.length > 0 && !endpoints)) endpoints ??= await platformEndpoints(config, [...enabled, ...streamed], log, (s) => (sandbox = s));
    streams = startStreams(streamed, endpoints ?? {}, {
      sql: database.sql,
      postsQueue,
      log: log.child({ component: 'stream' }),
      attempts: config.capture.attempts,
      ...(config.cost ? { prices: config.cost } : {}),
    });
    if (!connectors) {
      const connectorLog = log.child({ component: 'connector' });
      connectors = new Map(enabled.map((s) => [s.id, connectorFor(s, endpoints, connectorLog)]));
    }
    const pollWorker = openWorker<PollJobData, unknown>(
      transport,
      POLL_QUEUE,
      createPollProcessor({
        sql: database.sql,
        log: log.child({ component: 'poller' }),
        postsQueue,
        connectors,
        attempts: config.capture.attempts,
        reconcileGraceMs: config.capture.reconcileGraceMs,
        everyMs: new Map(enabled.map((s) => [s.id, s.every])),
        cost: { sources: enabled, ...(config.cost ? { prices: config.cost } : {}) },
      }),
      // Two sources poll at once per process: a slow platform delays the others little.
      { concurrency: 2 },
    );
    pollWorker.on('error', (err) => log.error({ err }, 'poll worker error'));
    workers.push(pollWorker as Worker);
    // Job schedulers make polling single-leader across processes without a lock of our own.
    const schedules = new Map<string, { every: number; name: string; data: PollJobData }>([
      ...enabled.map((s) => [`source-${s.id}`, { every: s.every, name: POLL_JOB, data: { sourceId: s.id } }] as const),
      [RECONCILE_SCHEDULER, { every: config.capture.reconcileEveryMs, name: RECONCILE_JOB, data: { sourceId: '' } }],
    ]);
    const upsert = (key: string) => {
      const s = schedules.get(key)!;
      return pollQueue.upsertJobScheduler(key, { every: s.every }, { name: s.name, data: s.data, opts: { removeOnComplete: 100, removeOnFail: 100 } });
    };
    for (const key of schedules.keys()) await upsert(key);
    for (const sch of await pollQueue.getJobSchedulers()) {
      if (sch.key && !schedules.has(sch.key)) await pollQueue.removeJobScheduler(sch.key);
    }
    // A flushed or restarted Redis loses the schedulers with the jobs: polling would stop silently.
    // Every poller checks for them and puts back the missing ones.
    watchdog = setInterval(
      () => {
        void (async () => {
          const present = new Set((await pollQueue.getJobSchedulers()).map((s) => s.key));
          const missing = [...schedules.keys()].filter((k) => !present.has(k));
          for (const key of missing) await upsert(key);
          if (missing.length > 0) log.warn({ schedulers: missing }, 'job schedulers were missing (queue store flushed?); re-created');
        })().catch((err: unknown) => log.warn({ err }, 'scheduler check failed'));
      },
      Math.min(config.capture.reconcileEveryMs, 30_000),
    );
    watchdog.unref();
    log.info({ sources: enabled.map((s) => s.id) }, 'polling scheduled');
  }

  if (deps.role === 'all' || deps.role === 'api') {
    const apiLog = log.child({ component: 'api' });
    const token = resolveApiToken(config, apiLog);
    const app = buildApiServer({
      sql: database.sql,
      postsQueue,
      pollQueue,
      config,
      log: apiLog,
      apiToken: token,
      ...(deps.databaseHealth ? { databaseHealth: deps.databaseHealth } : {}),
    });
    try {
      const url = await app.listen({ port: config.port, host: '0.0.0.0' });
      api = { app, url, token };
      log.info({ url, port: config.port }, 'api listening');
    } catch (err) {
      await Promise.all([...workers.map((w) => w.close()), webhooks?.close(), pruner?.close()]);
      await Promise.all([postsQueue.close(), pollQueue.close(), sandbox?.close()]);
      throw new Error(`cannot listen on port ${config.port} (PORT): ${(err as Error).message}`);
    }
  }

  let closing: Promise<void> | null = null;
  return {
    postsQueue,
    pollQueue,
    workers,
    ...(api ? { api } : {}),
    setRuleset(r) {
      ruleset = r;
    },
    close() {
      closing ??= (async () => {
        clearInterval(watchdog);
        await Promise.all(streams.map((s) => s.close()));
        await api?.app.close();
        await Promise.all([...workers.map((w) => w.close()), webhooks?.close(), pruner?.close()]);
        await Promise.all([postsQueue.close(), pollQueue.close()]);
        await sandbox?.close();
      })();
      return closing;
    },
  };
}

/**
 * Real platforms where a token is set (TWITTER_BEARER_TOKEN, FACEBOOK_PAGE_TOKEN, with the base
 * URLs from the environment); otherwise the in-process simulators, fed a live sandbox stream, so
 * the real connector code runs either way.
 */
async function platformEndpoints(config: Config, sources: readonly SourceConfig[], log: Logger, started: (s: LiveSandbox) => void): Promise<PlatformEndpoints> {
  const secrets = config.secrets ?? {};
  const simulated = sources.filter(
    (s) =>
      ((s.kind === 'search' || s.kind === 'mentions' || s.kind === 'stream') && !secrets.twitterBearerToken) ||
      (s.kind === 'page' && !secrets.facebookPageToken),
  );
  const sandbox = simulated.length > 0 ? await startLiveSandbox({ sources: simulated, log: log.child({ component: 'sandbox' }) }) : undefined;
  if (sandbox) started(sandbox);
  const endpoints: PlatformEndpoints = {};
  if (secrets.twitterBearerToken) endpoints.twitter = { bearerToken: secrets.twitterBearerToken, baseUrl: config.twitterApiBaseUrl };
  else if (sandbox?.twitter) endpoints.twitter = { bearerToken: sandbox.twitter.bearerToken, baseUrl: sandbox.twitter.sim.url };
  if (secrets.facebookPageToken) {
    endpoints.facebook = { pageToken: secrets.facebookPageToken, appSecret: secrets.facebookAppSecret, baseUrl: config.facebookGraphBaseUrl };
  } else if (sandbox?.facebook) endpoints.facebook = { pageToken: sandbox.facebook.pageToken, baseUrl: sandbox.facebook.sim.url };
  return endpoints;
}
