import { readFileSync } from 'node:fs';
import { parseLabelMap, readLabeledJsonl, type CrossValidation, type Dataset, type FoldScores, type LabeledPost, type LabelMap } from '../classifier/index.js';
import { feedbackExamples } from '../db/feedback.repo.js';
import { openContext } from './context.js';

// Bad rows listed on stderr before the rest are summed up: a wrong file would otherwise flood the terminal.
const SHOWN = 10;

/** A data file or map that cannot be used: one line, exit 1. */
export class DataError extends Error {
  override readonly name = 'DataError';
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new DataError(`${path}: cannot read: ${(err as Error).message}`);
  }
}

/** Read a `--map FILE.json` (dataset label → lead, case, none or null). */
export function loadLabelMap(path: string): LabelMap {
  let value: unknown;
  try {
    value = JSON.parse(readText(path));
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  const map = parseLabelMap(value);
  if ('error' in map && typeof map.error === 'string') throw new DataError(`${path}: ${map.error}`);
  return map as LabelMap;
}

/**
 * Read a labeled JSON Lines file. Rows that cannot be used are written to stderr as `FILE:LINE: reason`
 * (unless `quiet`), and the run is refused: scores on a silently shrunk set would mislead.
 */
export function loadDataset(path: string, opts: { map?: LabelMap; requireLabels?: boolean; quiet?: boolean; groupBy?: string }): Dataset {
  const ds = readLabeledJsonl(readText(path), opts);
  if (ds.problems.length > 0) {
    if (!opts.quiet) {
      for (const p of ds.problems.slice(0, SHOWN)) process.stderr.write(`${path}:${p.line}: ${p.reason}\n`);
      if (ds.problems.length > SHOWN) process.stderr.write(`${path}: … ${ds.problems.length - SHOWN} more\n`);
    }
    const first = ds.problems[0]!;
    throw new DataError(`${path}: ${ds.problems.length} row${ds.problems.length === 1 ? '' : 's'} refused (first: line ${first.line}: ${first.reason})`);
  }
  return ds;
}

/**
 * People's corrections stored in the database (`POST /api/posts/:id/feedback`), as labeled posts of the fold
 * `feedback`: the post's latest correction is its label.
 */
export async function loadFeedbackPosts(): Promise<LabeledPost[]> {
  const ctx = await openContext();
  try {
    const examples = await feedbackExamples(ctx.database.sql);
    return examples.map((e, i) => ({
      id: `post-${e.postId}`,
      input: { text: e.text, platform: e.platform, isReply: e.isReply, ...(e.lang ? { lang: e.lang } : {}) },
      label: e.label,
      rawLabel: e.label,
      line: i + 1,
      group: 'feedback',
    }));
  } finally {
    await ctx.close();
  }
}

const f3 = (x: number) => x.toFixed(3);

/** The per-fold table of a cross-validation: lead and case P/R/F1, macro-F1, case-vs-rest, then the mean and the pooled line. */
export function formatCrossValidation(cv: CrossValidation, title: string): string {
  const width = Math.max(6, ...cv.folds.map((f) => f.fold.length));
  const fitted = cv.folds.some((f) => f.strength !== undefined);
  const head = `${'fold'.padEnd(width)}  posts  lead P  lead R  lead F1  case P  case R  case F1  macro-F1  case-vs-rest F1  thresholds${fitted ? '  prior l2/pull' : ''}`;
  const row = (name: string, posts: string, s: Omit<FoldScores, 'fold' | 'posts' | 'thresholds' | 'strength'>, thresholds: string) =>
    `${name.padEnd(width)}  ${posts.padStart(5)}  ${f3(s.lead.precision)}   ${f3(s.lead.recall)}   ${f3(s.lead.f1)}    ${f3(s.case.precision)}   ${f3(s.case.recall)}   ${f3(s.case.f1)}    ${f3(s.macro_f1)}     ${f3(s.case_vs_rest.macro_f1)}            ${thresholds}`;
  const p = cv.pooled;
  const pooled = {
    lead: p.labels.lead,
    case: p.labels.case,
    macro_f1: p.macro_f1,
    case_vs_rest: p.case_vs_rest,
  };
  return [
    title,
    head,
    ...cv.folds.map((f) => {
      const prior = f.strength === undefined ? '' : `  ${f.strength.l2}/${f.strength.thresholdPull}`;
      return row(f.fold, String(f.posts), f, `${f.thresholds.lead}/${f.thresholds.case}`.padEnd(10) + prior);
    }),
    row('mean', '', cv.mean, ''),
    row('pooled', String(p.posts), pooled, ''),
  ].join('\n');
}
