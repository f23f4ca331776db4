import { parseArgs } from 'node:util';
import type { ErasureMode } from '../db/crm.repo.js';
import { UsageError } from '../errors.js';
import { PLATFORMS, type Platform } from '../types.js';
import { erasePerson } from '../workers/erasure.js';
import { closeTransport, openQueue, POSTS_QUEUE, type CaptureJobData } from '../workers/queues.js';
import { openContext, openTransport } from './context.js';
import { printObject } from './output.js';

const USAGE = 'usage: capture forget --platform twitter|facebook --user-id ID [--mode delete|anonymize] [--json]';

/**
 * `capture forget --platform P --user-id ID`: erase a person in one transaction, take their posts' jobs
 * off the queue, and report what was removed. `--mode` overrides `erasure.mode` of the config for the leads and cases they were on.
 */
export async function forgetCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { platform: { type: 'string' }, 'user-id': { type: 'string' }, mode: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(USAGE);
  if (!values.platform || !PLATFORMS.includes(values.platform as Platform)) throw new UsageError(`--platform is one of ${PLATFORMS.join(', ')}; ${USAGE}`);
  if (!values['user-id']) throw new UsageError(`--user-id is required; ${USAGE}`);
  if (values.mode !== undefined && values.mode !== 'delete' && values.mode !== 'anonymize') throw new UsageError(`--mode is delete or anonymize; ${USAGE}`);
  const ctx = await openContext();
  try {
    const mode = (values.mode as ErasureMode | undefined) ?? ctx.config.erasureMode ?? 'anonymize';
    const transport = await openTransport(ctx);
    const queue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    queue.on('error', (err) => ctx.log.warn({ err }, 'queue connection error'));
    try {
      const report = await erasePerson(ctx.database.sql, queue, values.platform as Platform, values['user-id'], mode);
      ctx.log.info({ platform: report.platform, mode, posts: report.posts, identities: report.identities, jobsRemoved: report.jobsRemoved }, 'person erased');
      printObject({ ...report }, json);
      return 0;
    } finally {
      await queue.close();
      await closeTransport(transport);
    }
  } finally {
    await ctx.close();
  }
}
