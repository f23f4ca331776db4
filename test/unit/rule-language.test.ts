import { describe, expect, it } from 'vitest';
import { RulesetError, classify, normalizeText, parseRuleset, type ClassifierInput, type Ruleset } from '../../src/classifier/index.js';

const post = (text: string, extra: Partial<ClassifierInput> = {}): ClassifierInput => ({ text, platform: 'twitter', isReply: false, ...extra });
const firedIds = (ruleset: Ruleset, text: string, extra: Partial<ClassifierInput> = {}): string[] =>
  classify(post(text, extra), ruleset).rules.map((r) => r.id);

describe('near: two terms within N words', () => {
  const ruleset = parseRuleset(`
name: near
thresholds: { lead: 1, case: 1 }
rules:
  - { id: refund-charged, label: case, weight: 1, near: { terms: [refund, charged], within: 3 } }
  - id: alternatives
    label: case
    weight: 1
    near: { terms: [[money back, refund], [double charged, billed twice]], within: 0 }
  - id: two-nears
    label: lead
    weight: 1
    near: [{ terms: [price, plan], within: 2 }, { terms: [team, seats], within: 5 }]
  - { id: near-and-any, label: lead, weight: 1, any: [demo], near: { terms: [book, call], within: 1 } }
`);

  it.each([
    ['adjacent', 'charged refund', ['refund-charged']],
    ['three words between', 'refund me now please charged', ['refund-charged']],
    ['four words between: too far', 'refund me now please sir charged', []],
    ['either order', 'charged twice, want a refund', ['refund-charged']],
    ['only one term', 'refund please', []],
    ['alternatives on each side, none between', 'need my money back billed twice', ['alternatives']],
    ['alternatives with a word between (within 0)', 'money back now double charged', []],
    ['every near must hold', 'price of the plan for my team of 12 seats', ['two-nears']],
    ['one near missing', 'price of the plan for us', []],
    ['near and any together', 'can I book a call for a demo', ['near-and-any']],
    ['near without the any', 'can I book a call', []],
  ])('%s', (_name, text, expected) => {
    expect(firedIds(ruleset, text)).toEqual(expected);
  });

  it('reports both terms of the pair with positions', () => {
    const d = classify(post('charged twice, want a refund'), ruleset);
    expect(d.rules[0]?.terms).toEqual([
      { term: 'charged', start: 0, end: 7 },
      { term: 'refund', start: 22, end: 28 },
    ]);
  });
});

describe('negation: cancel, flip, keep', () => {
  const ruleset = parseRuleset(`
name: negation
thresholds: { lead: 1, case: 1 }
negation: { window: 3, default: cancel }
rules:
  - { id: interested, label: lead, weight: 1.5, negation: flip, any: [interested] }
  - { id: problems, label: case, weight: 1, any: [problem, problems, issue] }
  - { id: keep-it, label: case, weight: 1, negation: keep, any: [broken] }
  - { id: working, label: case, weight: 1, any: [not working] }
`);

  it.each([
    ['plain phrase fires', 'I have a problem with my order', ['problems'], 'case'],
    ['cancelled after "no"', 'no problems at all, thanks', [], 'none'],
    ['cancelled after a contraction', "there isn't an issue", [], 'none'],
    ['cue up to the window away', 'never had a problem', [], 'none'],
    ['cue beyond the window', 'never in all these years a problem', ['problems'], 'case'],
    ['a clause break ends the negation', 'no, problem is the bill', ['problems'], 'case'],
    ['"but" ends the negation', 'not bad but a problem remains', ['problems'], 'case'],
    ['another language cue', 'kein problem', [], 'none'],
    ['keep ignores negation', 'not broken', ['keep-it'], 'case'],
    ['a phrase that holds its own negation', 'wifi not working', ['working'], 'case'],
    ['flip: fires on the negated phrase with the weight negated', 'not interested, stop messaging me', ['interested'], 'none'],
    ['flip: plain phrase still fires positive', 'interested in the pro plan', ['interested'], 'lead'],
  ])('%s', (_name, text, expected, label) => {
    const d = classify(post(text), ruleset);
    expect({ ids: d.rules.map((r) => r.id), label: d.label }).toEqual({ ids: expected, label });
  });

  it('a flipped rule is marked negated, argues against its label and sets no priority', () => {
    const d = classify(post('not interested'), ruleset);
    expect(d.rules).toEqual([{ id: 'interested', label: 'lead', weight: -1.5, negated: true, terms: [{ term: 'interested', start: 4, end: 14 }] }]);
    expect(d.scores.lead).toBe(-1.5);
  });

  it('without a negation block, rules keep every phrase (files written before negation behave the same)', () => {
    const old = parseRuleset('name: old\nthresholds: { lead: 1, case: 1 }\nrules:\n  - { id: p, label: case, weight: 1, any: [problem] }\n');
    expect(firedIds(old, 'no problem')).toEqual(['p']);
  });

  it('custom cues replace the default ones', () => {
    const custom = parseRuleset(
      'name: c\nthresholds: { lead: 1, case: 1 }\nnegation: { cues: [sin], default: cancel }\nrules:\n  - { id: p, label: case, weight: 1, any: [problema] }\n',
    );
    expect(firedIds(custom, 'sin problema')).toEqual([]);
    expect(firedIds(custom, 'no problema')).toEqual(['p']);
  });
});

