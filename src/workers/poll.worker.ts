import type { Job, Queue } from 'bullmq';
import { DEFAULT_COST, type CostConfig, type SourceConfig } from '../config.js';
import type { Connector } from '../connectors/types.js';
import type { Sql } from '../db/client.js';
import { findStalePending, recordPollSuccess, recordSourceError, sourceGate } from '../db/inbox.repo.js';
import { captureJobId, type PostRef } from '../db/post-key.js';
import { queueEpoch } from '../db/settings.repo.js';
import { markBudgetExhausted, monthUse, pruneDailyReads, recordUsage } from '../db/usage.repo.js';
import type { Logger } from '../logger.js';
import { metrics } from '../metrics.js';
import type { Platform } from '../types.js';
import { billingMonth, budgetVerdict, pricePerPost, utcDay } from '../capture/budget.js';
import { decidePollError } from './error-policy.js';
import { enqueuePosts, ingestPosts } from './ingest.js';
import { POLL_JOB, RECONCILE_JOB, type CaptureJobData, type PollJobData } from './queues.js';

export interface PollResult {
  pages: number;
  fetched: number;
  inserted: number;
  /** Posts the platform returned, stored or not (the Page's own, re-read ones): what is charged. */
  read: number;
}

/** Where a source's reads are counted, and at what price. */
export interface UsageMeter {
  platform: Platform;
  priceUsd: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

/**
 * One poll of one source: walk the connector's pages from the stored cursor; each page and the
 * cursor it makes safe go into Postgres in one transaction, and only then are its new posts
 * enqueued. A crash between the commit and the enqueue leaves pending rows for the reconciler.
 */
export async function pollSource(
  sql: Sql,
  queue: Queue<CaptureJobData>,
  connector: Connector,
  attempts: number,
  signal?: AbortSignal,
  meter?: UsageMeter,
): Promise<PollResult> {
  const [row] = await sql<{ cursor: string | null }[]>`
    select cursor from source_cursors where source_id = ${connector.sourceId}`;
  const result: PollResult = { pages: 0, fetched: 0, inserted: 0, read: 0 };
  for await (const page of connector.fetchPages(row?.cursor ?? null, signal)) {
    const stored = await ingestPosts(sql, queue, connector.sourceId, page.posts, page.nextCursor, attempts);
    if (meter && page.read) {
      // Counted after the page is stored: a crash in between under-counts one page, never stores twice.
      const day = utcDay((meter.now ?? Date.now)());
      await recordUsage(sql, { sourceId: connector.sourceId, platform: meter.platform, day, read: page.read, priceUsd: meter.priceUsd });
    }
    result.read += page.read?.ids.length ?? 0;
    result.pages += 1;
    result.fetched += page.posts.length;
    result.inserted += stored.inserted.length;
  }
  return result;
}

/**
 * Re-enqueue pending posts whose job is gone (Redis flushed or restarted without persistence) or
 * ended without deciding them: a completed or failed job under the post's id (a database restored
 * from a backup meets the jobs it already ran) is removed first, or BullMQ would ignore the new one.
 * Postgres is the truth; the queue is only transport (invariant 3).
 */
export async function reconcileInbox(sql: Sql, queue: Queue<CaptureJobData>, graceMs: number, attempts: number, limit = 5000): Promise<number> {
  const stale = await findStalePending(sql, graceMs, limit);
  const epoch = await queueEpoch(sql);
  const missing: PostRef[] = [];
  for (const ref of stale) {
    const job = await queue.getJob(captureJobId(ref, epoch));
    if (job) {
      const state = await job.getState();
      if (state !== 'completed' && state !== 'failed') continue; // still on its way
      await job.remove();
    }
    missing.push(ref);
  }
  await enqueuePosts(queue, missing, attempts, epoch);
  return missing.length;
}

export interface PollProcessorDeps {
  sql: Sql;
  log: Logger;
  postsQueue: Queue<CaptureJobData>;
  connectors: ReadonlyMap<string, Connector>;
  attempts: number;
  reconcileGraceMs: number;
  /** Each source's poll interval, to show when the next poll is due. */
  everyMs?: ReadonlyMap<string, number>;
  /** Waits between retries inside a poll. @defaultValue setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** The configured sources and prices: reads are counted and budgets enforced for these. */
  cost?: { sources: readonly SourceConfig[]; prices?: CostConfig };
  /** Clock of the cost counters and billing months. @defaultValue Date.now */
  now?: () => number;
}

/** What the budget check said: go ahead, or the poll result that skips this poll. */
async function checkBudget(deps: PollProcessorDeps, source: SourceConfig, log: Logger, warned: Set<string>) {
  const prices = deps.cost?.prices ?? DEFAULT_COST;
  const at = (deps.now ?? Date.now)();
  const month = billingMonth(at);
  const verdict = budgetVerdict(source, prices, await monthUse(deps.sql, source.id, source.platform, month.start));
  if (verdict.status === 'budget exhausted') {
    await markBudgetExhausted(deps.sql, source.id, `${verdict.reason}; paused until ${month.next}`);
    return { skipped: 'budget exhausted', until: month.next };
  }
  const key = `${source.id}:${month.start}`;
  if (verdict.status === 'warning' && !warned.has(key)) {
    warned.add(key);
    log.warn({ ratio: verdict.ratio, until: month.next }, verdict.reason);
  }
  return null;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Processor of the poll queue: scheduled polls of each source, and the reconciler. */
export function createPollProcessor(deps: PollProcessorDeps) {
  const sources = new Map((deps.cost?.sources ?? []).map((s) => [s.id, s]));
  /** Sources warned about this month already: one warning per source and month, not one per poll. */
  const warned = new Set<string>();
  return async function processPoll(job: Job<PollJobData>): Promise<unknown> {
    if (job.name === RECONCILE_JOB) {
      await pruneDailyReads(deps.sql, utcDay((deps.now ?? Date.now)()));
      const n = await reconcileInbox(deps.sql, deps.postsQueue, deps.reconcileGraceMs, deps.attempts);
      if (n > 0) deps.log.warn({ reenqueued: n }, 're-enqueued pending posts whose jobs were lost');
      return { reenqueued: n };
    }
    if (job.name !== POLL_JOB) return null;
    const connector = deps.connectors.get(job.data.sourceId);
    if (!connector) {
      deps.log.warn({ sourceId: job.data.sourceId }, 'poll for a source that is not configured; skipped');
      return null;
    }
    const log = deps.log.child({ sourceId: connector.sourceId });
    const gate = await sourceGate(deps.sql, connector.sourceId);
    if (gate.blockedUntil && gate.blockedUntil.getTime() > Date.now()) {
      // Waiting out a rate-limit reset or a back-off: not one request before then, however often the schedule fires.
      return { skipped: 'blocked', until: gate.blockedUntil.toISOString() };
    }
    const source = sources.get(connector.sourceId);
    const paused = source ? await checkBudget(deps, source, log, warned) : null;
    if (paused) return paused;
    const meter: UsageMeter | undefined = source
      ? { platform: source.platform, priceUsd: pricePerPost(source, deps.cost?.prices ?? DEFAULT_COST), ...(deps.now ? { now: deps.now } : {}) }
      : undefined;
    const every = deps.everyMs?.get(connector.sourceId);
    const timer = metrics.pollDuration.startTimer({ source: connector.sourceId });
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await pollSource(deps.sql, deps.postsQueue, connector, deps.attempts, undefined, meter);
        timer({ result: 'ok' });
        await recordPollSuccess(deps.sql, connector.sourceId, every === undefined ? null : new Date(Date.now() + every));
        if (r.inserted > 0) log.info({ fetched: r.fetched, new: r.inserted, pages: r.pages }, 'source polled');
        return r;
      } catch (err) {
        const d = decidePollError(err, attempt, gate.consecutiveFailures + 1);
        if (d.retryInMs !== null) {
          log.debug({ err: d.message, code: d.code, retryInMs: d.retryInMs }, 'poll failed; retrying');
          await (deps.sleep ?? sleepFor)(d.retryInMs);
          continue;
        }
        timer({ result: 'error' });
        metrics.pollErrors.inc({ source: connector.sourceId, code: d.code });
        if (d.action === 'wait-for-reset') metrics.rateLimitWaits.inc({ source: connector.sourceId });
        const until = d.blockMs > 0 ? new Date(Date.now() + d.blockMs) : null;
        await recordSourceError(deps.sql, connector.sourceId, d.message, d.healthy, until).catch(() => {});
        const fields = { err: d.message, code: d.code, action: d.action, healthy: d.healthy, blockedUntil: until?.toISOString() };
        if (d.healthy) log.warn(fields, 'poll failed; cursor left where it was');
        else log.error(fields, 'source unhealthy: needs a person');
        return { error: d.message, code: d.code };
      }
    }
  };
}
