/**
 * Fitting a ruleset's weights and thresholds on labeled posts, and cross-validating by fold. Pure and
 * deterministic: the same posts and rules give the same weights (full-batch gradient descent from zero, a fixed
 * number of steps, posts in the order given). The output is the same YAML with new numbers, never a model file.
 */
import { isMap, isSeq, parseDocument } from 'yaml';
import type { Label } from '../types.js';
import { classify } from './classify.js';
import { evaluate, scoreDecisions, type EvalReport, type LabeledPost } from './evaluate.js';
import { normalizeText } from './normalize.js';
import { parseRuleset, type Ruleset } from './ruleset.js';
import type { Decision } from './types.js';

/** How to fit. */
export interface FitOptions {
  /** L2 penalty on the weights (not the bias): larger keeps weights near 0 and rules on equal footing. @defaultValue 0.02 */
  l2?: number;
  /** Gradient steps. @defaultValue 400 */
  steps?: number;
  /** Step size. @defaultValue 1 */
  rate?: number;
}

/** Fitted numbers for a ruleset: a weight per rule id and the two thresholds. */
export interface Fit {
  weights: Record<string, number>;
  thresholds: { lead: number; case: number };
}

/** A post's fired rules as (rule index, +1 or -1 when it fired negated), and its gold label. */
interface Example {
  gold: Label;
  active: [number, number][];
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
/** Thresholds must be positive: a post that fires nothing scores 0 and must stay `none`. */
const MIN_THRESHOLD = 0.05;

function examplesOf(posts: readonly LabeledPost[], ruleset: Ruleset): Example[] {
  const index = new Map(ruleset.rules.map((r, i) => [r.id, i]));
  return posts
    .filter((p): p is LabeledPost & { label: Label } => p.label !== null)
    .map((p) => ({
      gold: p.label,
      active: classify(p.input, ruleset).rules.map((f): [number, number] => [index.get(f.id) as number, f.negated ? -1 : 1]),
    }));
}

/**
 * One label's logistic regression over its rules' activations, each weight kept on the side its author gave it
 * (a rule written against a label never ends up arguing for it); a rule that sets a priority stays positive.
 */
function fitLabel(examples: readonly Example[], ruleset: Ruleset, label: 'lead' | 'case', opts: Required<FitOptions>): { w: Float64Array; bias: number } {
  const rules = ruleset.rules;
  const w = new Float64Array(rules.length);
  const sign = rules.map((r) => (r.weight < 0 ? -1 : 1));
  const floor = rules.map((r) => (r.priority !== undefined ? 0.01 : 0));
  let bias = 0;
  const n = Math.max(examples.length, 1);
  for (let step = 0; step < opts.steps; step++) {
    const grad = new Float64Array(rules.length);
    let gradBias = 0;
    for (const ex of examples) {
      let z = bias;
      for (const [i, x] of ex.active) if (rules[i]!.label === label) z += w[i]! * x;
      const err = sigmoid(z) - (ex.gold === label ? 1 : 0);
      gradBias += err;
      for (const [i, x] of ex.active) if (rules[i]!.label === label) grad[i]! += err * x;
    }
    bias -= (opts.rate * gradBias) / n;
    for (let i = 0; i < rules.length; i++) {
      if (rules[i]!.label !== label) continue;
      const next = w[i]! - opts.rate * (grad[i]! / n + opts.l2 * w[i]!);
      // Projected step: keep the author's sign (and a priority rule's positive weight).
      w[i] = sign[i]! > 0 ? Math.max(next, floor[i]!) : Math.min(next, 0);
    }
  }
  return { w, bias };
}

/** Macro-F1 (lead, case) of the labels the scores give at these thresholds, as classify decides. */
function macroAt(scores: readonly { gold: Label; lead: number; case: number }[], tLead: number, tCase: number): number {
  const tp = { lead: 0, case: 0 };
  const pred = { lead: 0, case: 0 };
  const gold = { lead: 0, case: 0 };
  for (const s of scores) {
    const leadWins = s.lead >= tLead;
    const caseWins = s.case >= tCase;
    const label: Label = caseWins && (!leadWins || s.case >= s.lead) ? 'case' : leadWins ? 'lead' : 'none';
    if (s.gold !== 'none') gold[s.gold]++;
    if (label !== 'none') {
      pred[label]++;
      if (label === s.gold) tp[label]++;
    }
  }
  const f1 = (l: 'lead' | 'case') => (pred[l] + gold[l] === 0 ? 0 : (2 * tp[l]) / (pred[l] + gold[l]));
  return (f1('lead') + f1('case')) / 2;
}

/** The thresholds (from a fixed grid) that maximise macro-F1 on the training posts; ties go to the higher one. */
function fitThresholds(scores: readonly { gold: Label; lead: number; case: number }[]): { lead: number; case: number } {
  const grid: number[] = [];
  for (let t = MIN_THRESHOLD; t <= 4; t += 0.05) grid.push(round2(t));
  let best = { lead: 1, case: 1, f: -1 };
  // Coordinate ascent from the middle, twice round: the two thresholds interact only through ties.
  let tLead = 1;
  let tCase = 1;
  for (let round = 0; round < 2; round++) {
    for (const t of grid) {
      const f = macroAt(scores, t, tCase);
      if (f >= best.f) best = { lead: t, case: tCase, f };
    }
    tLead = best.lead;
    for (const t of grid) {
      const f = macroAt(scores, tLead, t);
      if (f >= best.f) best = { lead: tLead, case: t, f };
    }
    tCase = best.case;
  }
  return { lead: best.lead, case: best.case };
}

/**
 * Fit every rule's weight and the lead and case thresholds on labeled posts: per label, an L2-regularised
 * logistic regression over the activations of that label's rules (+1 fired, -1 fired negated under `flip`),
 * then the thresholds that maximise macro-F1 on the same posts. Weights are rounded to 2 decimals.
 */
export function fitRuleset(posts: readonly LabeledPost[], ruleset: Ruleset, options: FitOptions = {}): Fit {
  const opts: Required<FitOptions> = { l2: options.l2 ?? 0.02, steps: options.steps ?? 400, rate: options.rate ?? 1 };
  const examples = examplesOf(posts, ruleset);
  const lead = fitLabel(examples, ruleset, 'lead', opts);
  const kase = fitLabel(examples, ruleset, 'case', opts);
  const weights: Record<string, number> = {};
  ruleset.rules.forEach((r, i) => {
    weights[r.id] = round2(r.label === 'lead' ? lead.w[i]! : kase.w[i]!);
  });
  const scores = examples.map((ex) => {
    let l = 0;
    let c = 0;
    for (const [i, x] of ex.active) {
      const r = ruleset.rules[i]!;
      if (r.label === 'lead') l += weights[r.id]! * x;
      else c += weights[r.id]! * x;
    }
    return { gold: ex.gold, lead: l, case: c };
  });
  return { weights, thresholds: fitThresholds(scores) };
}

/**
 * The rules file with the fitted numbers written in: comments, order and everything else as they were, so a
 * person can read and diff it. Throws when the text is not a rules file with a `rules` list.
 */
export function applyFit(yamlText: string, fit: Fit): string {
  const doc = parseDocument(yamlText);
  const rules = doc.get('rules');
  if (!isSeq(rules)) throw new TypeError('not a rules file: no "rules" list');
  for (const item of rules.items) {
    if (!isMap(item)) continue;
    const id = item.get('id');
    if (typeof id === 'string' && Object.hasOwn(fit.weights, id)) item.set('weight', fit.weights[id]);
  }
  doc.setIn(['thresholds', 'lead'], fit.thresholds.lead);
  doc.setIn(['thresholds', 'case'], fit.thresholds.case);
  return doc.toString({ lineWidth: 0 });
}

/** One held-out fold's scores. */
export interface FoldScores {
  fold: string;
  posts: number;
  lead: { precision: number; recall: number; f1: number };
  case: { precision: number; recall: number; f1: number };
  macro_f1: number;
  case_vs_rest: EvalReport['case_vs_rest'];
  /** The thresholds used on this fold (fitted on the other folds when fitting). */
  thresholds: { lead: number; case: number };
}

/** Cross-validated scores: each fold, their mean, and every held-out decision scored together. */
export interface CrossValidation {
  folds: FoldScores[];
  mean: Omit<FoldScores, 'fold' | 'posts' | 'thresholds'>;
  /** All held-out decisions scored as one set (each post decided by rules not fitted on its fold). */
  pooled: EvalReport;
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
const meanOf = (xs: readonly number[]): number => round4(xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1));
const pick = (s: { precision: number; recall: number; f1: number }) => ({ precision: s.precision, recall: s.recall, f1: s.f1 });

/** The folds of a set, in first-seen order. Throws naming the first post without one. */
export function foldsOf(posts: readonly LabeledPost[]): string[] {
  const folds: string[] = [];
  for (const p of posts) {
    if (p.group === undefined) throw new TypeError(`post ${p.id} (line ${p.line}) has no fold field`);
    if (!folds.includes(p.group)) folds.push(p.group);
  }
  return folds;
}

/**
 * Leave one fold out: for each fold, decide its posts with the ruleset as it is (`fit` false) or with weights and
 * thresholds fitted on the OTHER folds only (`fit` true), and score them.
 */
export function crossValidate(posts: readonly LabeledPost[], yamlText: string, opts: { fit: boolean; origin?: string } & FitOptions): CrossValidation {
  const base = parseRuleset(yamlText, opts.origin);
  const folds = foldsOf(posts);
  const scored: FoldScores[] = [];
  const pooled: { gold: Label; decision: Decision }[] = [];
  for (const fold of folds) {
    const test = posts.filter((p) => p.group === fold);
    let ruleset = base;
    if (opts.fit) {
      const train = posts.filter((p) => p.group !== fold);
      ruleset = parseRuleset(applyFit(yamlText, fitRuleset(train, base, opts)), opts.origin);
    }
    const { report } = evaluate(test, ruleset);
    for (const p of test) if (p.label !== null) pooled.push({ gold: p.label, decision: classify(p.input, ruleset) });
    scored.push({
      fold,
      posts: report.posts,
      lead: pick(report.labels.lead),
      case: pick(report.labels.case),
      macro_f1: report.macro_f1,
      case_vs_rest: report.case_vs_rest,
      thresholds: { ...ruleset.thresholds },
    });
  }
  const avg = (f: (s: FoldScores) => number) => meanOf(scored.map(f));
  return {
    folds: scored,
    mean: {
      lead: { precision: avg((s) => s.lead.precision), recall: avg((s) => s.lead.recall), f1: avg((s) => s.lead.f1) },
      case: { precision: avg((s) => s.case.precision), recall: avg((s) => s.case.recall), f1: avg((s) => s.case.f1) },
      macro_f1: avg((s) => s.macro_f1),
      case_vs_rest: {
        f1_case: avg((s) => s.case_vs_rest.f1_case),
        f1_rest: avg((s) => s.case_vs_rest.f1_rest),
        macro_f1: avg((s) => s.case_vs_rest.macro_f1),
        accuracy: avg((s) => s.case_vs_rest.accuracy),
      },
    },
    pooled: scoreDecisions(pooled, base),
  };
}

/** A term mined from labeled posts for a person to consider adding to a rule. */
export interface SuggestedTerm {
  term: string;
  label: 'lead' | 'case';
  /** Posts of the label that hold it, and posts of other labels that do. */
  inLabel: number;
  elsewhere: number;
  /** The folds (domains) whose posts of the label hold it: a term from one domain's wording is not suggested. */
  folds: number;
  /** Smoothed log-odds of the label given the term, against the label's base rate. */
  score: number;
}

const STOP = new Set([
  'the',
  'a',
  'an',
  'and',
  'or',
  'to',
  'of',
  'in',
  'on',
  'for',
  'is',
  'it',
  'my',
  'i',
  'you',
  'your',
  'me',
  'we',
  'this',
  'that',
  'with',
  'at',
  'be',
  'de',
  'la',
  'el',
  'le',
  'die',
  'der',
  'und',
]);

/** The ruleset's phrases as token sequences, to leave out of suggestions. */
function knownTerms(ruleset: Ruleset): Set<string> {
  const known = new Set<string>();
  const add = (list: readonly string[] | Readonly<Record<string, readonly string[]>> | undefined) => {
    const terms = list === undefined ? [] : Array.isArray(list) ? list : Object.values(list).flat();
    for (const t of terms as string[])
      known.add(
        normalizeText(t)
          .tokens.map((x) => x.value)
          .join(' '),
      );
  };
  for (const r of ruleset.rules) {
    add(r.any);
    add(r.all);
  }
  return known;
}

/**
 * Words and two-word phrases that tell a label apart in the posts, found in at least `minFolds` folds and
 * `minCount` posts of the label, not already in a rule: candidates for a person to accept, never added by
 * themselves.
 *
 * @param top - most suggestions per label. @defaultValue 15
 */
export function suggestTerms(
  posts: readonly LabeledPost[],
  ruleset: Ruleset,
  opts: { top?: number; minCount?: number; minFolds?: number } = {},
): SuggestedTerm[] {
  const top = opts.top ?? 15;
  const minCount = opts.minCount ?? 4;
  const minFolds = opts.minFolds ?? 2;
  const known = knownTerms(ruleset);
  const stats = new Map<string, { lead: number; case: number; none: number; folds: Record<'lead' | 'case', Set<string>> }>();
  const totals = { lead: 0, case: 0, none: 0 };
  for (const p of posts) {
    if (p.label === null) continue;
    totals[p.label]++;
    const values = normalizeText(p.input.text).tokens.map((t) => t.value);
    const grams = new Set<string>();
    values.forEach((v, i) => {
      if (!STOP.has(v) && v.length > 2 && !/^\d+$/.test(v)) grams.add(v);
      const next = values[i + 1];
      if (next !== undefined && !(STOP.has(v) && STOP.has(next))) grams.add(`${v} ${next}`);
    });
    for (const g of grams) {
      let s = stats.get(g);
      if (s === undefined) stats.set(g, (s = { lead: 0, case: 0, none: 0, folds: { lead: new Set(), case: new Set() } }));
      s[p.label]++;
      if (p.label !== 'none') s.folds[p.label].add(p.group ?? '');
    }
  }
  const all = totals.lead + totals.case + totals.none;
  const out: SuggestedTerm[] = [];
  for (const label of ['lead', 'case'] as const) {
    const prior = Math.log((totals[label] + 1) / (all - totals[label] + 1));
    const found: SuggestedTerm[] = [];
    for (const [term, s] of stats) {
      const elsewhere = s.lead + s.case + s.none - s[label];
      if (s[label] < minCount || s.folds[label].size < minFolds || known.has(term)) continue;
      const score = Math.log((s[label] + 0.5) / (elsewhere + 0.5)) - prior;
      if (score > 1) found.push({ term, label, inLabel: s[label], elsewhere, folds: s.folds[label].size, score: Math.round(score * 100) / 100 });
    }
    found.sort((a, b) => b.score - a.score || b.inLabel - a.inLabel || a.term.localeCompare(b.term));
    out.push(...found.slice(0, top));
  }
  return out;
}