describe('regex', () => {
  const ruleset = parseRuleset(String.raw`
name: regex
thresholds: { lead: 1, case: 1 }
rules:
  - { id: order-number, label: case, weight: 1, regex: ['order\s?(?:no\.?|#)?\s?\d{5,}'] }
  - { id: refund-any, label: case, weight: 1, any: [money back], regex: ['r[e3]fund(?:ed|s)?'] }
  - { id: money, label: lead, weight: 1, all: [budget], regex: ['[$€£]\s?\d+k?'] }
`);

  it.each([
    ['a pattern matches', 'where is order #123456', ['order-number']],
    ['too few digits', 'order 1234', []],
    ['regex as one of the any alternatives', 'I want a r3funded amount', ['refund-any']],
    ['phrase as the other alternative', 'give me my money back', ['refund-any']],
    ['regex plus an all phrase', 'budget is $5k', ['money']],
    ['regex without the all phrase', 'it costs $5k', []],
    ['runs on the normalized (lower-case) text', 'ORDER NO. 99999', ['order-number']],
  ])('%s', (_name, text, expected) => {
    expect(firedIds(ruleset, text)).toEqual(expected);
  });

  it('reports the pattern between slashes and where it matched', () => {
    const input = 'hi, order #123456 missing';
    const [rule] = classify(post(input), ruleset).rules;
    const { text } = normalizeText(input);
    // "#1" would be a hashtag mark, dropped by normalization; the regex sees what the rules see.
    expect(rule?.terms.map((t) => [t.term, text.slice(t.start, t.end)])).toEqual([[String.raw`/order\s?(?:no\.?|#)?\s?\d{5,}/`, 'order 123456']]);
  });
});

describe('conditions (when)', () => {
  const ruleset = parseRuleset(`
name: when
thresholds: { lead: 1, case: 1 }
rules:
  - { id: fb-only, label: case, weight: 1, any: [broken], when: { platform: facebook } }
  - { id: spanish, label: case, weight: 1, any: [roto], when: { lang: [es, pt] } }
  - { id: replies, label: case, weight: 1, any: [same here], when: { is_reply: true } }
  - { id: top-level, label: lead, weight: 1, any: [price], when: { is_reply: false } }
  - { id: influencer, label: case, weight: 1, any: [disappointed], when: { followers: { min: 10000 } } }
  - { id: small, label: lead, weight: 1, any: [interested], when: { followers: { max: 100 } } }
`);

  it.each([
    ['platform matches', 'broken', { platform: 'facebook' }, ['fb-only']],
    ['platform does not', 'broken', { platform: 'twitter' }, []],
    ['language in the list, region ignored', 'roto', { lang: 'es-MX' }, ['spanish']],
    ['language not in the list', 'roto', { lang: 'it' }, []],
    ['language unknown: a lang condition does not hold', 'roto', {}, []],
    ['a reply', 'same here', { isReply: true }, ['replies']],
    ['not a reply', 'same here', { isReply: false }, []],
    ['is_reply false on a top-level post', 'price?', {}, ['top-level']],
    ['is_reply false on a reply', 'price?', { isReply: true }, []],
    ['followers at the minimum', 'disappointed', { followers: 10000 }, ['influencer']],
    ['followers below the minimum', 'disappointed', { followers: 9999 }, []],
    ['followers unknown', 'disappointed', {}, []],
    ['followers at the maximum', 'interested', { followers: 100 }, ['small']],
    ['followers above the maximum', 'interested', { followers: 101 }, []],
  ] as [string, string, Partial<ClassifierInput>, string[]][])('%s', (_name, text, extra, expected) => {
    expect(firedIds(ruleset, text, extra)).toEqual(expected);
  });
});

describe('phrases by language', () => {
  const ruleset = parseRuleset(`
name: multilingual
thresholds: { lead: 1, case: 1 }
rules:
  - id: refund
    label: case
    weight: 1
    any:
      en: [refund]
      es: [reembolso, devolución]
      de: [rückerstattung]
      "*": [💸]
`);

  it.each([
    ['English phrase, English post', 'refund now', { lang: 'en' }, ['refund']],
    ['Spanish phrase, Spanish post', 'quiero un reembolso', { lang: 'es' }, ['refund']],
    ['Spanish phrase, English post: not matched', 'reembolso', { lang: 'en' }, []],
    ['any listed phrase on a post of unknown language', 'rückerstattung bitte', {}, ['refund']],
    ['"*" phrases match every language', 'where is it 💸', { lang: 'fr' }, ['refund']],
  ] as [string, string, Partial<ClassifierInput>, string[]][])('%s', (_name, text, extra, expected) => {
    expect(firedIds(ruleset, text, extra)).toEqual(expected);
  });
});

