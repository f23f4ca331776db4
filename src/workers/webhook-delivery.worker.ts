import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Job, Queue, Worker } from 'bullmq';
import type { Sql } from '../db/client.js';
import {
  analyzeDeliveries,
  claimDeliveries,
  dueEndpoints,
  enabledEndpointIds,
  fanOut,
  finishDeliveries,
  type AttemptResult,
  type ClaimedDelivery,
} from '../db/webhooks.repo.js';
import type { Logger } from '../logger.js';
import { openQueue, openWorker, type Transport } from './queues.js';

/**
 * Queue of drain nudges: one job per endpoint (`whd-<endpointId>-<0|1>`) that sends a batch of its
 * due deliveries; Postgres holds the deliveries, so a lost job only delays them.
 */
export const WEBHOOKS_QUEUE = 'webhooks';
export const DRAIN_JOB = 'drain-webhooks';

export interface DrainJobData {
  endpointId: number;
}

/** Deliveries a drain claims at once: enough to keep the requests in flight busy, few enough to write in one transaction. */
export const DRAIN_BATCH = 128;

/** How webhooks are delivered; `webhooks:` in the config file. */
export interface WebhookSettings {
  /** How often the relay fans new events out to the endpoints and nudges the drains of those with deliveries due. @defaultValue 1000 */
  relayEveryMs: number;
  /** A request with no answer by then counts as a timeout (retried). @defaultValue 10000 */
  timeoutMs: number;
  /** First retry delay; each retry doubles it, jittered. @defaultValue 5000 */
  backoffBaseMs: number;
  /** Longest delay between two tries. @defaultValue 3600000 */
  backoffMaxMs: number;
  /** Retried this long after the first try, then dead-lettered. @defaultValue 1 day */
  retryForMs: number;
  /** An endpoint failing this long is disabled. @defaultValue 1 day */
  disableAfterMs: number;
  /** Requests in flight per process, over every endpoint's drains. @defaultValue 8 */
  concurrency: number;
  /**
   * While the capture worker in this process has a backlog (a burst of posts), drains step aside for up to
   * this long, so the posts are decided first and the events follow; after that long they send even if the
   * backlog holds, until it clears. 0: never step aside. @defaultValue 30000
   */
  yieldForMs: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  relayEveryMs: 1000,
  timeoutMs: 10_000,
  backoffBaseMs: 5000,
  backoffMaxMs: 3_600_000,
  retryForMs: 86_400_000,
  disableAfterMs: 86_400_000,
  concurrency: 8,
  yieldForMs: 30_000,
};

/**
 * Webhook delivery giving way to capture in the same process: {@link CaptureYield.defer} says whether a
 * drain should step aside (return at once, unsent; the relay nudges it again within `relay_every`). It
 * does while capture has a backlog, for at most `maxMs` from when the backlog began; from then on not
 * again until the backlog has cleared once, so a lasting overload delays events by `maxMs` at most and
 * never starves them. A drain steps aside rather than waiting inside its job, so it holds no worker slot
 * and no job lock while capture works.
 */
export interface CaptureYield {
  defer(): boolean;
}

export function createCaptureYield(busy: (() => boolean) | undefined, maxMs: number): CaptureYield {
  let since: number | null = null;
  let spent = false;
  return {
    defer() {
      if (!busy || maxMs <= 0) return false;
      if (!busy()) {
        since = null;
        spent = false;
        return false;
      }
      if (spent) return false;
      since ??= Date.now();
      if (Date.now() - since < maxMs) return true;
      spent = true;
      return false;
    },
  };
}

/** `Retry-After` as seconds or an HTTP date → milliseconds from `now`; null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (header === null || header.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** What an answer means: 2xx delivered; no answer, 408, 429 or 5xx retried; any other status fails at once. */
export function outcomeOf(statusCode: number | null): AttemptResult['outcome'] {
  if (statusCode !== null && statusCode >= 200 && statusCode < 300) return 'delivered';
  if (statusCode === null || statusCode === 408 || statusCode === 429 || statusCode >= 500) return 'retry';
  return 'failed';
}

/**
 * Delay before try `attempt + 1`: the receiver's Retry-After when it gave one, else base × 2^(attempt−1)
 * up to the maximum, jittered to between half and all of it so that many failed deliveries do not
 * come back at once.
 */
