import { describe, expect, it } from 'vitest';
import { applyFit, classify, crossValidate, fitRuleset, foldsOf, parseRuleset, readLabeledJsonl, type LabeledPost } from '../../src/classifier/index.js';

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
    const contradicting = posts(repeat(8, (i): [string, string, string] => ['a', `just looking at the price ${i}`, 'lead']));
    expect(fitRuleset([...TRAIN, ...contradicting], base).weights['not-buying']).toBe(0);
  });

  it('is deterministic', () => {
    const base = parseRuleset(RULES);
    expect(fitRuleset(TRAIN, base)).toEqual(fitRuleset([...TRAIN], base));
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

  it('without fitting, scores the rules as written on each fold', () => {
    const cv = crossValidate(SETS, RULES, { fit: false });
    expect(cv.folds[0]!.lead.recall).toBe(1);
    expect(cv.folds.every((f) => f.thresholds.lead === 1 && f.thresholds.case === 1)).toBe(true);
    // broken weighs 0.3, under the case threshold as written.
    expect(cv.mean.case.recall).toBe(0);
  });
});
