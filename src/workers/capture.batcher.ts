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
  /** Batches in flight at once per process. @defaultValue 2 */
  maxInFlight?: number;
}

interface Waiting {
  ref: PostRef;
  resolve(o: CaptureOutcome): void;
  reject(e: unknown): void;
}

/**
 * Micro-batching between BullMQ's concurrent jobs and Postgres: each job submits its post and
 * awaits its own outcome, while the posts of all jobs in flight are decided together in one
 * transaction of a fixed number of round trips. Jobs keep their own retries and failures: a
 * PostError goes to its job only, and a batch that fails as a whole is retried post by post so
 * one bad post cannot fail the others.
 */
export function createCaptureBatcher(
  sql: Sql,
  decide: (input: ClassifierInput) => Decision,
  options: CaptureOptions,
  opts: CaptureBatcherOptions = {},
) {
  const maxBatch = opts.maxBatch ?? 64;
  const maxWaitMs = opts.maxWaitMs ?? 2;
  const maxInFlight = opts.maxInFlight ?? 2;
  const waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;
  let inFlight = 0;

  const settle = (items: Waiting[], results: Map<string, CaptureOutcome | PostError>) => {
    for (const it of items) {
      const r = results.get(postKey(it.ref));
      if (r === undefined) it.reject(new PostError(`no outcome for ${postKey(it.ref)}`));
      else if (r instanceof PostError) it.reject(r);
      else it.resolve(r);
    }
  };

  async function run(items: Waiting[]): Promise<void> {
    inFlight += 1;
    try {
      settle(items, await captureBatch(sql, items.map((i) => i.ref), decide, options));
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
      inFlight -= 1;
      pump();
    }
  }

  function pump(): void {
    while (waiting.length > 0 && inFlight < maxInFlight && (waiting.length >= maxBatch || timer === undefined)) {
      if (waiting.length < maxBatch) {
        timer = setTimeout(() => {
          timer = undefined;
          if (waiting.length > 0 && inFlight < maxInFlight) void run(waiting.splice(0, maxBatch));
        }, maxWaitMs);
        return;
      }
      void run(waiting.splice(0, maxBatch));
    }
  }

  return {
    /** Decide one post with whichever batch it joins. */
    submit(ref: PostRef): Promise<CaptureOutcome> {
      return new Promise<CaptureOutcome>((resolve, reject) => {
        waiting.push({ ref, resolve, reject });
        pump();
      });
    },
    /** Posts waiting for a batch (for tests and metrics). */
    get waiting() {
      return waiting.length;
    },
  };
}
