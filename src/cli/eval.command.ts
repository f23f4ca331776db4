import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { evaluate, loadRuleset } from '../classifier/index.js';
import { UsageError } from '../errors.js';
import { LABELS } from '../types.js';
import { loadDataset, loadLabelMap } from './labeled-data.js';
import { createProgress, progressBar } from './progress.js';

const USAGE = 'usage: capture eval --rules FILE [--map FILE.json] [--predictions OUT.jsonl] [--json] DATA.jsonl';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const fmt = (x: number) => x.toFixed(3);

/**
 * `capture eval --rules FILE DATA.jsonl`: decide every labeled post and print precision, recall and F1 per
 * label, macro-F1 over lead and case, accuracy, the confusion matrix and how often each rule was right.
 */
export async function evalCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { rules: { type: 'string' }, map: { type: 'string' }, predictions: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (!values.rules || positionals.length !== 1) throw new UsageError(USAGE);
  const file = positionals[0]!;
  const ruleset = loadRuleset(values.rules);
  const map = values.map === undefined ? undefined : loadLabelMap(values.map);
  const ds = loadDataset(file, { ...(map ? { map } : {}), quiet: json });

  const progress = createProgress(!json, 2000);
  const { report, predictions } = evaluate(ds.posts, ruleset, (n) => progress.update(`eval: ${progressBar(n, ds.posts.length, 'posts')}`));
  progress.done();
  if (values.predictions) writeFileSync(values.predictions, predictions.map((p) => JSON.stringify(p)).join('\n') + (predictions.length ? '\n' : ''));

  if (json) {
    process.stdout.write(`${JSON.stringify({ file, rulesetVersion: ruleset.version, skipped: ds.skipped, ...report }, null, 2)}\n`);
    return 0;
  }
  const out: string[] = [];
  out.push(`${file}: ${report.posts} posts${ds.skipped ? ` (${ds.skipped} skipped by the map)` : ''}, rules ${ruleset.version}`);
  out.push('');
  out.push('label  precision  recall  f1     support  predicted');
  for (const l of LABELS) {
    const s = report.labels[l];
    out.push(`${l.padEnd(5)}  ${fmt(s.precision).padEnd(9)}  ${fmt(s.recall).padEnd(6)}  ${fmt(s.f1)}  ${String(s.support).padStart(7)}  ${String(s.predicted).padStart(9)}`);
  }
  out.push('');
  out.push(`macro-F1 (lead, case): ${fmt(report.macro_f1)}   accuracy: ${fmt(report.accuracy)}   case vs rest macro-F1: ${fmt(report.case_vs_rest.macro_f1)}`);
  out.push('');
  out.push('confusion (rows: labeled, columns: predicted)');
  out.push(`        ${LABELS.map((l) => l.padStart(6)).join('')}`);
  for (const g of LABELS) out.push(`  ${g.padEnd(6)}${LABELS.map((p) => String(report.confusion[g][p]).padStart(6)).join('')}`);
  out.push('');
  out.push('rules (hits: posts it fired on; right: it pointed the right way)');
  const width = Math.max(4, ...report.rules.map((r) => r.id.length));
  for (const r of report.rules) {
    out.push(`  ${r.id.padEnd(width)}  ${r.label.padEnd(4)}  hits ${String(r.hits).padStart(4)}  right ${String(r.right).padStart(4)}${r.hits ? `  ${pct(r.precision)}` : ''}`);
  }
  if (values.predictions) out.push('', `predictions: ${values.predictions}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
