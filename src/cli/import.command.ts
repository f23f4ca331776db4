import { readImportFile } from '../connectors/import.js';
import { UsageError } from '../errors.js';
import { ingestPosts } from '../workers/ingest.js';
import { openQueue, closeTransport, POSTS_QUEUE, type CaptureJobData } from '../workers/queues.js';
import { openContext, openTransport } from './context.js';
import { printObject } from './output.js';
import { createProgress } from './progress.js';

/** Source id under which imported posts are stored. */
export const IMPORT_SOURCE = 'import';

/**
 * `capture import FILE`: store a JSONL file's posts in the inbox and enqueue the new ones. Lines
 * that do not conform are reported with their line number and make the exit status 1; importing a
 * file twice changes nothing.
 */
export async function importCommand(args: string[], json: boolean): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1) throw new UsageError('usage: capture import FILE [--json]');
  const ctx = await openContext();
  try {
    const transport = await openTransport(ctx);
    const queue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    queue.on('error', (err) => ctx.log.warn({ err }, 'queue connection error'));
    const progress = createProgress(!json);
    const errors: { line: number; reason: string }[] = [];
    let posts = 0;
    let inserted = 0;
    try {
      for await (const batch of readImportFile(file, (p) =>
        progress.update(`import: ${p.lines} lines, ${Math.round((100 * p.bytesRead) / Math.max(1, p.totalBytes))}%`),
      )) {
        errors.push(...batch.errors);
        posts += batch.posts.length;
        const stored = await ingestPosts(
          ctx.database.sql,
          queue,
          IMPORT_SOURCE,
          batch.posts.map((p) => p.post),
          null,
          ctx.config.capture.attempts,
        );
        inserted += stored.inserted.length;
      }
    } finally {
      progress.done();
      await queue.close();
      await closeTransport(transport);
    }
    if (!json) for (const e of errors) process.stderr.write(`${file}:${e.line}: ${e.reason}\n`);
    printObject({ file, posts, new: inserted, duplicates: posts - inserted, invalid: errors.length, ...(json ? { errors } : {}) }, json);
    // The good lines are stored either way; a script still learns from the status that some were not.
    return errors.length > 0 ? 1 : 0;
  } finally {
    await ctx.close();
  }
}
