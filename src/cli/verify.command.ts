import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { verify } from '../workers/verify.js';
import { closeTransport, openQueue, POSTS_QUEUE, type CaptureJobData } from '../workers/queues.js';
import { openContext, openTransport } from './context.js';

export const VERIFY_USAGE = 'usage: capture verify [--grace SECONDS] [--json]  (exit 1 when an invariant is broken)';

/**
 * `capture verify`: check the invariants of DESIGN.md on the live database and the queue; print the
 * counts and each problem; exit 1 when there is one.
 */
export async function verifyCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { grace: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length > 0) throw new UsageError(VERIFY_USAGE);
  if (values.grace !== undefined && !/^\d{1,7}$/.test(values.grace)) throw new UsageError(`--grace takes whole seconds; ${VERIFY_USAGE}`);
  const ctx = await openContext();
  try {
    const transport = await openTransport(ctx);
    const queue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    queue.on('error', (err) => ctx.log.warn({ err }, 'queue connection error'));
    try {
      const graceMs = values.grace !== undefined ? Number(values.grace) * 1000 : ctx.config.capture.reconcileGraceMs;
      const report = await verify(ctx.database.sql, queue, { graceMs });
      if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const c = report.counts;
        process.stdout.write(
          `posts: ${c.posts.pending} pending, ${c.posts.processed} processed, ${c.posts.failed} failed; leads: ${c.leads}; cases: ${c.cases}; ` +
            `contacts: ${c.contacts.live} live, ${c.contacts.merged} merged, ${c.contacts.erased} erased\n`,
        );
        for (const p of report.problems) process.stdout.write(`PROBLEM ${p.check}: ${p.count} (e.g. ${JSON.stringify(p.sample.slice(0, 3))})\n`);
        process.stdout.write(report.ok ? 'ok: every invariant holds\n' : `${report.problems.length} invariant(s) broken\n`);
      }
      return report.ok ? 0 : 1;
    } finally {
      await queue.close();
      await closeTransport(transport);
    }
  } finally {
    await ctx.close();
  }
}
