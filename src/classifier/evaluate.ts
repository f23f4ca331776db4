/**
 * Evaluation of a ruleset on labeled posts: the pure part of `capture eval` and `capture diff`. Parses JSON
 * Lines text (no file I/O here), decides each post and computes precision, recall, F1, accuracy, the
 * confusion matrix and how often each rule was right.
 */
import { LABELS, PLATFORMS, type Label, type Platform } from '../types.js';
import { classify } from './classify.js';
import type { Ruleset } from './ruleset.js';
import type { ClassifierInput, Decision } from './types.js';

/** One labeled post of an evaluation set. */
export interface LabeledPost {
  id: string;
  input: ClassifierInput;
  /** The gold label after mapping; null in a set read without labels (diff on unlabeled posts). */
  label: Label | null;
  /** The label as the file wrote it, before mapping. */
  rawLabel: string | null;
  line: number;
  /** The post's fold for cross-validation (its `industry` or `domain`, or the field `--folds` names); absent when the row has none. */
  group?: string;
}

/**
 * How a dataset's own labels become lead/case/none: `{"complaint": "case", "not_complaint": "none"}`.
 * A label mapped to null is left out of the evaluation (an ambiguous class).
 */
export type LabelMap = Readonly<Record<string, Label | null>>;

export interface DatasetProblem {
  line: number;
  reason: string;
}

export interface Dataset {
  posts: LabeledPost[];
  /** Rows whose label the map drops (mapped to null). */
  skipped: number;
  problems: DatasetProblem[];
}

export interface ReadOptions {
  map?: LabelMap;
  /** Refuse rows without a usable label. @defaultValue true */
  requireLabels?: boolean;
  /**
   * The field that names a row's fold. `domain` reads `domain`, else `industry` (the eval sets use either).
   * @defaultValue `"domain"`
   */
  groupBy?: string;
}

/** A row's fold: the named field, where `domain` also reads `industry`. */
function groupOf(row: Record<string, unknown>, field: string): string | undefined {
  const value = field === 'domain' ? (row.domain ?? row.industry) : row[field];
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;
}

const isLabel = (x: unknown): x is Label => typeof x === 'string' && (LABELS as readonly string[]).includes(x);

/**
 * Parse labeled JSON Lines (`{"id","text","label"}`, optionally `platform`, `lang`, `in_reply_to`,
 * `author.followers`). Every row that cannot be used is reported with its 1-based line number; a label other
 * than lead/case/none is one of them unless the map names it.
 */
export function readLabeledJsonl(text: string, opts: ReadOptions = {}): Dataset {
  const requireLabels = opts.requireLabels ?? true;
  const posts: LabeledPost[] = [];
  const problems: DatasetProblem[] = [];
  let skipped = 0;
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let row: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      row = parsed as Record<string, unknown>;
    } catch {
      problems.push({ line, reason: 'not a JSON object' });
      return;
    }
    const id = typeof row.id === 'string' || typeof row.id === 'number' ? String(row.id) : null;
    if (id === null || id === '') return void problems.push({ line, reason: 'no "id"' });
    if (typeof row.text !== 'string') return void problems.push({ line, reason: `row ${JSON.stringify(id)}: no "text"` });

    const rawLabel = typeof row.label === 'string' ? row.label : null;
    let label: Label | null = null;
    if (rawLabel !== null && opts.map !== undefined && Object.hasOwn(opts.map, rawLabel)) {
      label = opts.map[rawLabel] ?? null;
      if (label === null) {
        skipped++;
        return;
      }
    } else if (isLabel(rawLabel)) {
      label = rawLabel;
    } else if (requireLabels) {
      const reason =
        rawLabel === null
          ? 'no "label"'
          : `label ${JSON.stringify(rawLabel)} is not lead, case or none${opts.map ? ' and the map does not name it' : " (map the dataset's labels with --map FILE.json)"}`;
      return void problems.push({ line, reason: `row ${JSON.stringify(id)}: ${reason}` });
    }

    const group = groupOf(row, opts.groupBy ?? 'domain');
    const platform: Platform = PLATFORMS.includes(row.platform as Platform) ? (row.platform as Platform) : 'twitter';
    const followers = (row.author as { followers?: unknown } | undefined)?.followers;
    posts.push({
      id,
      input: {
        text: row.text,
        platform,
        isReply: typeof row.in_reply_to === 'string' || row.is_reply === true,
        ...(typeof row.lang === 'string' ? { lang: row.lang } : {}),
        ...(typeof followers === 'number' ? { followers } : {}),
      },
      label,
      rawLabel,
      line,
      ...(group !== undefined ? { group } : {}),
    });
  });
  return { posts, skipped, problems };
}