export function retryDelay(
  attempt: number,
  s: Pick<WebhookSettings, 'backoffBaseMs' | 'backoffMaxMs'>,
  retryAfterMs: number | null,
  random = Math.random,
): number {
  if (retryAfterMs !== null) return retryAfterMs;
  const full = Math.min(s.backoffMaxMs, s.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

/** The Standard Webhooks signature `v1,<base64>`: HMAC-SHA256 of `id.timestamp.body` under the secret's key. */
export function sign(secret: string, msgId: string, timestampSec: number, body: string): string {
  // node:crypto, not the standardwebhooks package's pure-JS HMAC and base64: same bytes, a fraction of the CPU
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${msgId}.${timestampSec}.${body}`).digest('base64')}`;
}

/** The Standard Webhooks headers of one attempt of a delivery whose body Postgres built. */
export function signedHeaders(d: Pick<ClaimedDelivery, 'eventId' | 'secret' | 'body'>, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(d.body)),
    'user-agent': 'social-capture-webhooks/1',
    'webhook-id': d.eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(d.secret, d.eventId, timestamp, d.body),
  };
}

/** A bound on how many requests are in flight at once, shared by every drain of a process. */
export interface Limiter {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/** A FIFO limiter: at most `max` calls running; the others wait their turn. */
export function createLimiter(max: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    async run(fn) {
      if (active < max) active += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await fn();
      } finally {
        // the slot passes straight to the next waiter, so `active` stays as it is
        const next = waiting.shift();
        if (next) next();
        else active -= 1;
      }
    },
  };
}

/** Keep-alive connections to the receivers: a batch to one endpoint reuses a few sockets instead of a new one per event. */
export interface Agents {
  http: HttpAgent;
  https: HttpsAgent;
  destroy(): void;
}

export function createAgents(maxSockets: number): Agents {
  const http = new HttpAgent({ keepAlive: true, maxSockets, timeout: 60_000 });
  const https = new HttpsAgent({ keepAlive: true, maxSockets, timeout: 60_000 });
  return { http, https, destroy: () => (http.destroy(), https.destroy()) };
}

class RequestTimeout extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * POST the body; resolves with the status and Retry-After once the answer is read. A request on a
 * kept-alive socket that the receiver closed meanwhile is sent once more on a fresh one: that is
 * the socket's fault, not the receiver's answer.
 */
