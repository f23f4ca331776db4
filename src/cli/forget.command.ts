import { parseArgs } from 'node:util';
import { forgetPerson, type ErasureMode } from '../db/crm.repo.js';
import { UsageError } from '../errors.js';
import { PLATFORMS, type Platform } from '../types.js';
import { openContext } from './context.js';
import { printObject } from './output.js';

const USAGE = 'usage: capture forget --platform twitter|facebook --user-id ID [--mode delete|anonymize] [--json]';

/**
 * `capture forget --platform P --user-id ID`: erase a person in one transaction and report what was
 * removed. `--mode` overrides `erasure.mode` of the config for the leads and cases they were on.
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
    const report = await forgetPerson(ctx.database.sql, values.platform as Platform, values['user-id'], mode);
    ctx.log.info({ platform: report.platform, mode, posts: report.posts, identities: report.identities }, 'person erased');
    printObject({ ...report }, json);
    return 0;
  } finally {
    await ctx.close();
  }
}