/** Check a parsed `--map` file: an object of dataset label → lead, case, none or null. */
export function parseLabelMap(value: unknown): LabelMap | { error: string } {
  const labels = (value as { labels?: unknown } | null)?.labels ?? value;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    return { error: 'must be a JSON object mapping each dataset label to lead, case, none or null (or have such a "labels" object)' };
  }
  for (const [k, v] of Object.entries(labels)) {
    if (v !== null && !isLabel(v)) return { error: `label ${JSON.stringify(k)} maps to ${JSON.stringify(v)}: use lead, case, none or null` };
  }
  return labels as LabelMap;
}

export interface LabelScores {
  precision: number;
  recall: number;
  f1: number;
  /** Posts with this gold label. */
  support: number;
  /** Posts predicted with this label. */
  predicted: number;
}

export interface RuleStats {
  id: string;
  label: 'lead' | 'case';
  /** Posts the rule fired on. */
  hits: number;
  /**
   * Hits where the rule pointed the right way: a rule adding to its label on a post of that label, a rule
   * taking away (negative or flipped weight) on a post of another label.
   */
  right: number;
  /** right / hits (0 when it never fired). */
  precision: number;
}

export interface EvalReport {
  posts: number;
  labels: Record<Label, LabelScores>;
  /** Mean F1 of lead and case: `none` is the background class. */
  macro_f1: number;
  accuracy: number;
  /** confusion[gold][predicted] = posts. */
  confusion: Record<Label, Record<Label, number>>;
  /**
   * Case against everything else (lead and none together), as binary complaint sets are scored: F1 of each
   * side, their mean, and accuracy.
   */
  case_vs_rest: { f1_case: number; f1_rest: number; macro_f1: number; accuracy: number };
  /** Every rule of the ruleset, in file order, with how often it fired and was right. */
  rules: RuleStats[];
}

