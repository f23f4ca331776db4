import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { applyFit, crossValidate, fitRuleset, L2_GRID, PULL_GRID, parseRuleset, suggestTerms, type LabeledPost } from '../classifier/index.js';
import { UsageError } from '../errors.js';
import { DataError, formatCrossValidation, loadDataset, loadFeedbackPosts, loadLabelMap } from './labeled-data.js';

const USAGE = `usage: capture tune --data A.jsonl [--data B.jsonl ...] [--feedback] --rules IN.yaml --out OUT.yaml [--map M.json] [--folds domain|FIELD] [--l2 X] [--pull X] [--suggest] [--json]
  Fits each rule's weight and the lead/case thresholds (a logistic regression per label over the rules'
  activations, each weight pulled toward the weight IN gives it and kept on its author's side; the thresholds
  pulled toward IN's). Scores every fold held out (fitted on the others) before and after, and writes OUT only
  when the mean held-out macro-F1 is no worse. OUT is IN with new numbers.
  --l2 X         how hard weights are pulled toward IN's (default: chosen by leave-one-fold-out inside the
                 training folds, from ${L2_GRID.join(', ')}; 1000 keeps them as written)
  --pull X       the same for the thresholds (default: chosen the same way, from ${PULL_GRID.join(', ')})
  --folds FIELD  the field that names a row's fold (default domain: the row's domain or industry; a file
                 without one is a fold of its own, named after the file)
  --feedback     add the corrections stored in the database (fold "feedback")
  --suggest      also list words and phrases that tell lead or case apart in two or more folds, for a person to add`;

/** `capture tune`: fit weights and thresholds on labeled posts, validated fold by fold; refuses a worse ruleset. */
export async function tuneCommand(args: string[], json: boolean): Promise<number> {
  if (args.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args,
    options: {
      data: { type: 'string', multiple: true },
      rules: { type: 'string' },
      out: { type: 'string' },
      map: { type: 'string' },
      folds: { type: 'string', default: 'domain' },
      l2: { type: 'string' },
      pull: { type: 'string' },
      feedback: { type: 'boolean', default: false },
      suggest: { type: 'boolean', default: false },
    },
    allowPositionals: false,
    strict: true,
  });
  if (!values.rules || !values.out || positionals.length > 0 || ((values.data ?? []).length === 0 && !values.feedback)) throw new UsageError(USAGE);
  const l2 = values.l2 === undefined ? undefined : Number(values.l2);
  if (l2 !== undefined && !(l2 >= 0)) throw new UsageError('--l2 takes a number ≥ 0');
  const pull = values.pull === undefined ? undefined : Number(values.pull);
  if (pull !== undefined && !(pull >= 0)) throw new UsageError('--pull takes a number ≥ 0');

  const yamlText = readRules(values.rules);
  const ruleset = parseRuleset(yamlText, values.rules);
  const map = values.map === undefined ? undefined : loadLabelMap(values.map);
  const posts: LabeledPost[] = [];
  for (const file of values.data ?? []) {
    const ds = loadDataset(file, { ...(map ? { map } : {}), quiet: json, groupBy: values.folds });
    // A file without fold fields is one fold: several such files are validated one against the others.
    posts.push(...ds.posts.map((p) => (p.group === undefined ? { ...p, group: basename(file, '.jsonl') } : p)));
  }
  if (values.feedback) posts.push(...(await loadFeedbackPosts()));
  const folds = new Set(posts.map((p) => p.group));
  if (folds.size < 2) throw new DataError(`tune needs posts from two folds or more to validate on held-out data; found ${folds.size}`);

  const strengths = { ...(l2 !== undefined ? { l2 } : {}), ...(pull !== undefined ? { thresholdPull: pull } : {}) };
  const fitOpts = { origin: values.rules, ...strengths };
  const before = crossValidate(posts, yamlText, { ...fitOpts, fit: false });
  const after = crossValidate(posts, yamlText, { ...fitOpts, fit: true });
  const better = after.mean.macro_f1 >= before.mean.macro_f1;
  const fit = fitRuleset(posts, ruleset, strengths);
  if (better) writeFileSync(values.out, applyFit(yamlText, fit));
  const suggestions = values.suggest ? suggestTerms(posts, ruleset) : [];

  if (json) {
    process.stdout.write(`${JSON.stringify({ written: better ? values.out : null, before, after, fit, suggestions }, null, 2)}\n`);
  } else {
    const out = [
      formatCrossValidation(before, `before: ${values.rules} as written, each fold held out`),
      '',
      formatCrossValidation(after, 'after: weights and thresholds fitted on the other folds, each fold held out'),
      '',
      `mean held-out macro-F1 (lead, case): ${before.mean.macro_f1.toFixed(3)} → ${after.mean.macro_f1.toFixed(3)}`,
    ];
    if (suggestions.length > 0) {
      out.push('', 'suggested terms (not added; in posts of the label in 2+ folds, not in any rule):');
      for (const s of suggestions)
        out.push(
          `  ${s.label.padEnd(4)}  ${JSON.stringify(s.term).padEnd(24)}  ${s.inLabel} posts of the label, ${s.elsewhere} others, ${s.folds} folds, score ${s.score}`,
        );
    }
    out.push(
      '',
      better
        ? `wrote ${values.out} (fitted on all ${posts.length} posts; thresholds lead ${fit.thresholds.lead}, case ${fit.thresholds.case}; prior l2 ${fit.strength.l2}, pull ${fit.strength.thresholdPull}, ${fit.strength.chosenBy})`
        : `not written: the fitted rules score worse held out than ${values.rules} as written`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
  }
  if (!better) {
    process.stderr.write(
      `capture: tune refused to write ${values.out}: held-out macro-F1 ${after.mean.macro_f1.toFixed(3)} < ${before.mean.macro_f1.toFixed(3)}\n`,
    );
    return 1;
  }
  return 0;
}

function readRules(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new DataError(`${path}: cannot read: ${(err as Error).message}`);
  }
}
