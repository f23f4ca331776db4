import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { crossValidate, evaluate, loadRuleset, type LabeledPost } from '../classifier/index.js';
import { UsageError } from '../errors.js';
import { LABELS } from '../types.js';
import { formatCrossValidation, loadDataset, loadFeedbackPosts, loadLabelMap } from './labeled-data.js';
import { createProgress, progressBar } from './progress.js';

const USAGE = `usage: capture eval --rules FILE [--map FILE.json] [--predictions OUT.jsonl] [--folds domain|FIELD [--fit]] [--feedback] [--json] [DATA.jsonl]
  --folds domain  leave one fold out: per-fold and mean P/R/F1 for lead and case (fold = the row's domain or industry, or FIELD)
  --fit           with --folds: weights and thresholds fitted on the other folds, as capture tune would (held-out scores)
  --feedback      add the corrections stored in the database (fold "feedback"); DATA.jsonl is then optional`;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const fmt = (x: number) => x.toFixed(3);

/**
 * `capture eval --rules FILE DATA.jsonl`: decide every labeled post and print precision, recall and F1 per
 * label, macro-F1 over lead and case, accuracy, the confusion matrix and how often each rule was right.
 */
export async function evalCommand(args: string[], json: boolean): Promise<number> {
  if (args.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args,
    options: {
      rules: { type: 'string' },
      map: { type: 'string' },
      predictions: { type: 'string' },
      folds: { type: 'string' },
      fit: { type: 'boolean', default: false },
      feedback: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (!values.rules || positionals.length > 1 || (positionals.length === 0 && !values.feedback)) throw new UsageError(USAGE);
  if (values.fit && values.folds === undefined) throw new UsageError('--fit needs --folds: weights are fitted on the training folds');
  const file = positionals[0] ?? '(feedback)';
  const ruleset = loadRuleset(values.rules);
  const map = values.map === undefined ? undefined : loadLabelMap(values.map);
  const posts: LabeledPost[] = [];
  let skipped = 0;
  if (positionals[0] !== undefined) {
    const ds = loadDataset(positionals[0], { ...(map ? { map } : {}), quiet: json, ...(values.folds ? { groupBy: values.folds } : {}) });
    posts.push(...ds.posts);
    skipped = ds.skipped;
  }
  if (values.feedback) posts.push(...(await loadFeedbackPosts()));

  if (values.folds !== undefined) {
    const cv = crossValidate(posts, readFileSync(values.rules, 'utf8'), { fit: values.fit, origin: values.rules });
    if (json) {
      process.stdout.write(`${JSON.stringify({ file, rulesetVersion: ruleset.version, fitted: values.fit, skipped, ...cv }, null, 2)}\n`);
    } else {
      const how = values.fit ? 'weights and thresholds fitted on the other folds' : `rules as written (${ruleset.version})`;
      process.stdout.write(`${formatCrossValidation(cv, `${file}: leave one ${values.folds} out, ${how}`)}\n`);
    }
    return 0;
  }

  const progress = createProgress(!json, 2000);
  const { report, predictions } = evaluate(posts, ruleset, (n) => progress.update(`eval: ${progressBar(n, posts.length, 'posts')}`));
  progress.done();
  if (values.predictions) writeFileSync(values.predictions, predictions.map((p) => JSON.stringify(p)).join('\n') + (predictions.length ? '\n' : ''));

  if (json) {
    process.stdout.write(`${JSON.stringify({ file, rulesetVersion: ruleset.version, skipped, ...report }, null, 2)}\n`);
    return 0;
  }
  const out: string[] = [];
  out.push(`${file}: ${report.posts} posts${skipped ? ` (${skipped} skipped by the map)` : ''}, rules ${ruleset.version}`);
  out.push('');
  out.push('label  precision  recall  f1     support  predicted');
  for (const l of LABELS) {
    const s = report.labels[l];
    out.push(
      `${l.padEnd(5)}  ${fmt(s.precision).padEnd(9)}  ${fmt(s.recall).padEnd(6)}  ${fmt(s.f1)}  ${String(s.support).padStart(7)}  ${String(s.predicted).padStart(9)}`,
    );
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
    out.push(
      `  ${r.id.padEnd(width)}  ${r.label.padEnd(4)}  hits ${String(r.hits).padStart(4)}  right ${String(r.right).padStart(4)}${r.hits ? `  ${pct(r.precision)}` : ''}`,
    );
  }
  if (values.predictions) out.push('', `predictions: ${values.predictions}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
