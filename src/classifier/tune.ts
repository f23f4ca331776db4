/**
 * Fitting a ruleset's weights and thresholds on labeled posts, and cross-validating by fold. Pure and
 * deterministic: the same posts and rules give the same weights (cyclic coordinate descent from the written
 * weights, a fixed number of sweeps, posts in the order given, strengths from a fixed grid). The output is the
 * same YAML with new numbers, never a model file.
 */
import { isMap, isSeq, parseDocument } from 'yaml';
import type { Label } from '../types.js';
import { classify } from './classify.js';
import { evaluate, scoreDecisions, type EvalReport, type LabeledPost } from './evaluate.js';
import { normalizeText } from './normalize.js';
import { parseRuleset, type Ruleset } from './ruleset.js';
import type { Decision } from './types.js';

/** How to fit. Strengths left unset are chosen by cross-validation inside the training posts' folds. */
export interface FitOptions {
  /**
   * Strength of the pull of each weight toward the weight its author wrote (a Gaussian prior centred there, not
   * on 0): large keeps the rules as written, small lets the data move them. Unset: chosen from {@link L2_GRID}
   * by inner cross-validation over the training folds.
   */
  l2?: number;
  /** Strength of the pull of the thresholds toward the written ones. Unset: chosen from {@link PULL_GRID} the same way. */
  thresholdPull?: number;
  /** Sweeps of coordinate descent. @defaultValue 100 */
  sweeps?: number;
}

/** Fitted numbers for a ruleset: a weight per rule id, the two thresholds, and the strengths that gave them. */
export interface Fit {
  weights: Record<string, number>;
  thresholds: { lead: number; case: number };
  strength: Strength;
}

/** The prior strengths a fit used and where they came from. */
export interface Strength {
  l2: number;
  thresholdPull: number;
  /**
   * `inner-cv`: the best pooled macro-F1 over the training posts' folds, each decided by a fit on the others;
   * `given`: both set by the caller; `default`: the training posts hold one fold, too few to cross-validate.
   */
  chosenBy: 'inner-cv' | 'given' | 'default';
  /**
   * With `inner-cv`: the pooled held-out score of the chosen strengths inside the training folds (macro-F1 of lead
   * and case; case-vs-rest macro-F1 when the posts hold no lead).
   */
  innerMacroF1?: number;
}

/**
 * Prior strengths tried by inner cross-validation, strongest first: ties go to the strongest, the rules as
 * written. 1000 pins every weight to its written value (a move of 0.005 is too dear for any data).
 */
export const L2_GRID: readonly number[] = [1000, 1, 0.3, 0.1, 0.03, 0.01, 0.003];
/** Threshold pulls tried, strongest first; 0 picks the thresholds best on the training posts alone. */
export const PULL_GRID: readonly number[] = [1000, 4, 1, 0.25, 0];
/** Strengths used when the training posts hold a single fold and cannot be cross-validated. */
const DEFAULT_STRENGTH = { l2: 0.1, thresholdPull: 1 };
/**
 * The logistic model reads a label's score in the ruleset's own units: P(label) = σ(K · (score − t)). With K = 4
 * a post one full weight over its threshold is 98% sure and one half a weight under it 12%, as the rules file
 * reads its weights ("1.0 decides alone, 0.5 needs company"). This is what makes the written weights a prior mean.
 */
const K = 4;

