import { describe, expect, it } from 'vitest';
import {
  applyFit,
  classify,
  crossValidate,
  evaluate,
  fitRuleset,
  foldsOf,
  parseRuleset,
  readLabeledJsonl,
  type LabeledPost,
} from '../../src/classifier/index.js';

const RULES = `# a comment that must survive tuning
name: tune-test
thresholds: { lead: 1, case: 1 }
rules:
  - id: price
    label: lead
    weight: 1
    any: [price]
  - id: weather   # fires on every post, whatever its label: worth nothing
    label: lead
    weight: 1
    any: [today]
  - id: broken
    label: case
    weight: 0.3
    any: [broken]
    priority: high
  - id: not-buying
    label: lead
    weight: -1
    any: [just looking]
`;

/** Posts as JSON Lines rows: [fold, text, label]. */
function posts(rows: [string, string, string][]): LabeledPost[] {
  const text = rows.map(([domain, t, label], i) => JSON.stringify({ id: `p${i}`, domain, text: t, label })).join('\n');
  const ds = readLabeledJsonl(text);
  expect(ds.problems).toEqual([]);
  return ds.posts;
}

const repeat = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

const TRAIN = posts([
  ...repeat(6, (i): [string, string, string] => ['a', `what is the price today ${i}`, 'lead']),
  ...repeat(6, (i): [string, string, string] => ['a', `my phone is broken today ${i}`, 'case']),
  ...repeat(6, (i): [string, string, string] => ['a', `nice weather today ${i}`, 'none']),
  ...repeat(3, (i): [string, string, string] => ['a', `price today, just looking ${i}`, 'none']),
]);

describe('fitRuleset', () => {
  it('weights the rules that tell labels apart and keeps each on the side its author gave it', () => {
    const base = parseRuleset(RULES);
    const fit = fitRuleset(TRAIN, base);
    expect(fit.weights.price!).toBeGreaterThan(fit.weights.weather!);
    expect(fit.weights.broken!).toBeGreaterThan(0.3);
    // A rule written against a label stays against it; a priority rule stays positive.
    expect(fit.weights['not-buying']!).toBeLessThan(0);
    const tuned = parseRuleset(applyFit(RULES, fit));
    // On the posts it was fitted on, every label comes out right (the weather rule alone no longer makes a lead).
    for (const p of TRAIN) expect([p.input.text, classify(p.input, tuned).label]).toEqual([p.input.text, p.label]);
  });

  it('a rule the data contradicts is switched off (weight 0), never turned around', () => {
    const base = parseRuleset(RULES);
    // With "just looking" a price post is a lead 20 times in 23; without it, 6 times in 12.
    const contradicting = posts([
      ...repeat(20, (i): [string, string, string] => ['a', `just looking at the price today ${i}`, 'lead']),
      ...repeat(6, (i): [string, string, string] => ['a', `the price today ${i}`, 'none']),
    ]);
    // A weak pull toward the written -1, so the data can win.
    expect(fitRuleset([...TRAIN, ...contradicting], base, { l2: 0.001, thresholdPull: 0 }).weights['not-buying']).toBe(0);
  });

  it('pulls each weight toward the weight as written, not toward 0, as hard as l2 says', () => {
    const base = parseRuleset(RULES);
    // "just looking" never occurs in these posts: no evidence, so its weight stays where its author put it.
    const noLooking = TRAIN.filter((p) => !p.input.text.includes('just looking'));
    for (const l2 of [0.003, 0.1, 1]) expect(fitRuleset(noLooking, base, { l2, thresholdPull: 0 }).weights['not-buying']).toBe(-1);
    // A pull too strong for any data gives back the rules as written, thresholds included.
    const pinned = fitRuleset(TRAIN, base, { l2: 1000, thresholdPull: 1000 });
    expect(pinned.weights).toEqual({ price: 1, weather: 1, broken: 0.3, 'not-buying': -1 });
    expect(pinned.thresholds).toEqual({ lead: 1, case: 1 });
    // "broken" always makes a case here: the weaker the pull, the further its weight moves up from 0.3.
    const broken = [1, 0.1, 0.01].map((l2) => fitRuleset(TRAIN, base, { l2, thresholdPull: 1000 }).weights.broken!);
    expect(broken[0]).toBeGreaterThan(0.3);
    expect(broken[1]).toBeGreaterThan(broken[0]!);
    expect(broken[2]).toBeGreaterThan(broken[1]!);
  });

  it('fits the thresholds where the training scores fall, nearest the written ones among equals', () => {
    // Weights pinned as written: leads score 2 (price, weather), "nice weather" and "just looking" posts 1, cases
    // 0.3 (broken). Any lead threshold in (1, 2] and case threshold in (0, 0.3] decide every post right; a faint
    // pull toward the written 1 and 1 picks the nearest of them on the grid.
    const fit = fitRuleset(TRAIN, parseRuleset(RULES), { l2: 1000, thresholdPull: 0.001 });
    expect(fit.thresholds).toEqual({ lead: 1.05, case: 0.3 });
  });

  it('fits thresholds no single step along the grid improves, as the classifier itself decides', () => {
    // Rules of both labels fire together, so a threshold moves posts between lead, case and none; the labels are mixed.
    const rules = `name: both
thresholds: { lead: 1, case: 1 }
rules:
  - { id: price, label: lead, weight: 1, any: [price] }
  - { id: weather, label: lead, weight: 0.5, any: [today] }
  - { id: broken, label: case, weight: 0.6, any: [broken] }
  - { id: again, label: case, weight: 0.8, any: [again] }
`;
    const spec: [string, number, string][] = [
      ['price today', 3, 'lead'],
      ['price today', 1, 'none'],
      ['broken again', 3, 'case'],
      ['price broken', 2, 'case'],
      ['price broken', 1, 'lead'],
      ['today again', 2, 'none'],
      ['today again', 1, 'case'],
      ['broken', 2, 'case'],
      ['broken', 1, 'none'],
      ['again', 2, 'none'],
      ['price', 2, 'lead'],
    ];
    const mixed = posts(spec.flatMap(([text, n, label]) => repeat(n, (i): [string, string, string] => ['a', `${text} ${i}`, label])));
    const fit = fitRuleset(mixed, parseRuleset(rules), { l2: 1000, thresholdPull: 0 });
    const macroAt = (lead: number, kase: number) =>
      evaluate(mixed, parseRuleset(applyFit(rules, { weights: fit.weights, thresholds: { lead, case: kase } }))).report.macro_f1;
    const best = macroAt(fit.thresholds.lead, fit.thresholds.case);
    expect(best).toBeGreaterThan(macroAt(1, 1));
    for (let i = 0; i < 80; i++) {
      const t = Math.round((0.05 + i * 0.05) * 100) / 100;
      expect([t, macroAt(t, fit.thresholds.case)]).toEqual([t, expect.toSatisfy((f: number) => f <= best)]);
      expect([t, macroAt(fit.thresholds.lead, t)]).toEqual([t, expect.toSatisfy((f: number) => f <= best)]);
    }
    // A threshold moves only for a real gain: the lead threshold stays where it was written, the lowest case one wins.
    expect(fit.thresholds).toEqual({ lead: 1, case: 0.05 });
  });

  it('is deterministic', () => {
    const base = parseRuleset(RULES);
    expect(fitRuleset(TRAIN, base)).toEqual(fitRuleset([...TRAIN], base));
  });
});

