import { createHash } from 'node:crypto';
import type { Queue, Worker } from 'bullmq';
import { classify, type ClassifierInput, type Ruleset } from '../classifier/index.js';
import type { Config, SourceConfig } from '../config.js';
import { createSandboxConnector } from '../connectors/sandbox.connector.js';
import type { Connector } from '../connectors/types.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import { createCaptureProcessor } from './capture.worker.js';
import { createPollProcessor } from './poll.worker.js';
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
} from './queues.js';

export type Role = 'all' | 'poller' | 'worker';

/**
 * The connector for a configured source. Sources of kind `sandbox` poll the built-in simulated
 * stream; so do X and Facebook sources until their connectors exist (a later issue).
 */
export function connectorFor(source: SourceConfig): Connector {
  if (source.kind === 'sandbox') {
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
  return createSandboxConnector({ sourceId: source.id, platform: source.platform, idBase: sandboxIdBase(source.id), now: () => new Date() });
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
}

export interface Service {
  postsQueue: Queue<CaptureJobData>;
  pollQueue: Queue<PollJobData>;
  workers: Worker[];
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
    q.on('error', (err) => log.warn({ queue: q.name, err: err.message }, 'queue connection error'));
  }
  await Promise.all([postsQueue.waitUntilReady(), pollQueue.waitUntilReady()]);
  const workers: Worker[] = [];

  if (deps.role === 'all' || deps.role === 'worker') {
    const decide = (input: ClassifierInput) => classify(input, ruleset);
    const processor = createCaptureProcessor({
      sql: database.sql,
      log: log.child({ component: 'capture' }),
      decide,
      options: { caseWindowMs: config.capture.caseWindowMs, slaMs: config.capture.slaMs },
      batching: {
        maxBatch: config.capture.batchSize,
        maxInFlight: Math.max(1, Math.ceil(config.capture.concurrency / config.capture.batchSize)),
      },
    });
    const worker = openWorker<CaptureJobData, unknown>(transport, POSTS_QUEUE, processor, {
      concurrency: config.capture.concurrency,
    });
    worker.on('error', (err) => log.error({ err: err.message }, 'capture worker error'));
    workers.push(worker as Worker);
  }

  if (deps.role === 'all' || deps.role === 'poller') {
    const enabled = config.sources.filter((s) => s.enabled);
    const connectors = deps.connectors ?? new Map(enabled.map((s) => [s.id, connectorFor(s)]));
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
      }),
      // Sources poll one after another per process: a slow platform never starves Postgres.
      { concurrency: 2 },
    );
    pollWorker.on('error', (err) => log.error({ err: err.message }, 'poll worker error'));
    workers.push(pollWorker as Worker);
    // Job schedulers make polling single-leader across processes without a lock of our own.
    for (const s of enabled) {
      await pollQueue.upsertJobScheduler(
        `source-${s.id}`,
        { every: s.every },
        { name: POLL_JOB, data: { sourceId: s.id }, opts: { removeOnComplete: 100, removeOnFail: 100 } },
      );
    }
    const wanted = new Set(enabled.map((s) => `source-${s.id}`).concat(RECONCILE_SCHEDULER));
    for (const sch of await pollQueue.getJobSchedulers()) {
      if (sch.key && !wanted.has(sch.key)) await pollQueue.removeJobScheduler(sch.key);
    }
    await pollQueue.upsertJobScheduler(
      RECONCILE_SCHEDULER,
      { every: config.capture.reconcileEveryMs },
      { name: RECONCILE_JOB, data: { sourceId: '' }, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
    log.info({ sources: enabled.map((s) => s.id) }, 'polling scheduled');
  }

  let closing: Promise<void> | null = null;
  return {
    postsQueue,
    pollQueue,
    workers,
    setRuleset(r) {
      ruleset = r;
    },
    close() {
      closing ??= (async () => {
        await Promise.all(workers.map((w) => w.close()));
        await Promise.all([postsQueue.close(), pollQueue.close()]);
      })();
      return closing;
    },
  };
}
