import { parseArgs } from 'node:util';
import { loadRuleset } from '../classifier/index.js';
import { parseDuration } from '../config.js';
import { backtest } from '../db/backtest.repo.js';
import { UsageError } from '../errors.js';
import { LABELS } from '../types.js';
import { openContext } from './context.js';
import { createProgress, progressBar } from './progress.js';

const USAGE = 'usage: capture backtest --rules FILE [--since 7d|all] [--json]';

const oneLine = (text: string, max = 100) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/**
 * `capture backtest --rules FILE [--since 7d]`: re-decide the stored, processed posts with a ruleset without
 * writing anything, and say how many leads and cases would appear or disappear.
 */
export async function backtestCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { rules: { type: 'string' }, since: { type: 'string', default: '7d' } },
    allowPositionals: true,
    strict: true,
  });
  if (!values.rules || positionals.length > 0) throw new UsageError(USAGE);
  const parsed = parseDuration(values.since);
  const sinceMs = values.since === 'all' ? null : parsed;
  if (values.since !== 'all' && !(parsed !== null && parsed > 0)) {
    throw new UsageError(`--since takes a duration such as 24h or 7d, or "all" (got ${JSON.stringify(values.since)})`);
  }
  const ruleset = loadRuleset(values.rules);
  const ctx = await openContext();
  try {
    const progress = createProgress(!json, 2000);
    const report = await backtest(ctx.database.sql, ruleset, {
      sinceMs,
      onProgress: (done, total) => progress.update(`backtest: ${progressBar(done, total, 'posts')}`),
    });
    progress.done();
    if (json) {
      process.stdout.write(`${JSON.stringify({ since: values.since, ...report }, null, 2)}\n`);
      return 0;
    }
    const out: string[] = [];
    out.push(
      `${report.posts} processed posts received ${sinceMs === null ? 'ever' : `in the last ${values.since}`}, re-decided with ${report.rulesetVersion} (nothing written)`,
    );
    const versions = Object.entries(report.storedVersions)
      .map(([v, n]) => `${v} ${n}`)
      .join(', ');
    if (versions) out.push(`  stored decisions came from: ${versions}`);
    out.push('');
    out.push('         stored   now');
    for (const l of LABELS) out.push(`  ${l.padEnd(5)}  ${String(report.stored[l]).padStart(6)}  ${String(report.now[l]).padStart(4)}`);
    out.push('');
    out.push(`leads: ${report.leads.appear} would appear, ${report.leads.disappear} would disappear`);
    out.push(`cases: ${report.cases.appear} would appear, ${report.cases.disappear} would disappear`);
    const transitions = Object.entries(report.transitions).sort((a, b) => b[1] - a[1]);
    if (transitions.length) out.push(`changed: ${report.changed} (${transitions.map(([k, n]) => `${k} ${n}`).join(', ')})`);
    for (const e of report.examples) out.push(`  ${e.id}  ${e.from} → ${e.to}  [${e.rules.join(', ')}]  ${oneLine(e.text, 80)}`);
    if (report.changed > report.examples.length)
      out.push(`  … ${report.changed - report.examples.length} more (--json lists the first ${report.examples.length})`);
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  } finally {
    await ctx.close();
  }
}
