import { describe, expect, it } from 'vitest';
import { classify, diffRulesets, evaluate, parseLabelMap, parseRuleset, readLabeledJsonl, scoreDecisions, type Decision } from '../../src/classifier/index.js';
import type { Label } from '../../src/types.js';

const ruleset = parseRuleset(`
name: eval
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buy, label: lead, weight: 1, any: [price] }
  - { id: broken, label: case, weight: 1, any: [broken] }
  - { id: not-buying, label: lead, weight: -2, any: [not interested] }
`);

/** A decision with the given label and fired rules (weights from the rule), as classify would return it. */
function decision(label: Label, rules: [string, 'lead' | 'case', number][] = []): Decision {
  return {
    label,
    score: 1,
    scores: { lead: 0, case: 0 },
    priority: null,
    priorityRule: null,
    rules: rules.map(([id, l, weight]) => ({ id, label: l, weight, terms: [] })),
    rulesetVersion: ruleset.version,
  };
}

describe('scoreDecisions', () => {
  it.each([
    {
      name: 'all right',
      pairs: [
        ['lead', 'lead'],
        ['case', 'case'],
        ['none', 'none'],
      ],
      lead: { precision: 1, recall: 1, f1: 1 },
      caseScores: { precision: 1, recall: 1, f1: 1 },
      macro: 1,
      accuracy: 1,
    },
    {
      name: 'one lead missed, one none called a case',
      pairs: [
        ['lead', 'lead'],
        ['lead', 'none'],
        ['case', 'case'],
        ['none', 'case'],
      ],
      lead: { precision: 1, recall: 0.5, f1: 0.6667 },
      caseScores: { precision: 0.5, recall: 1, f1: 0.6667 },
      macro: 0.6667,
      accuracy: 0.5,
    },
    {
      name: 'a label never predicted scores 0, not NaN',
      pairs: [
        ['lead', 'none'],
        ['case', 'case'],
      ],
      lead: { precision: 0, recall: 0, f1: 0 },
      caseScores: { precision: 1, recall: 1, f1: 1 },
      macro: 0.5,
      accuracy: 0.5,
    },
    {
      name: 'no posts',
      pairs: [],
      lead: { precision: 0, recall: 0, f1: 0 },
      caseScores: { precision: 0, recall: 0, f1: 0 },
      macro: 0,
      accuracy: 0,
    },
  ] as { name: string; pairs: [Label, Label][]; lead: object; caseScores: object; macro: number; accuracy: number }[])(
    '$name',
    ({ pairs, lead, caseScores, macro, accuracy }) => {
      const report = scoreDecisions(
        pairs.map(([gold, predicted]) => ({ gold, decision: decision(predicted) })),
        ruleset,
      );
      expect(report.labels.lead).toMatchObject(lead);
      expect(report.labels.case).toMatchObject(caseScores);
      expect(report.macro_f1).toBe(macro);
      expect(report.accuracy).toBe(accuracy);
    },
  );

  it('fills the confusion matrix gold × predicted', () => {
    const pairs: [Label, Label][] = [
      ['lead', 'lead'],
      ['lead', 'case'],
      ['case', 'none'],
      ['none', 'none'],
      ['none', 'none'],
    ];
    const report = scoreDecisions(
      pairs.map(([gold, predicted]) => ({ gold, decision: decision(predicted) })),
      ruleset,
    );
    expect(report.confusion).toEqual({
      lead: { lead: 1, case: 1, none: 0 },
      case: { lead: 0, case: 0, none: 1 },
      none: { lead: 0, case: 0, none: 2 },
    });
    expect(report.labels.none).toMatchObject({ precision: 0.6667, recall: 1, support: 2, predicted: 3 });
  });

  it('scores case against the rest as a binary complaint set would', () => {
    // gold case, case, none, none; predicted case, lead, case, none: lead counts as "not case".
    const pairs: [Label, Label][] = [
      ['case', 'case'],
      ['case', 'lead'],
      ['none', 'case'],
      ['none', 'none'],
    ];
    const report = scoreDecisions(
      pairs.map(([gold, predicted]) => ({ gold, decision: decision(predicted) })),
      ruleset,
    );
    expect(report.case_vs_rest).toEqual({ f1_case: 0.5, f1_rest: 0.5, macro_f1: 0.5, accuracy: 0.5 });
  });

  it('counts per rule how often it fired and pointed the right way', () => {
    const report = scoreDecisions(
      [
        { gold: 'lead', decision: decision('lead', [['buy', 'lead', 1]]) },
        { gold: 'case', decision: decision('lead', [['buy', 'lead', 1]]) },
        {
          gold: 'none',
          decision: decision('none', [
            ['buy', 'lead', 1],
            ['not-buying', 'lead', -2],
          ]),
        },
        { gold: 'lead', decision: decision('none', [['not-buying', 'lead', -2]]) },
        // a rule taking away from lead is right on a post that is not a lead
        { gold: 'case', decision: decision('none', [['not-buying', 'lead', -2]]) },
      ],
      ruleset,
    );
    expect(report.rules).toEqual([
      { id: 'buy', label: 'lead', hits: 3, right: 1, precision: 0.3333 },
      { id: 'broken', label: 'case', hits: 0, right: 0, precision: 0 },
      { id: 'not-buying', label: 'lead', hits: 3, right: 2, precision: 0.6667 },
    ]);
  });
});

