import type { Queue } from 'bullmq';
import type { Sql } from '../db/client.js';
import { forgetPerson, type ErasureMode, type ErasureReport } from '../db/crm.repo.js';
import { captureJobId } from '../db/post-key.js';
import { queueEpoch } from '../db/settings.repo.js';
import type { Platform } from '../types.js';
import type { CaptureJobData } from './queues.js';

/** What an erasure did: the database's report and the capture jobs of the person's posts taken off the queue. */
export type ErasureResult = ErasureReport & { jobsRemoved: number };

/**
 * Erase a person (see `forgetPerson`), then remove the capture jobs of their deleted posts, so that a
 * queued job never brings them back into a log line or a retry. A job a worker holds at that moment
 * finds no post and ends.
 */
export async function erasePerson(sql: Sql, queue: Queue<CaptureJobData>, platform: Platform, userId: string, mode: ErasureMode): Promise<ErasureResult> {
  const { removedPosts, ...report } = await forgetPerson(sql, platform, userId, mode);
  const epoch = await queueEpoch(sql);
  let jobsRemoved = 0;
  for (const ref of removedPosts) {
    // with the epoch (this database's jobs) and without (jobs enqueued before epochs existed)
    for (const id of new Set([captureJobId(ref, epoch), captureJobId(ref)])) {
      const job = await queue.getJob(id);
      // A job a worker holds is locked and stays; it finds no post and ends.
      if (
        job &&
        (await job.remove().then(
          () => true,
          () => false,
        ))
      )
        jobsRemoved += 1;
    }
  }
  return { ...report, jobsRemoved };
}