/** A post's fired rules as (rule index, +1 or -1 when it fired negated), its gold label and its fold. */
interface Example {
  gold: Label;
  group: string;
  active: [number, number][];
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round9 = (x: number): number => Math.round(x * 1e9) / 1e9;
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
/** Thresholds must be positive: a post that fires nothing scores 0 and must stay `none`. */
const MIN_THRESHOLD = 0.05;

/** Decide every post once with the written rules: which rules fire does not depend on their weights. */
function examplesOf(posts: readonly LabeledPost[], ruleset: Ruleset): Example[] {
  const index = new Map(ruleset.rules.map((r, i) => [r.id, i]));
  return posts
    .filter((p): p is LabeledPost & { label: Label } => p.label !== null)
    .map((p) => ({
      gold: p.label,
      group: p.group ?? '',
      active: classify(p.input, ruleset).rules.map((f): [number, number] => [index.get(f.id) as number, f.negated ? -1 : 1]),
    }));
}

/**
 * One label's weights: a logistic regression over that label's rule activations, P = σ(K·(Σ w·x − t)), with a
 * Gaussian prior of strength `l2` centred on each written weight (the intercept t is free). Cyclic coordinate
 * descent, each step the minimum of a quadratic bound on the loss along that coordinate, so every step lowers
 * the loss. Each weight stays on the side its author gave it (a rule written against a label is switched off
 * at 0, never turned round); a rule that sets a priority stays positive.
 */
function fitLabel(examples: readonly Example[], ruleset: Ruleset, label: 'lead' | 'case', l2: number, sweeps: number): Float64Array {
  const rules = ruleset.rules;
  const prior = rules.map((r) => r.weight);
  const w = Float64Array.from(prior);
  const n = Math.max(examples.length, 1);
  // For each rule of the label, the posts it fired on and with which sign.
  const postsOf: [number, number][][] = rules.map(() => []);
  const score = new Float64Array(examples.length);
  examples.forEach((ex, e) => {
    for (const [i, x] of ex.active) {
      if (rules[i]!.label !== label) continue;
      postsOf[i]!.push([e, x]);
      score[e]! += w[i]! * x;
    }
  });
  const y = examples.map((ex) => (ex.gold === label ? 1 : 0));
  let t = ruleset.thresholds[label];
  for (let sweep = 0; sweep < sweeps; sweep++) {
    for (let i = 0; i < rules.length; i++) {
      const fired = postsOf[i]!;
      if (fired.length === 0) continue;
      let grad = 0;
      for (const [e, x] of fired) grad += (sigmoid(K * (score[e]! - t)) - y[e]!) * K * x;
      // σ' ≤ 1/4, so K²/4 per post bounds the curvature along this weight.
      const curvature = (K * K * fired.length) / (4 * n) + l2;
      let next = w[i]! - (grad / n + l2 * (w[i]! - prior[i]!)) / curvature;
      next = prior[i]! < 0 ? Math.min(next, 0) : Math.max(next, rules[i]!.priority !== undefined ? 0.01 : 0);
      const delta = next - w[i]!;
      if (delta === 0) continue;
      w[i] = next;
      for (const [e, x] of fired) score[e]! += delta * x;
    }
    let gradT = 0;
    for (let e = 0; e < examples.length; e++) gradT -= (sigmoid(K * (score[e]! - t)) - y[e]!) * K;
    t -= gradT / n / ((K * K) / 4);
  }
  return w;
}

interface Scored {
  gold: Label;
  lead: number;
  case: number;
}

/** Each example's lead and case scores under these weights, summed as classify sums them. */
function scoresOf(examples: readonly Example[], ruleset: Ruleset, weights: readonly number[]): Scored[] {
  return examples.map((ex) => {
    let l = 0;
    let c = 0;
    for (const [i, x] of ex.active) {
      if (ruleset.rules[i]!.label === 'lead') l += weights[i]! * x;
      else c += weights[i]! * x;
    }
    return { gold: ex.gold, lead: round9(l), case: round9(c) };
  });
}

interface Thresholds {
  lead: number;
  case: number;
}

/**
 * What fitting maximises: macro-F1 of lead and case; or, on posts with no lead at all (a complaint set),
 * case-vs-rest macro-F1, since there lead's F1 is 0 whatever the weights and case's F1 alone ignores false alarms.
 */
type Objective = 'macro' | 'case-vs-rest';

const objectiveOf = (examples: readonly Example[]): Objective => (examples.some((e) => e.gold === 'lead') ? 'macro' : 'case-vs-rest');

/** Decisions against gold labels, counted: enough for either objective. */
interface Counts {
  n: number;
  tp: { lead: number; case: number };
  pred: { lead: number; case: number };
  gold: { lead: number; case: number };
}

const decide = (s: Scored, leadWins: boolean, caseWins: boolean): Label => (caseWins && (!leadWins || s.case >= s.lead) ? 'case' : leadWins ? 'lead' : 'none');

function countsOf(scores: readonly Scored[]): Counts {
  const c: Counts = { n: scores.length, tp: { lead: 0, case: 0 }, pred: { lead: 0, case: 0 }, gold: { lead: 0, case: 0 } };
  for (const s of scores) if (s.gold !== 'none') c.gold[s.gold]++;
  return c;
}

/** Count (`sign` 1) or uncount (-1) one post decided as `label`. */
function tally(c: Counts, s: Scored, label: Label, sign: number): void {
  if (label === 'none') return;
  c.pred[label] += sign;
  if (label === s.gold) c.tp[label] += sign;
}

function objectiveOfCounts(c: Counts, objective: Objective): number {
  const f1 = (l: 'lead' | 'case') => (c.pred[l] + c.gold[l] === 0 ? 0 : (2 * c.tp[l]) / (c.pred[l] + c.gold[l]));
  if (objective === 'macro') return (f1('lead') + f1('case')) / 2;
  const restTp = c.n - c.gold.case - c.pred.case + c.tp.case;
  const restF1 = 2 * c.n - c.gold.case - c.pred.case === 0 ? 0 : (2 * restTp) / (2 * c.n - c.gold.case - c.pred.case);
  return (f1('case') + restF1) / 2;
}

/** The objective's value for the labels the scores give, each post at its thresholds, decided as classify decides. */
function macroOf(scores: readonly Scored[], thresholdsOf: (k: number) => Thresholds, objective: Objective): number {
  const c = countsOf(scores);
  scores.forEach((s, k) => {
    const t = thresholdsOf(k);
    tally(c, s, decide(s, s.lead >= t.lead, s.case >= t.case), 1);
  });
  return objectiveOfCounts(c, objective);
}

const THRESHOLD_GRID: readonly number[] = Array.from({ length: 80 }, (_, i) => round2(MIN_THRESHOLD + i * 0.05));

/**
 * The objective at every threshold of the grid for one label, the other label's threshold fixed. One pass over
 * the posts sorted by that label's score, from the top of the grid down: a post switches once, when the threshold
 * falls to its score, from its decision under the threshold to its decision over it.
 */
function objectiveAlong(scores: readonly Scored[], axis: 'lead' | 'case', fixed: number, objective: Objective): number[] {
  const under = (s: Scored) => (axis === 'lead' ? decide(s, false, s.case >= fixed) : decide(s, s.lead >= fixed, false));
  const over = (s: Scored) => (axis === 'lead' ? decide(s, true, s.case >= fixed) : decide(s, s.lead >= fixed, true));
  const c = countsOf(scores);
  for (const s of scores) tally(c, s, under(s), 1);
  const order = scores.map((_, k) => k).sort((x, y) => scores[y]![axis] - scores[x]![axis]);
  const out: number[] = new Array(THRESHOLD_GRID.length);
  let next = 0;
  for (let g = THRESHOLD_GRID.length - 1; g >= 0; g--) {
    const t = THRESHOLD_GRID[g]!;
    for (; next < order.length && scores[order[next]!]![axis] >= t; next++) {
      const s = scores[order[next]!]!;
      tally(c, s, under(s), -1);
      tally(c, s, over(s), 1);
    }
    out[g] = objectiveOfCounts(c, objective);
  }
  return out;
}

/**
 * The thresholds (from a fixed grid, plus the written ones) that maximise macro-F1 on the training scores less
 * `pull` × the squared distance from the written thresholds; ties go to the nearer the written ones.
 */
function fitThresholds(scores: readonly Scored[], written: Thresholds, pull: number, objective: Objective): Thresholds {
  const cost = (l: number, c: number) => pull * ((l - written.lead) ** 2 + (c - written.case) ** 2);
  let best = { lead: written.lead, case: written.case, f: macroOf(scores, () => written, objective) };
  const consider = (l: number, c: number, value: number) => {
    const f = value - cost(l, c);
    if (f > best.f || (f === best.f && cost(l, c) < cost(best.lead, best.case))) best = { lead: l, case: c, f };
  };
  // Coordinate ascent from the written thresholds, twice round: the two interact only through ties.
  for (let round = 0; round < 2; round++) {
    const tCase = best.case;
    const alongLead = objectiveAlong(scores, 'lead', tCase, objective);
    THRESHOLD_GRID.forEach((t, g) => {
      consider(t, tCase, alongLead[g]!);
    });
    const tLead = best.lead;
    const alongCase = objectiveAlong(scores, 'case', tLead, objective);
    THRESHOLD_GRID.forEach((t, g) => {
      consider(tLead, t, alongCase[g]!);
    });
  }
  return { lead: best.lead, case: best.case };
}

/** Both labels' weights at one prior strength, rounded as they are written. */
function fitWeights(examples: readonly Example[], ruleset: Ruleset, l2: number, sweeps: number): number[] {
  const lead = fitLabel(examples, ruleset, 'lead', l2, sweeps);
  const kase = fitLabel(examples, ruleset, 'case', l2, sweeps);
  return ruleset.rules.map((r, i) => round2(r.label === 'lead' ? lead[i]! : kase[i]!));
}

/**
 * Choose the prior strengths by leave-one-fold-out inside the given (training) examples: for each strength on the
 * grids, each fold is decided by weights and thresholds fitted on the others, and the choice is the best pooled
 * macro-F1 of those decisions (pooled, so false alarms in a fold with no case still count). Ties go to the
 * stronger pull. Nothing outside `examples` is read.
 */
function chooseStrength(examples: readonly Example[], ruleset: Ruleset, opts: FitOptions, sweeps: number, objective: Objective): Strength {
  const folds = [...new Set(examples.map((e) => e.group))];
  if (opts.l2 !== undefined && opts.thresholdPull !== undefined) return { l2: opts.l2, thresholdPull: opts.thresholdPull, chosenBy: 'given' };
  if (folds.length < 2) return { l2: opts.l2 ?? DEFAULT_STRENGTH.l2, thresholdPull: opts.thresholdPull ?? DEFAULT_STRENGTH.thresholdPull, chosenBy: 'default' };
  const l2s = opts.l2 !== undefined ? [opts.l2] : L2_GRID;
  const pulls = opts.thresholdPull !== undefined ? [opts.thresholdPull] : PULL_GRID;
  // pooled[l2][pull]: every inner held-out example's scores and the thresholds it is decided with.
  const pooled = l2s.map(() => pulls.map(() => ({ scores: [] as Scored[], thresholds: [] as Thresholds[] })));
  for (const fold of folds) {
    const train = examples.filter((e) => e.group !== fold);
    const test = examples.filter((e) => e.group === fold);
    l2s.forEach((l2, a) => {
      const weights = fitWeights(train, ruleset, l2, sweeps);
      const trainScores = scoresOf(train, ruleset, weights);
      const testScores = scoresOf(test, ruleset, weights);
      pulls.forEach((pull, b) => {
        const t = fitThresholds(trainScores, ruleset.thresholds, pull, objective);
        const held = pooled[a]![b]!;
        for (const s of testScores) {
          held.scores.push(s);
          held.thresholds.push(t);
        }
      });
    });
  }
  let best = { l2: l2s[0]!, pull: pulls[0]!, f: -1 };
  l2s.forEach((l2, a) => {
    pulls.forEach((pull, b) => {
      const held = pooled[a]![b]!;
      const f = macroOf(held.scores, (k) => held.thresholds[k]!, objective);
      if (f > best.f) best = { l2, pull, f };
    });
  });
  return { l2: best.l2, thresholdPull: best.pull, chosenBy: 'inner-cv', innerMacroF1: round4(best.f) };
}

function fitExamples(examples: readonly Example[], ruleset: Ruleset, options: FitOptions): Fit {
  const sweeps = options.sweeps ?? 100;
  const objective = objectiveOf(examples);
  const strength = chooseStrength(examples, ruleset, options, sweeps, objective);
  const w = fitWeights(examples, ruleset, strength.l2, sweeps);
  const weights: Record<string, number> = {};
  ruleset.rules.forEach((r, i) => {
    weights[r.id] = w[i]!;
  });
  const thresholds = fitThresholds(scoresOf(examples, ruleset, w), ruleset.thresholds, strength.thresholdPull, objective);
  return { weights, thresholds, strength };
}

/**
 * Fit every rule's weight and the lead and case thresholds on labeled posts. Per label, a logistic regression
 * over the activations of that label's rules (+1 fired, -1 fired negated under `flip`) with a Gaussian prior
 * centred on the weights as written; then the thresholds that maximise macro-F1 on the same posts, pulled toward
 * the written ones. The two strengths, unless given, are chosen by leave-one-fold-out over the posts' folds
 * (their `group`), so they are what carried over to a fold not seen. Weights are rounded to 2 decimals.
 */
export function fitRuleset(posts: readonly LabeledPost[], ruleset: Ruleset, options: FitOptions = {}): Fit {
  return fitExamples(examplesOf(posts, ruleset), ruleset, options);
}

/**
 * The rules file with the fitted numbers written in: comments, order and everything else as they were, so a
 * person can read and diff it. Throws when the text is not a rules file with a `rules` list.
 */
export function applyFit(yamlText: string, fit: Pick<Fit, 'weights' | 'thresholds'>): string {
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
  /** When fitting: the prior strengths, chosen inside the other folds only. */
  strength?: Strength;
}

/** Cross-validated scores: each fold, their mean, and every held-out decision scored together. */
export interface CrossValidation {
  folds: FoldScores[];
  mean: Omit<FoldScores, 'fold' | 'posts' | 'thresholds' | 'strength'>;
  /** All held-out decisions scored as one set (each post decided by rules not fitted on its fold). */
  pooled: EvalReport;
}

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
  // Which rules fire on a post does not depend on weights: decide each post once, fit on those.
  const examples = opts.fit ? examplesOf(posts, base) : [];
  const scored: FoldScores[] = [];
  const pooled: { gold: Label; decision: Decision }[] = [];
  for (const fold of folds) {
    const test = posts.filter((p) => p.group === fold);
    let ruleset = base;
    let strength: Strength | undefined;
    if (opts.fit) {
      const fit = fitExamples(
        examples.filter((e) => e.group !== fold),
        base,
        opts,
      );
      strength = fit.strength;
      ruleset = parseRuleset(applyFit(yamlText, fit), opts.origin);
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
      ...(strength !== undefined ? { strength } : {}),
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