/** One post's line in `--predictions`. */
export interface Prediction {
  id: string;
  label: Label | null;
  predicted: Label;
  score: number;
  rules: string[];
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
const f1Of = (p: number, r: number): number => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

/**
 * Score decisions against gold labels. Pure: takes (gold, decision) pairs, so tests can feed tables.
 * Precision of a label never predicted, and recall of a label never present, are 0.
 */
export function scoreDecisions(pairs: readonly { gold: Label; decision: Decision }[], ruleset: Ruleset): EvalReport {
  const confusion = Object.fromEntries(LABELS.map((g) => [g, Object.fromEntries(LABELS.map((p) => [p, 0]))])) as Record<Label, Record<Label, number>>;
  const stats = new Map<string, RuleStats>(ruleset.rules.map((r) => [r.id, { id: r.id, label: r.label, hits: 0, right: 0, precision: 0 }]));
  for (const { gold, decision } of pairs) {
    confusion[gold][decision.label]++;
    for (const fired of decision.rules) {
      const s = stats.get(fired.id);
      if (s === undefined) continue;
      s.hits++;
      if (fired.weight > 0 === (gold === fired.label)) s.right++;
    }
  }
  const total = pairs.length;
  const labels = {} as Record<Label, LabelScores>;
  const f1 = {} as Record<Label, number>;
  for (const l of LABELS) {
    const tp = confusion[l][l];
    const support = LABELS.reduce((n, p) => n + confusion[l][p], 0);
    const predicted = LABELS.reduce((n, g) => n + confusion[g][l], 0);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    f1[l] = f1Of(precision, recall);
    labels[l] = { precision: round4(precision), recall: round4(recall), f1: round4(f1[l]), support, predicted };
  }
  const correct = LABELS.reduce((n, l) => n + confusion[l][l], 0);

  const caseTp = confusion.case.case;
  const caseGold = labels.case.support;
  const casePred = labels.case.predicted;
  const restTp = total - caseGold - casePred + caseTp;
  const f1Case = f1Of(ratio(caseTp, casePred), ratio(caseTp, caseGold));
  const f1Rest = f1Of(ratio(restTp, total - casePred), ratio(restTp, total - caseGold));

  for (const s of stats.values()) s.precision = round4(ratio(s.right, s.hits));
  return {
    posts: total,
    labels,
    macro_f1: round4((f1.lead + f1.case) / 2),
    accuracy: round4(ratio(correct, total)),
    confusion,
    case_vs_rest: {
      f1_case: round4(f1Case),
      f1_rest: round4(f1Rest),
      macro_f1: round4((f1Case + f1Rest) / 2),
      accuracy: round4(ratio(caseTp + restTp, total)),
    },
    rules: [...stats.values()],
  };
}

/** Decide every labeled post with the ruleset; `onProgress` is called with the count done. */
export function evaluate(
  posts: readonly LabeledPost[],
  ruleset: Ruleset,
  onProgress?: (done: number) => void,
): { report: EvalReport; predictions: Prediction[] } {
  const pairs: { gold: Label; decision: Decision }[] = [];
  const predictions: Prediction[] = [];
  posts.forEach((p, i) => {
    const decision = classify(p.input, ruleset);
    if (p.label !== null) pairs.push({ gold: p.label, decision });
    predictions.push({ id: p.id, label: p.label, predicted: decision.label, score: decision.score, rules: decision.rules.map((r) => r.id) });
    onProgress?.(i + 1);
  });
  return { report: scoreDecisions(pairs, ruleset), predictions };
}

/** A post whose label differs between two rulesets, and the rules that account for it. */
export interface Change {
  id: string;
  text: string;
  /** Gold label, when the set has one. */
  label: Label | null;
  old: { label: Label; score: number; rules: string[] };
  new: { label: Label; score: number; rules: string[] };
  /** Rules that fire only under the new ruleset, and only under the old one (by id), with their weights. */
  why: { added: { id: string; weight: number }[]; removed: { id: string; weight: number }[]; reweighted: { id: string; from: number; to: number }[] };
}

export interface DiffReport {
  posts: number;
  changed: number;
  /** Changes that now agree with the gold label, and changes that no longer do (labeled sets only). */
  fixed: number;
  broken: number;
  /** transitions["lead→none"] = posts. */
  transitions: Record<string, number>;
  changes: Change[];
}

/** Decide every post with both rulesets and explain each change of label. */
export function diffRulesets(posts: readonly LabeledPost[], oldRules: Ruleset, newRules: Ruleset, onProgress?: (done: number) => void): DiffReport {
  const changes: Change[] = [];
  const transitions: Record<string, number> = {};
  let fixed = 0;
  let broken = 0;
  posts.forEach((p, i) => {
    const a = classify(p.input, oldRules);
    const b = classify(p.input, newRules);
    onProgress?.(i + 1);
    if (a.label === b.label) return;
    const key = `${a.label}→${b.label}`;
    transitions[key] = (transitions[key] ?? 0) + 1;
    if (p.label !== null && b.label === p.label) fixed++;
    if (p.label !== null && a.label === p.label) broken++;
    const before = new Map(a.rules.map((r) => [r.id, r.weight]));
    const after = new Map(b.rules.map((r) => [r.id, r.weight]));
    changes.push({
      id: p.id,
      text: p.input.text,
      label: p.label,
      old: { label: a.label, score: a.score, rules: a.rules.map((r) => r.id) },
      new: { label: b.label, score: b.score, rules: b.rules.map((r) => r.id) },
      why: {
        added: b.rules.filter((r) => !before.has(r.id)).map((r) => ({ id: r.id, weight: r.weight })),
        removed: a.rules.filter((r) => !after.has(r.id)).map((r) => ({ id: r.id, weight: r.weight })),
        reweighted: b.rules
          .filter((r) => before.has(r.id) && before.get(r.id) !== r.weight)
          .map((r) => ({ id: r.id, from: before.get(r.id) as number, to: r.weight })),
      },
    });
  });
  return { posts: posts.length, changed: changes.length, fixed, broken, transitions, changes };
}