describe('readLabeledJsonl', () => {
  const text = [
    '{"id": "a", "text": "price?", "label": "lead", "platform": "facebook", "lang": "en"}',
    '',
    '{"id": 7, "text": "it is broken", "label": "case", "in_reply_to": "1", "author": {"followers": 12}}',
    'not json',
    '{"id": "c", "text": "x", "label": "complaint"}',
    '{"id": "d", "label": "none"}',
    '{"text": "no id", "label": "none"}',
    '{"id": "e", "text": "no label"}',
  ].join('\n');

  it('keeps good rows and reports every bad one with its line number', () => {
    const ds = readLabeledJsonl(text);
    expect(ds.posts.map((p) => [p.id, p.label, p.line])).toEqual([
      ['a', 'lead', 1],
      ['7', 'case', 3],
    ]);
    expect(ds.posts[0]?.input).toEqual({ text: 'price?', platform: 'facebook', isReply: false, lang: 'en' });
    expect(ds.posts[1]?.input).toEqual({ text: 'it is broken', platform: 'twitter', isReply: true, followers: 12 });
    expect(ds.problems).toEqual([
      { line: 4, reason: 'not a JSON object' },
      { line: 5, reason: 'row "c": label "complaint" is not lead, case or none (map the dataset\'s labels with --map FILE.json)' },
      { line: 6, reason: 'row "d": no "text"' },
      { line: 7, reason: 'no "id"' },
      { line: 8, reason: 'row "e": no "label"' },
    ]);
  });

  it('maps dataset labels; a label mapped to null is skipped; an unmapped one is still refused', () => {
    const rows = ['{"id":"1","text":"a","label":"complaint"}', '{"id":"2","text":"b","label":"AMBIGUOUS"}', '{"id":"3","text":"c","label":"OTHER"}'];
    const ds = readLabeledJsonl(rows.join('\n'), { map: { complaint: 'case', AMBIGUOUS: null } });
    expect(ds.posts.map((p) => [p.id, p.label, p.rawLabel])).toEqual([['1', 'case', 'complaint']]);
    expect(ds.skipped).toBe(1);
    expect(ds.problems).toEqual([{ line: 3, reason: 'row "3": label "OTHER" is not lead, case or none and the map does not name it' }]);
  });

  it('reads unlabeled rows when labels are not required', () => {
    const ds = readLabeledJsonl('{"id":"1","text":"a"}\n{"id":"2","text":"b","label":"weird"}', { requireLabels: false });
    expect(ds.posts.map((p) => p.label)).toEqual([null, null]);
    expect(ds.problems).toEqual([]);
  });
});

describe('parseLabelMap', () => {
  it.each([
    ['flat', { complaint: 'case', not_complaint: 'none' }, { complaint: 'case', not_complaint: 'none' }],
    ['under "labels" with a description', { description: 'x', labels: { A: 'lead', B: null } }, { A: 'lead', B: null }],
    ['a bad target', { A: 'sale' }, { error: 'label "A" maps to "sale": use lead, case, none or null' }],
    ['not an object', ['a'], { error: expect.stringContaining('must be a JSON object') }],
  ])('%s', (_name, input, expected) => {
    expect(parseLabelMap(input)).toEqual(expected);
  });
});

describe('evaluate and diffRulesets', () => {
  const posts = readLabeledJsonl(
    [
      '{"id":"1","text":"what is the price","label":"lead"}',
      '{"id":"2","text":"screen broken","label":"case"}',
      '{"id":"3","text":"price? not interested","label":"none"}',
      '{"id":"4","text":"hello","label":"none"}',
    ].join('\n'),
  ).posts;

  it('decides every post and writes one prediction per post', () => {
    const done: number[] = [];
    const { report, predictions } = evaluate(posts, ruleset, (n) => done.push(n));
    expect(report.accuracy).toBe(1);
    expect(predictions).toEqual([
      { id: '1', label: 'lead', predicted: 'lead', score: 1, rules: ['buy'] },
      { id: '2', label: 'case', predicted: 'case', score: 1, rules: ['broken'] },
      { id: '3', label: 'none', predicted: 'none', score: 0, rules: ['buy', 'not-buying'] },
      { id: '4', label: 'none', predicted: 'none', score: 0, rules: [] },
    ]);
    expect(done).toEqual([1, 2, 3, 4]);
    expect(predictions[0]?.predicted).toBe(classify(posts[0]!.input, ruleset).label);
  });

  it('lists the posts that change label and the rules that account for it', () => {
    const changed = parseRuleset(`
name: eval2
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buy, label: lead, weight: 1, any: [price] }
  - { id: broken, label: case, weight: 0.5, any: [broken] }
  - { id: greeting, label: lead, weight: 1, any: [hello] }
`);
    const report = diffRulesets(posts, ruleset, changed);
    expect(report).toMatchObject({ posts: 4, changed: 3, fixed: 0, broken: 3, transitions: { 'case→none': 1, 'none→lead': 2 } });
    expect(report.changes.map((c) => [c.id, c.old.label, c.new.label, c.why])).toEqual([
      ['2', 'case', 'none', { added: [], removed: [], reweighted: [{ id: 'broken', from: 1, to: 0.5 }] }],
      ['3', 'none', 'lead', { added: [], removed: [{ id: 'not-buying', weight: -2 }], reweighted: [] }],
      ['4', 'none', 'lead', { added: [{ id: 'greeting', weight: 1 }], removed: [], reweighted: [] }],
    ]);
  });
});
