import type { Job, Queue, Worker } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import type { Sql } from '../db/client.js';
import {
  claimDelivery,
  dueDeliveries,
  enabledEndpointIds,
  fanOut,
  finishAttempt,
  type AttemptResult,
  type ClaimedDelivery,
  type DueDelivery,
} from '../db/webhooks.repo.js';
import type { Logger } from '../logger.js';
import { openQueue, openWorker, type Transport } from './queues.js';

/** Queue of webhook delivery nudges: one job per (delivery, attempt); Postgres holds the deliveries. */
export const WEBHOOKS_QUEUE = 'webhooks';
export const DELIVER_JOB = 'deliver-webhook';

export interface DeliveryJobData {
  deliveryId: number;
}

/** How webhooks are delivered; `webhooks:` in the config file. */
export interface WebhookSettings {
  /** How often the relay numbers new events, fans them out and re-sends lost nudges. @defaultValue 1000 */
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
  /** Requests in flight per process. @defaultValue 8 */
  concurrency: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  relayEveryMs: 1000,
  timeoutMs: 10_000,
  backoffBaseMs: 5000,
  backoffMaxMs: 3_600_000,
  retryForMs: 86_400_000,
  disableAfterMs: 86_400_000,
  concurrency: 8,
};

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

/** The body and the Standard Webhooks headers of one attempt. */
export function signedRequest(d: ClaimedDelivery, now: Date): { body: string; headers: Record<string, string> } {
  const { cursor: _cursor, ...message } = d.event;
  const body = JSON.stringify(message);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'social-capture-webhooks/1',
      'webhook-id': d.event.id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(d.secret).sign(d.event.id, now, body),
    },
  };
}

/** One HTTP attempt; never throws: a timeout or a refused connection is an attempt with no status. */
export async function attempt(d: ClaimedDelivery, s: WebhookSettings): Promise<AttemptResult> {
  const started = performance.now();
  const { body, headers } = signedRequest(d, new Date());
  try {
    const res = await fetch(d.url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(s.timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    const outcome = outcomeOf(res.status);
    const latencyMs = performance.now() - started;
    const error = outcome === 'delivered' ? null : `HTTP ${res.status}`;
    if (outcome !== 'retry') return { statusCode: res.status, latencyMs, error, outcome };
    const retryAfter = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get('retry-after'), Date.now()) : null;
    return { statusCode: res.status, latencyMs, error, outcome, retryInMs: retryDelay(d.attempts, s, retryAfter) };
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string }; message?: string };
    const error = e.name === 'TimeoutError' ? `timed out after ${s.timeoutMs} ms` : (e.cause?.code ?? e.message ?? String(err));
    return { statusCode: null, latencyMs: performance.now() - started, error, outcome: 'retry', retryInMs: retryDelay(d.attempts, s, null) };
  }
}

/** Add nudges; the job id names the delivery and its attempt count, so a nudge already queued is not doubled. */
export async function nudge(queue: Queue<DeliveryJobData>, due: readonly DueDelivery[], delayMs = 0): Promise<void> {
  if (due.length === 0) return;
  await queue.addBulk(
    due.map((d) => ({
      name: DELIVER_JOB,
      data: { deliveryId: d.id },
      // Done nudges go at once, so the same id can nudge again later; failures are retried by Postgres, not BullMQ.
      opts: { jobId: `wh-${d.id}-${d.attempts}`, delay: delayMs, removeOnComplete: true, removeOnFail: true, attempts: 1 },
    })),
  );
}

export interface DeliveryDeps {
  sql: Sql;
  queue: Queue<DeliveryJobData>;
  log: Logger;
  settings: WebhookSettings;
}

/** Processor of the webhooks queue: claim the delivery, send it once, record what happened, nudge what comes next. */
export function createDeliveryProcessor(deps: DeliveryDeps) {
  const { sql, queue, log, settings } = deps;
  return async function processDelivery(job: Job<DeliveryJobData>): Promise<string> {
    // The lease outlives the request; a worker killed mid-send holds the delivery no longer than this.
    const claimed = await claimDelivery(sql, job.data.deliveryId, 2 * settings.timeoutMs + 1000);
    if (!claimed) return 'skipped';
    const result = await attempt(claimed, settings);
    const done = await finishAttempt(sql, claimed, result, settings);
    const fields = {
      deliveryId: claimed.id,
      endpointId: claimed.endpointId,
      eventType: claimed.event.type,
      attempt: claimed.attempts,
      statusCode: result.statusCode,
    };
    if (done.status === 'pending') {
      log.debug({ ...fields, err: result.error, retryInMs: result.retryInMs }, 'webhook attempt failed; will retry');
      await nudge(queue, [{ id: claimed.id, attempts: claimed.attempts }], result.retryInMs);
    } else if (done.status === 'failed') {
      log.warn({ ...fields, err: result.error }, 'webhook delivery dead-lettered');
    }
    if (done.endpointDisabled) log.error({ endpointId: claimed.endpointId, err: result.error }, 'webhook endpoint disabled: failing too long');
    if (done.next) await nudge(queue, [done.next]);
    return done.status;
  };
}

/**
 * One relay pass: fan newly committed events out to each enabled endpoint, and nudge
 * the first due delivery of every stream. Postgres decides what is owed, so a pass after a Redis
 * flush (or a worker killed mid-send, once its lease expires) sends everything again.
 */
export async function relayOnce(sql: Sql, queue: Queue<DeliveryJobData>, batch = 1000): Promise<{ fannedOut: number; nudged: number }> {
  // a burst larger than one statement's batch is fanned out in the same pass
  let n: number;
  let fannedOut = 0;
  for (const id of await enabledEndpointIds(sql)) {
    do {
      n = await fanOut(sql, id, batch);
      fannedOut += n;
    } while (n === batch);
  }
  const due = await dueDeliveries(sql);
  await nudge(queue, due);
  return { fannedOut, nudged: due.length };
}

/** The delivery worker and its relay, running in one process until `close()`. */
export interface WebhookDelivery {
  queue: Queue<DeliveryJobData>;
  worker: Worker<DeliveryJobData, string>;
  close(): Promise<void>;
}

export function startWebhookDelivery(opts: { sql: Sql; transport: Transport; log: Logger; settings?: WebhookSettings | undefined }): WebhookDelivery {
  const settings = opts.settings ?? DEFAULT_WEBHOOK_SETTINGS;
  const log = opts.log;
  const queue = openQueue<DeliveryJobData>(opts.transport, WEBHOOKS_QUEUE);
  queue.on('error', (err) => log.warn({ err }, 'webhooks queue connection error'));
  const worker = openWorker<DeliveryJobData, string>(opts.transport, WEBHOOKS_QUEUE, createDeliveryProcessor({ sql: opts.sql, queue, log, settings }), {
    concurrency: settings.concurrency,
  });
  worker.on('error', (err) => log.error({ err }, 'webhook delivery worker error'));
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    // one pass at a time: a slow pass is not stacked on
    running ??= relayOnce(opts.sql, queue)
      .catch((err: unknown) => log.warn({ err }, 'webhook relay pass failed'))
      .finally(() => (running = null));
  }, settings.relayEveryMs);
  timer.unref();
  return {
    queue,
    worker,
    async close() {
      clearInterval(timer);
      await running;
      await worker.close();
      await queue.close();
    },
  };
}