describe('fitRuleset: the prior strengths are chosen by cross-validation over the training folds', () => {
  // Posts that any strength decides right, in both folds: prices are leads, greetings are nothing.
  const common = (fold: string): [string, string, string][] => [
    ...repeat(4, (i): [string, string, string] => [fold, `price list ${fold}${i}`, 'lead']),
    ...repeat(4, (i): [string, string, string] => [fold, `hello there ${fold}${i}`, 'none']),
  ];
  const brokenIs = (fold: string, label: string) => repeat(5, (i): [string, string, string] => [fold, `it is broken ${fold}${i}`, label]);

  it('lets the data move the rules when what one fold teaches holds on the other', () => {
    const fit = fitRuleset(posts([...common('a'), ...brokenIs('a', 'case'), ...common('b'), ...brokenIs('b', 'case')]), parseRuleset(RULES));
    // Learned on a, "broken" (0.3 as written) makes b's cases, and the other way round: every post right.
    expect(fit.strength).toMatchObject({ chosenBy: 'inner-cv', innerMacroF1: 1 });
    expect(fit.strength.l2 < 1000 || fit.strength.thresholdPull < 1000).toBe(true);
    expect(fit.weights.broken!).toBeGreaterThanOrEqual(fit.thresholds.case);
  });

  it('keeps the rules as written when what one fold teaches fails on the other', () => {
    // In a "broken" is a case, in b it is nothing. Fitted on either, the other fold is decided worse than as written
    // (a's cases missed either way, b's posts taken for cases), so the strongest pull wins. Fitted and scored on
    // the same posts instead, a lower case threshold would look better (all five of a's cases found, 0.83).
    const fit = fitRuleset(posts([...common('a'), ...brokenIs('a', 'case'), ...common('b'), ...brokenIs('b', 'none')]), parseRuleset(RULES));
    expect(fit.strength).toEqual({ l2: 1000, thresholdPull: 1000, chosenBy: 'inner-cv', innerMacroF1: 0.5 });
    expect(fit.weights).toEqual({ price: 1, weather: 1, broken: 0.3, 'not-buying': -1 });
    expect(fit.thresholds).toEqual({ lead: 1, case: 1 });
  });

  it('uses the strengths given, and a default when there is a single fold', () => {
    const base = parseRuleset(RULES);
    expect(fitRuleset(TRAIN, base, { l2: 0.5, thresholdPull: 2 }).strength).toEqual({ l2: 0.5, thresholdPull: 2, chosenBy: 'given' });
    expect(fitRuleset(TRAIN, base).strength.chosenBy).toBe('default');
  });
});

