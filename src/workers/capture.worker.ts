import { UnrecoverableError, type Job } from 'bullmq';
import type { ClassifierInput, Decision } from '../classifier/index.js';
import type { Sql } from '../db/client.js';
import { markFailed, type CaptureOptions, type CaptureOutcome } from '../db/capture.repo.js';
import { postKey } from '../db/post-key.js';
import { describeError, PostError } from '../errors.js';
import type { Logger } from '../logger.js';
import { metrics } from '../metrics.js';
import { createCaptureBatcher, type CaptureBatcherOptions } from './capture.batcher.js';
import type { CaptureJobData } from './queues.js';

export interface CaptureProcessorDeps {
  sql: Sql;
  log: Logger;
  /** The current ruleset's decision function; read per job, so a reloaded ruleset takes effect at once. */
  decide: (input: ClassifierInput) => Decision;
  options: CaptureOptions;
  batching?: CaptureBatcherOptions;
}

/**
 * The capture processor: decide one post and apply it in one transaction. What happens on error:
 * - the post itself is bad (PostError): quarantined as `failed` at once, job ends unrecoverable;
 * - anything else (Postgres restarting, a deadlock): thrown, so BullMQ retries with backoff;
 *   on the last attempt the post is quarantined as `failed` with that error.
 * If even quarantining fails, the post stays `pending` and the reconciler brings it back.
 */
export function createCaptureProcessor(deps: CaptureProcessorDeps) {
  const batcher = createCaptureBatcher(deps.sql, (input) => deps.decide(input), deps.options, deps.batching);
  return Object.assign(processCapture, {
    /** Posts this process has taken and not yet decided (what webhook delivery gives way to). */
    backlog: () => batcher.backlog,
  });

  async function processCapture(job: Job<CaptureJobData>): Promise<CaptureOutcome['action']> {
    const ref = job.data;
    if (!ref || typeof ref.externalId !== 'string' || (ref.platform !== 'twitter' && ref.platform !== 'facebook')) {
      throw new UnrecoverableError(`bad capture job payload: ${JSON.stringify(ref)}`);
    }
    const key = postKey(ref);
    try {
      const outcome = await batcher.submit(ref, ref.authorId === undefined ? undefined : `${ref.platform}/${ref.authorId}`);
      if (outcome.label) {
        // decided by this job (not found already decided by an earlier one)
        metrics.postsDecided.inc({ label: outcome.label });
        metrics.enqueueToCommit.observe(Math.max(0, Date.now() - job.timestamp) / 1000);
      }
      if (outcome.action === 'lead-created' || outcome.action === 'case-created' || outcome.action === 'case-reopened') {
        deps.log.info(
          {
            postKey: key,
            label: outcome.label,
            leadId: outcome.leadId ?? undefined,
            caseId: outcome.caseId ?? undefined,
            contactId: outcome.contactId,
            priority: outcome.decision?.priority ?? undefined,
            rules: outcome.decision?.rules.map((r) => r.id),
          },
          outcome.action === 'lead-created' ? 'lead created' : outcome.action === 'case-created' ? 'case created' : 'case reopened',
        );
      } else {
        deps.log.debug({ postKey: key, action: outcome.action, label: outcome.label }, 'post decided');
      }
      return outcome.action;
    } catch (err) {
      const reason = describeError(err);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (err instanceof PostError || lastAttempt) {
        const quarantined = await markFailed(deps.sql, ref, reason, job.attemptsMade + 1).catch(() => false);
        if (quarantined) metrics.postsFailed.inc();
        deps.log.warn({ postKey: key, reason, attempts: job.attemptsMade + 1, quarantined }, 'post failed');
        throw new UnrecoverableError(reason);
      }
      deps.log.debug({ postKey: key, reason, attempt: job.attemptsMade + 1 }, 'capture attempt failed; will retry');
      throw err;
    }
  }
}