function post(url: URL, body: string, headers: Record<string, string>, timeoutMs: number, agents: Agents, fresh = false) {
  return new Promise<{ status: number; retryAfter: string | null }>((resolve, reject) => {
    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(url, { method: 'POST', headers, agent: https ? agents.https : agents.http });
    let settled = false;
    const settle = (err: Error | null, res?: IncomingMessage) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve({ status: res!.statusCode ?? 0, retryAfter: (res!.headers['retry-after'] as string | undefined) ?? null });
    };
    const timer = setTimeout(() => {
      settle(new RequestTimeout(`timed out after ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    req.on('response', (res) => {
      res.on('error', (err) => settle(err));
      res.on('end', () => settle(null, res));
      // after 'end' this is a no-op; before it, the receiver hung up mid-answer
      res.on('close', () => settle(Object.assign(new Error('connection closed before the answer ended'), { code: 'ECONNRESET' })));
      res.resume();
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!settled && !fresh && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        settled = true;
        clearTimeout(timer);
        resolve(post(url, body, headers, timeoutMs, agents, true));
      } else settle(err);
    });
    req.end(body);
  });
}

/** One HTTP attempt; never throws: a timeout or a refused connection is an attempt with no status. */
export async function attempt(d: ClaimedDelivery, s: WebhookSettings, agents: Agents, url = new URL(d.url)): Promise<AttemptResult> {
  const started = performance.now();
  try {
    const res = await post(url, d.body, signedHeaders(d, new Date()), s.timeoutMs, agents);
    const outcome = outcomeOf(res.status);
    const latencyMs = performance.now() - started;
    const error = outcome === 'delivered' ? null : `HTTP ${res.status}`;
    if (outcome !== 'retry') return { statusCode: res.status, latencyMs, error, outcome };
    const retryAfter = res.status === 429 || res.status === 503 ? parseRetryAfter(res.retryAfter, Date.now()) : null;
    return { statusCode: res.status, latencyMs, error, outcome, retryInMs: retryDelay(d.attempts, s, retryAfter) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const error = err instanceof RequestTimeout ? err.message : (e.code ?? e.message ?? String(err));
    return { statusCode: null, latencyMs: performance.now() - started, error, outcome: 'retry', retryInMs: retryDelay(d.attempts, s, null) };
  }
}

/** Nudge a drain of each endpoint; a drain of that parity already queued or running is not doubled. */
export async function nudge(queue: Queue<DrainJobData>, endpointIds: readonly number[], parity: 0 | 1 = 0): Promise<void> {
  if (endpointIds.length === 0) return;
  await queue.addBulk(
    endpointIds.map((endpointId) => ({
      name: DRAIN_JOB,
      data: { endpointId },
      // Done drains go at once so the id can nudge again; a failed drain is retried by the relay, not BullMQ.
      opts: { jobId: `whd-${endpointId}-${parity}`, removeOnComplete: true, removeOnFail: true, attempts: 1 },
    })),
  );
}

/**
 * How long a drain holds its claim. Nothing is sent once less than a timeout (and a second to
 * record it) is left, so a request never outlives the lease and a second drain never sends the
 * same delivery alongside; what is left is released for the next drain.
 */
export function leaseMs(s: Pick<WebhookSettings, 'timeoutMs'>): number {
  return 2 * s.timeoutMs + 1000;
}

export interface DrainDeps {
  sql: Sql;
  queue: Queue<DrainJobData>;
  log: Logger;
  settings: WebhookSettings;
  /** Requests in flight in this process, over every drain. */
  limiter: Limiter;
  agents: Agents;
  /** True once the process is shutting down: claimed deliveries not yet sent are released. */
  stopping(): boolean;
  /** Says when to step aside for capture in this process (settings.yieldForMs). */
  captureYield?: CaptureYield | undefined;
  /** @defaultValue DRAIN_BATCH */
  batchSize?: number | undefined;
}

/**
 * Processor of the webhooks queue: claim a batch of the endpoint's due stream heads, send them
 * with the process's bound on requests in flight, record every result in one transaction, and
 * nudge the next drain (the other parity: this one is still active) while there was work: at
 * once when the batch was full, else once the results are written.
 */
export function createDrainProcessor(deps: DrainDeps) {
  const { sql, queue, log, settings, limiter, agents } = deps;
  const lease = leaseMs(settings);
  return async function drain(job: Job<DrainJobData>): Promise<string> {
    const endpointId = job.data.endpointId;
    // a job from before drains (`{ deliveryId }`) names no endpoint: the relay nudges its endpoint anyway
    if (!Number.isSafeInteger(endpointId) || deps.stopping()) return 'skipped';
    // capture in this process has a burst to decide first: the relay's next pass nudges this drain again
    if (deps.captureYield?.defer()) return 'deferred';
    const sendBy = Date.now() + lease - settings.timeoutMs - 1000;
    const max = deps.batchSize ?? DRAIN_BATCH;
    const batch = await claimDeliveries(sql, endpointId, max, lease);
    if (batch.length === 0) return 'empty';
    // a nudge lost (Redis away) only waits for the relay's next pass
    const successor = () =>
      deps.stopping()
        ? undefined
        : nudge(queue, [endpointId], job.id?.endsWith('-0') ? 1 : 0).catch((err: unknown) => log.warn({ err, endpointId }, 'webhook drain nudge failed'));
    // a full batch: more is due, and the successor can claim other records' heads while this one sends
    const early = batch.length === max ? successor() : undefined;
    const url = new URL(batch[0]!.url);
    const results = await Promise.all(
      batch.map((d) => limiter.run(async () => (deps.stopping() || Date.now() > sendBy ? null : attempt(d, settings, agents, url)))),
    );
    const tried = batch.flatMap((d, i) => (results[i] ? [{ id: d.id, result: results[i] }] : []));
    const untried = batch.filter((_, i) => results[i] === null).map((d) => d.id);
    const done = await finishDeliveries(sql, endpointId, tried, untried, settings);
    const fields = { endpointId, claimed: batch.length, delivered: done.delivered, retrying: done.retrying, released: untried.length };
    log.debug(fields, 'webhook batch sent');
    if (done.failed > 0) log.warn({ endpointId, deliveryIds: done.failedIds }, 'webhook deliveries dead-lettered');
    if (done.endpointDisabled) log.error({ endpointId, err: tried.at(-1)?.result.error }, 'webhook endpoint disabled: failing too long');
    // and again now: the records just sent may have their next event due (a successor still queued is not doubled)
    await early;
    await successor();
    return `${done.delivered}/${batch.length}`;
  };
}

/**
 * One relay pass: fan newly committed events out to each enabled endpoint, and nudge a drain of
 * every endpoint with a delivery due. Postgres decides what is owed, so a pass after a Redis flush
 * (or a worker killed mid-send, once its lease expires) sends everything again.
 */
export async function relayOnce(sql: Sql, queue: Queue<DrainJobData>, batch = 1000): Promise<{ fannedOut: number; nudged: number }> {
  // a burst larger than one statement's batch is fanned out in the same pass
  let n: number;
  let fannedOut = 0;
  for (const id of await enabledEndpointIds(sql)) {
    do {
      n = await fanOut(sql, id, batch);
      fannedOut += n;
    } while (n === batch);
  }
  const due = await dueEndpoints(sql);
  await nudge(queue, due);
  return { fannedOut, nudged: due.length };
}

/** The delivery worker and its relay, running in one process until `close()`. */
export interface WebhookDelivery {
  queue: Queue<DrainJobData>;
  worker: Worker<DrainJobData, string>;
  /** Stop: requests in flight finish and are recorded, claimed deliveries not yet sent are released. */
  close(): Promise<void>;
}

export interface WebhookDeliveryOptions {
  sql: Sql;
  transport: Transport;
  log: Logger;
  /** @defaultValue DEFAULT_WEBHOOK_SETTINGS */
  settings?: WebhookSettings | undefined;
  /** Deliveries a drain claims at once. @defaultValue DRAIN_BATCH */
  batchSize?: number | undefined;
  /** True while capture in this process has a backlog: drains give way to it (settings.yieldForMs). */
  captureBusy?: (() => boolean) | undefined;
  /** Deliveries this process's relay fans out before it refreshes the table's statistics. @defaultValue ANALYZE_AFTER */
  analyzeAfter?: number | undefined;
}

/** Fanned-out deliveries after which the relay has Postgres analyze the deliveries again (see analyzeDeliveries). */
export const ANALYZE_AFTER = 5000;

export function startWebhookDelivery(opts: WebhookDeliveryOptions): WebhookDelivery {
  const settings = opts.settings ?? DEFAULT_WEBHOOK_SETTINGS;
  const log = opts.log;
  const queue = openQueue<DrainJobData>(opts.transport, WEBHOOKS_QUEUE);
  queue.on('error', (err) => log.warn({ err }, 'webhooks queue connection error'));
  const agents = createAgents(settings.concurrency);
  let stopping = false;
  const processor = createDrainProcessor({
    sql: opts.sql,
    queue,
    log,
    settings,
    limiter: createLimiter(settings.concurrency),
    agents,
    stopping: () => stopping,
    batchSize: opts.batchSize ?? DRAIN_BATCH,
    captureYield: createCaptureYield(opts.captureBusy, settings.yieldForMs),
  });
  // a drain mostly waits on its requests; the limiter, not the number of drains, bounds the load
  const worker = openWorker<DrainJobData, string>(opts.transport, WEBHOOKS_QUEUE, processor, { concurrency: settings.concurrency });
  worker.on('error', (err) => log.error({ err }, 'webhook delivery worker error'));
  let running: Promise<unknown> | null = null;
  let sinceAnalyze = 0;
  const analyzeAfter = opts.analyzeAfter ?? ANALYZE_AFTER;
  const pass = async () => {
    const { fannedOut } = await relayOnce(opts.sql, queue);
    sinceAnalyze += fannedOut;
    if (sinceAnalyze >= analyzeAfter) {
      sinceAnalyze = 0;
      await analyzeDeliveries(opts.sql);
      log.debug({ analyzeAfter }, 'webhook deliveries analyzed after a burst');
    }
  };
  const timer = setInterval(() => {
    // one pass at a time: a slow pass is not stacked on
    running ??= pass()
      .catch((err: unknown) => log.warn({ err }, 'webhook relay pass failed'))
      .finally(() => (running = null));
  }, settings.relayEveryMs);
  timer.unref();
  return {
    queue,
    worker,
    async close() {
      stopping = true;
      clearInterval(timer);
      await running;
      await worker.close();
      await queue.close();
      agents.destroy();
    },
  };
}
