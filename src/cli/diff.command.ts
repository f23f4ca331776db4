import { parseArgs } from 'node:util';
import { diffRulesets, loadRuleset } from '../classifier/index.js';
import { UsageError } from '../errors.js';
import { loadDataset, loadLabelMap } from './labeled-data.js';
import { createProgress, progressBar } from './progress.js';

const USAGE = 'usage: capture diff --rules OLD --against NEW [--map FILE.json] [--limit N] [--json] DATA.jsonl';

const oneLine = (text: string, max = 100) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/**
 * `capture diff --rules OLD --against NEW DATA.jsonl`: which posts change label between two rulesets, and
 * the rules that fire (or stop firing, or changed weight) to cause it. Labels in the data are optional;
 * when present, each change says whether it fixes or breaks the post.
 */
export async function diffCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { rules: { type: 'string' }, against: { type: 'string' }, map: { type: 'string' }, limit: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (!values.rules || !values.against || positionals.length !== 1) throw new UsageError(USAGE);
  const limit = values.limit === undefined ? Infinity : Number(values.limit);
  if (!(limit >= 1) || (limit !== Infinity && !Number.isInteger(limit))) throw new UsageError('--limit takes a whole number ≥ 1');
  const file = positionals[0]!;
  const oldRules = loadRuleset(values.rules);
  const newRules = loadRuleset(values.against);
  const map = values.map === undefined ? undefined : loadLabelMap(values.map);
  const ds = loadDataset(file, { ...(map ? { map } : {}), requireLabels: false, quiet: json });

  const progress = createProgress(!json, 2000);
  const report = diffRulesets(ds.posts, oldRules, newRules, (n) => progress.update(`diff: ${progressBar(n, ds.posts.length, 'posts')}`));
  progress.done();

  if (json) {
    process.stdout.write(`${JSON.stringify({ file, old: oldRules.version, new: newRules.version, ...report }, null, 2)}\n`);
    return 0;
  }
  const out: string[] = [];
  out.push(`${file}: ${report.posts} posts, ${report.changed} change label (${oldRules.version} → ${newRules.version})`);
  if (ds.posts.some((p) => p.label !== null)) out.push(`against the labels: ${report.fixed} fixed, ${report.broken} broken`);
  const transitions = Object.entries(report.transitions).sort((a, b) => b[1] - a[1]);
  if (transitions.length) out.push(`  ${transitions.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  for (const c of report.changes.slice(0, limit)) {
    const verdict = c.label === null ? '' : c.new.label === c.label ? '  fixed' : c.old.label === c.label ? '  broken' : '';
    out.push('');
    out.push(`${c.id}: ${c.old.label} → ${c.new.label}${c.label === null ? '' : ` (labeled ${c.label})`}${verdict}`);
    out.push(`  ${oneLine(c.text)}`);
    const why = [
      ...c.why.added.map((r) => `+${r.id} (${r.weight})`),
      ...c.why.removed.map((r) => `-${r.id} (${r.weight})`),
      ...c.why.reweighted.map((r) => `~${r.id} (${r.from} → ${r.to})`),
    ];
    out.push(`  why: ${why.length ? why.join(', ') : `same rules, thresholds differ (score ${c.old.score} → ${c.new.score})`}`);
  }
  if (report.changes.length > limit) out.push('', `… ${report.changes.length - limit} more (--limit, or --json for all)`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