describe('the new fields are validated with the rule and field named', () => {
  const head = 'name: bad\nthresholds: { lead: 1, case: 1 }\nrules:\n';

  it.each([
    ['near with one term', `${head}  - { id: n1, label: case, weight: 1, near: { terms: [refund], within: 3 } }\n`, 'rule "n1" (#1): field "near.terms"'],
    [
      'near with a negative distance',
      `${head}  - { id: n2, label: case, weight: 1, near: { terms: [a, b], within: -1 } }\n`,
      'rule "n2" (#1): field "near.within": must not be negative',
    ],
    [
      'near with an unknown key',
      `${head}  - { id: n3, label: case, weight: 1, near: { terms: [a, b], within: 1, max: 2 } }\n`,
      'rule "n3" (#1): field "near.max": unknown field',
    ],
    [
      'near term without words',
      `${head}  - { id: n4, label: case, weight: 1, near: { terms: [a, "!!"], within: 1 } }\n`,
      'rule "n4" (#1): field "near.terms", item 2: "!!" has no words',
    ],
    ['unknown platform', `${head}  - { id: w1, label: case, weight: 1, any: [x], when: { platform: myspace } }\n`, 'rule "w1" (#1): field "when.platform"'],
    [
      'is_reply not a boolean',
      `${head}  - { id: w2, label: case, weight: 1, any: [x], when: { is_reply: sometimes } }\n`,
      'rule "w2" (#1): field "when.is_reply": must be true or false',
    ],
    [
      'followers min above max',
      `${head}  - { id: w3, label: case, weight: 1, any: [x], when: { followers: { min: 10, max: 5 } } }\n`,
      'rule "w3" (#1): field "when.followers": min is greater than max',
    ],
    [
      'bad language key',
      `${head}  - { id: l1, label: case, weight: 1, any: { English: [x] } }\n`,
      'rule "l1" (#1): field "any.English": must be a language code',
    ],
    [
      'phrase by language not a string',
      `${head}  - { id: l2, label: case, weight: 1, any: { en: [x, 3] } }\n`,
      'rule "l2" (#1): field "any.en", item 2: must be a string',
    ],
    [
      'phrases neither a list nor a mapping',
      `${head}  - { id: l3, label: case, weight: 1, any: refund }\n`,
      'rule "l3" (#1): field "any": must be a list or a mapping',
    ],
    [
      'negation mode',
      `${head}  - { id: g1, label: case, weight: 1, any: [x], negation: invert }\n`,
      'rule "g1" (#1): field "negation": must be one of keep, cancel, flip',
    ],
    ['negation window', `name: bad\nthresholds: { lead: 1, case: 1 }\nnegation: { window: 0 }\nrules: []\n`, 'field "negation.window": must be greater than 0'],
    [
      'hostile regex',
      `${head}  - { id: r1, label: case, weight: 1, regex: ['(a+)+$'] }\n`,
      'rule "r1" (#1): field "regex", item 1: a repeated group holds another quantifier',
    ],
    ['invalid regex', `${head}  - { id: r2, label: case, weight: 1, regex: ['[a-'] }\n`, 'rule "r2" (#1): field "regex", item 1: unclosed "["'],
    ['a regex is not a phrase list', `${head}  - { id: r3, label: case, weight: 1, regex: 'x' }\n`, 'rule "r3" (#1): field "regex": must be a list'],
  ])('%s', (_name, yamlText, message) => {
    let error: unknown;
    try {
      parseRuleset(yamlText, 'rules/x.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RulesetError);
    expect((error as RulesetError).message).toContain(`rules/x.yaml: ${message}`);
  });
});

describe('the rules reference example (docs/rules.md)', () => {
  it('is a valid ruleset that does what its comments say', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const yamlText = /## The rules file[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    const ruleset = parseRuleset(yamlText ?? '', 'docs/rules.md');
    const ids = (text: string, extra: Partial<ClassifierInput> = {}) => classify(post(text, extra), ruleset).rules.map((r) => [r.id, r.weight]);
    expect(ids('how much is the plan?')).toEqual([['price-question', 1]]);
    expect(ids('refund? they charged me')).toEqual([
      ['billing-problem', 1.3],
      ['refund', 1.2],
    ]);
    expect(ids('not interested')).toEqual([['not-interested', -1.5]]);
    expect(ids('no problems at all')).toEqual([]);
    expect(ids('where is order #123456')).toEqual([['order-reference', 0.8]]);
    expect(ids('so disappointed', { lang: 'en', followers: 20000 })).toEqual([['influencer-complaint', 0.5]]);
    expect(ids('quiero un reembolso', { lang: 'es' })).toEqual([['refund', 1.2]]);
    expect(ids('reembolso', { lang: 'en' })).toEqual([]);
  });
});
