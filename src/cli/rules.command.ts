import { parseArgs } from 'node:util';
import { rulesReport } from '../db/feedback.repo.js';
import { UsageError } from '../errors.js';
import { openContext } from './context.js';
import { printRecords } from './output.js';

const USAGE = 'usage: capture rules report [--limit N] [--wrong N] [--json]';

/**
 * `capture rules report`: per rule, how often it fired on stored posts, its precision against people's
 * corrections (`POST /api/posts/:id/feedback`) and the corrected posts it got wrong. The same read as
 * `GET /api/rules/report`.
 */
export async function rulesCommand(args: string[], json: boolean): Promise<number> {
  if (args.includes('--help')) {
    process.stdout.write(`${USAGE}\n  --limit N  rules listed, least precise first (default 50)\n  --wrong N  wrong posts listed per rule (default 5)\n`);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args,
    options: { limit: { type: 'string', default: '50' }, wrong: { type: 'string', default: '5' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1 || positionals[0] !== 'report') throw new UsageError(USAGE);
  const limit = Number(values.limit);
  const wrong = Number(values.wrong);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a whole number ≥ 1');
  if (!Number.isInteger(wrong) || wrong < 0) throw new UsageError('--wrong takes a whole number ≥ 0');
  const ctx = await openContext();
  try {
    // Least precise first: those are the rules to look at.
    const rows = (await rulesReport(ctx.database.sql, { wrongLimit: wrong }))
      .sort((a, b) => (a.precision ?? 2) - (b.precision ?? 2) || b.fired - a.fired)
      .slice(0, limit)
      .map((r) => ({ id: r.rule, ...r }));
    printRecords(
      json ? rows : rows.map((r) => ({ ...r, precision: r.precision ?? '', wrong: r.wrong.map((w) => `#${w.postId} ${w.decided}→${w.corrected}`).join(' ') })),
      json,
      ['id', 'label', 'fired', 'corrected', 'right', 'precision', 'wrong'],
    );
    return 0;
  } finally {
    await ctx.close();
  }
}
