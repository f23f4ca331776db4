import type { ClassifierInput, Decision } from '../classifier/index.js';
import type { Sql } from '../db/client.js';
import { captureBatch, type CaptureOptions, type CaptureOutcome } from '../db/capture.repo.js';
import { postKey, type PostRef } from '../db/post-key.js';
import { PostError } from '../errors.js';

export interface CaptureBatcherOptions {
  /** Most posts in one transaction. @defaultValue 64 */
  maxBatch?: number;
  /** How long a lone post waits for company before its batch goes. @defaultValue 2 */
  maxWaitMs?: number;
  /** Lanes, each with one batch in flight: batches in flight at once per process. @defaultValue 2 */
  maxInFlight?: number;
}

interface Waiting {
  ref: PostRef;
  resolve(o: CaptureOutcome): void;
  reject(e: unknown): void;
}

/** FNV-1a: a cheap, stable spread of author keys over lanes. */
function laneOf(key: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

/**
 * Micro-batching between BullMQ's concurrent jobs and Postgres: each job submits its post and
 * awaits its own outcome, while the posts of all jobs in flight are decided together in one
 * transaction of a fixed number of round trips. Jobs keep their own retries and failures: a
 * PostError goes to its job only, and a batch that fails as a whole is retried post by post so
 * one bad post cannot fail the others.
 *
 * Posts go to lanes by author, each lane one batch at a time: one author's posts are never in two
 * concurrent batches of this process, which would only wait on each other's row locks.
 */
export function createCaptureBatcher(sql: Sql, decide: (input: ClassifierInput) => Decision, options: CaptureOptions, opts: CaptureBatcherOptions = {}) {
  const maxBatch = opts.maxBatch ?? 64;
  const maxWaitMs = opts.maxWaitMs ?? 2;
  const lanes = Array.from({ length: Math.max(1, opts.maxInFlight ?? 2) }, () => ({
    waiting: [] as Waiting[],
    timer: undefined as NodeJS.Timeout | undefined,
    busy: false,
  }));
  type Lane = (typeof lanes)[number];

  const settle = (items: Waiting[], results: Map<string, CaptureOutcome | PostError>) => {
    for (const it of items) {
      const r = results.get(postKey(it.ref));
      if (r === undefined) it.reject(new PostError(`no outcome for ${postKey(it.ref)}`));
      else if (r instanceof PostError) it.reject(r);
      else it.resolve(r);
    }
  };

  let running = 0;
  async function run(lane: Lane, items: Waiting[]): Promise<void> {
    lane.busy = true;
    running += items.length;
    try {
      settle(
        items,
        await captureBatch(
          sql,
          items.map((i) => i.ref),
          decide,
          options,
        ),
      );
    } catch (err) {
      if (items.length === 1) items[0]!.reject(err);
      else {
        for (const it of items) {
          await captureBatch(sql, [it.ref], decide, options).then(
            (r) => settle([it], r),
            (e: unknown) => it.reject(e),
          );
        }
      }
    } finally {
      running -= items.length;
      lane.busy = false;
      pump(lane);
    }
  }

  /** Start the lane's next batch: at once when full, else after maxWaitMs for company. */
  function pump(lane: Lane): void {
    if (lane.busy || lane.waiting.length === 0) return;
    if (lane.waiting.length >= maxBatch) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
      void run(lane, lane.waiting.splice(0, maxBatch));
      return;
    }
    lane.timer ??= setTimeout(() => {
      lane.timer = undefined;
      if (!lane.busy && lane.waiting.length > 0) void run(lane, lane.waiting.splice(0, maxBatch));
    }, maxWaitMs);
  }

  return {
    /** Decide one post with whichever batch of its author's lane it joins. */
    submit(ref: PostRef, authorKey?: string): Promise<CaptureOutcome> {
      const lane = lanes[laneOf(authorKey ?? postKey(ref), lanes.length)]!;
      return new Promise<CaptureOutcome>((resolve, reject) => {
        lane.waiting.push({ ref, resolve, reject });
        pump(lane);
      });
    },
    /** Posts waiting for a batch (for tests and metrics). */
    get waiting() {
      return lanes.reduce((n, l) => n + l.waiting.length, 0);
    },
    /** Posts submitted and not yet decided: waiting, or in a batch being applied. */
    get backlog() {
      return running + lanes.reduce((n, l) => n + l.waiting.length, 0);
    },
  };
}
