import type { Queue } from 'bullmq';
import type { Sql } from '../db/client.js';
import { type StorePageResult, storePage } from '../db/inbox.repo.js';
import { captureJobId, type PostRef } from '../db/post-key.js';
import { queueEpoch } from '../db/settings.repo.js';
import { metrics } from '../metrics.js';
import type { SocialPost } from '../types.js';
import { CAPTURE_JOB, type CaptureJobData, captureJobOptions } from './queues.js';

/**
 * Enqueue one capture job per post; the job id is the post key (with the database's queue epoch, see
 * `queueEpoch`), so a second add is a no-op.
 */
export async function enqueuePosts(queue: Queue<CaptureJobData>, refs: readonly PostRef[], attempts: number, epoch?: string) {
  if (refs.length === 0) return;
  const opts = captureJobOptions(attempts);
  await queue.addBulk(
    refs.map((r) => ({
      name: CAPTURE_JOB,
      data: { platform: r.platform, externalId: r.externalId, ...(r.authorId ? { authorId: r.authorId } : {}) },
      opts: { ...opts, jobId: captureJobId(r, epoch) },
    })),
  );
}

/**
 * The one way posts come in, for polling, the stream, webhooks and import: store the page (and the cursor it
 * makes safe) in Postgres, then enqueue its new posts. Postgres first: a crash between the two leaves pending
 * rows, which the reconciler re-enqueues.
 */
export async function ingestPosts(
  sql: Sql,
  queue: Queue<CaptureJobData>,
  sourceId: string,
  posts: readonly SocialPost[],
  nextCursor: string | null,
  attempts: number,
): Promise<StorePageResult> {
  const stored = await storePage(sql, sourceId, posts, nextCursor);
  await enqueuePosts(queue, stored.inserted, attempts, await queueEpoch(sql));
  metrics.postsStored.inc({ source: sourceId }, stored.inserted.length);
  return stored;
}