describe('applyFit', () => {
  it('writes the weights and thresholds into the same YAML, comments and order kept', () => {
    const out = applyFit(RULES, { weights: { price: 2.5, weather: 0, broken: 1.25, 'not-buying': -0.7 }, thresholds: { lead: 0.9, case: 1.1 } });
    expect(out).toContain('# a comment that must survive tuning');
    expect(out).toContain('# fires on every post');
    const rs = parseRuleset(out);
    expect(rs.rules.map((r) => [r.id, r.weight])).toEqual([
      ['price', 2.5],
      ['weather', 0],
      ['broken', 1.25],
      ['not-buying', -0.7],
    ]);
    expect(rs.thresholds).toEqual({ lead: 0.9, case: 1.1 });
  });
});

describe('crossValidate', () => {
  // Fold b says the opposite of fold a about "price": fitted on b alone, the price rule is worth nothing.
  const SETS = posts([
    ...repeat(5, (i): [string, string, string] => ['a', `price please ${i}`, 'lead']),
    ...repeat(5, (i): [string, string, string] => ['a', `broken again ${i}`, 'case']),
    ...repeat(5, (i): [string, string, string] => ['b', `price went up, lol ${i}`, 'none']),
    ...repeat(5, (i): [string, string, string] => ['b', `broken record ${i}`, 'case']),
    ...repeat(5, (i): [string, string, string] => ['b', `good morning ${i}`, 'none']),
  ]);

  it('lists the folds in the order they first appear', () => {
    expect(foldsOf(SETS)).toEqual(['a', 'b']);
    expect(() => foldsOf(posts([['', 'x', 'none']]))).toThrow(/p0.*no fold/);
    // dev/ names its folds `industry`; another field can be named.
    const rows = [{ id: 'x', industry: 'telecom', source: 's1', text: 't', label: 'none' }].map((r) => JSON.stringify(r)).join('\n');
    expect(foldsOf(readLabeledJsonl(rows).posts)).toEqual(['telecom']);
    expect(foldsOf(readLabeledJsonl(rows, { groupBy: 'source' }).posts)).toEqual(['s1']);
  });

  it('scores each fold with rules fitted on the other folds only', () => {
    const cv = crossValidate(SETS, RULES, { fit: true });
    expect(cv.folds.map((f) => [f.fold, f.posts])).toEqual([
      ['a', 10],
      ['b', 15],
    ]);
    const a = cv.folds[0]!;
    // Trained on b, where "price" never meant a lead: a's leads are all missed. Had a leaked into its own
    // training, they would be found.
    expect(a.lead.recall).toBe(0);
    expect(a.case.recall).toBe(1);
    // Trained on a, where "price" always meant a lead: b's price posts become (wrong) leads.
    expect(cv.folds[1]!.lead.precision).toBe(0);
    expect(cv.pooled.posts).toBe(25);
    expect(cv.mean.case.recall).toBe(1);
  });

  it('fits nothing for a fold from its own posts: its labels change nothing fitted for it', () => {
    // Three folds, so each training set holds two and the strengths come from inner cross-validation.
    const three = (cLabel: (i: number) => string) =>
      posts([
        ...repeat(4, (i): [string, string, string] => ['a', `price please ${i}`, 'lead']),
        ...repeat(4, (i): [string, string, string] => ['a', `broken again ${i}`, 'case']),
        ...repeat(4, (i): [string, string, string] => ['b', `price list ${i}`, 'lead']),
        ...repeat(4, (i): [string, string, string] => ['b', `broken screen ${i}`, 'case']),
        ...repeat(4, (i): [string, string, string] => ['b', `hello ${i}`, 'none']),
        ...repeat(8, (i): [string, string, string] => ['c', `it broke, broken ${i}`, cLabel(i)]),
      ]);
    const fitted = (cv: ReturnType<typeof crossValidate>, fold: string) => {
      const f = cv.folds.find((x) => x.fold === fold)!;
      return { thresholds: f.thresholds, strength: f.strength, predicted: f.case.recall };
    };
    const cases = crossValidate(
      three(() => 'case'),
      RULES,
      { fit: true },
    );
    const nones = crossValidate(
      three(() => 'none'),
      RULES,
      { fit: true },
    );
    expect(fitted(nones, 'c').strength?.chosenBy).toBe('inner-cv');
    // Fold c's own labels: its thresholds and strengths are the same whichever they are...
    expect(fitted(nones, 'c').thresholds).toEqual(fitted(cases, 'c').thresholds);
    expect(fitted(nones, 'c').strength).toEqual(fitted(cases, 'c').strength);
    // ...while they are training data for a and b, and what is fitted there changes with them.
    expect([fitted(nones, 'a'), fitted(nones, 'b')]).not.toEqual([fitted(cases, 'a'), fitted(cases, 'b')]);
  });

  it('without fitting, scores the rules as written on each fold', () => {
    const cv = crossValidate(SETS, RULES, { fit: false });
    expect(cv.folds[0]!.lead.recall).toBe(1);
    expect(cv.folds.every((f) => f.thresholds.lead === 1 && f.thresholds.case === 1)).toBe(true);
    // broken weighs 0.3, under the case threshold as written.
    expect(cv.mean.case.recall).toBe(0);
  });
});
