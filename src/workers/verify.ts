import type { Queue } from 'bullmq';
import type { Sql } from '../db/client.js';
import { captureJobId } from '../db/post-key.js';
import { queueEpoch } from '../db/settings.repo.js';
import { databaseProblems, pendingPastGrace, verifyCounts, type Problem, type VerifyCounts } from '../db/verify.repo.js';
import type { CaptureJobData } from './queues.js';

/** What `capture verify` found: counts, and every broken invariant (none: ok). */
export interface VerifyReport {
  ok: boolean;
  counts: VerifyCounts;
  problems: Problem[];
}

/** Job states in which a job will still run. */
const LIVE = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Check the invariants of DESIGN.md on the live database, and the queue against it: a post pending
 * past the grace period must have a live job (else only the reconciler would bring it back).
 */
export async function verify(sql: Sql, queue: Queue<CaptureJobData>, opts: { graceMs: number; limit?: number }): Promise<VerifyReport> {
  const [counts, problems, pending, epoch] = await Promise.all([
    verifyCounts(sql),
    databaseProblems(sql),
    pendingPastGrace(sql, opts.graceMs, opts.limit ?? 10_000),
    queueEpoch(sql),
  ]);
  const orphans: string[] = [];
  for (const ref of pending) {
    const job = (await queue.getJob(captureJobId(ref, epoch))) ?? (await queue.getJob(captureJobId(ref)));
    const state = job ? await job.getState() : 'missing';
    if (!LIVE.has(state)) orphans.push(`${ref.platform}/${ref.externalId} (${state})`);
  }
  if (orphans.length > 0) problems.push({ check: 'a pending post with no live job', count: orphans.length, sample: orphans.slice(0, 5) });
  return { ok: problems.length === 0, counts, problems };
}
