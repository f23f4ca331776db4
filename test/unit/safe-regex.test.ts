import { describe, expect, it } from 'vitest';
import { classify, parseRuleset } from '../../src/classifier/index.js';
import { BACKTRACK_BUDGET, compileSafeRegex, REGEX_INPUT_MAX, REPEAT_MAX } from '../../src/classifier/safe-regex.js';

describe('compileSafeRegex refuses shapes that backtrack badly', () => {
  it.each([
    ['nested quantifier', '(a+)+$', 'nested quantifiers'],
    ['nested quantifier in a non-capturing group', '(?:\\w+\\s?)*x', 'nested quantifiers'],
    ['nested quantifier two levels up', '((a|b)c+)*', 'another quantifier'],
    ['repeated alternation', '(a|ab)*c', 'alternation'],
    ['repeated alternation with braces', '(?:x|y){2,}', 'alternation'],
    ['backreference', '(a)\\1', 'backreferences'],
    ['named backreference', '(?<x>a)\\k<x>', 'backreferences'],
    ['lookahead', 'foo(?=bar)', 'lookahead'],
    ['negative lookbehind', '(?<!no )refund', 'lookahead'],
    ['polynomial run of stars', 'a*a*a*a*b', String(BACKTRACK_BUDGET)],
    ['very long pattern', 'a'.repeat(301), 'longer than 300'],
    ['unclosed group', '(abc', 'unclosed "("'],
    ['stray parenthesis', 'abc)', 'unmatched ")"'],
    ['syntax the engine refuses', 'a{2,1}', 'out of order'],
    ['invalid escape in unicode mode', '\\q', 'not a valid regular expression'],
  ])('%s: %s', (_name, pattern, message) => {
    const result = compileSafeRegex(pattern);
    expect('error' in result ? result.error : 'accepted').toContain(message);
  });
});

describe('compileSafeRegex bounds what it accepts', () => {
  it.each([
    ['star bounded', 'a*b', `a{0,${REPEAT_MAX}}b`],
    ['plus bounded', '\\d+', `\\d{1,${REPEAT_MAX}}`],
    ['open range bounded', '\\d{5,}', `\\d{5,${REPEAT_MAX}}`],
    ['open range above the cap keeps its minimum', '\\d{30,}', '\\d{30,30}'],
    ['lazy quantifier kept lazy', 'a+?b', `a{1,${REPEAT_MAX}}?b`],
    ['optional group with a quantifier inside is fine', '(?:no\\.?|#)?\\s?\\d{5}', '(?:no\\.?|#)?\\s?\\d{5,5}'],
    ['quantifier characters inside a class are literal', '[*+?]{2}', '[*+?]{2,2}'],
    ['escaped parenthesis is literal', '\\(\\d+\\)', `\\(\\d{1,${REPEAT_MAX}}\\)`],
    ['unicode property escape', '\\p{L}+', `\\p{L}{1,${REPEAT_MAX}}`],
  ])('%s', (_name, pattern, source) => {
    const result = compileSafeRegex(pattern);
    expect('source' in result ? result.source : result.error).toBe(source);
  });

  it('a hostile post against an accepted pattern returns: the worst accepted shape on a long input', () => {
    // Three adjacent overlapping runs, as close to the budget as the check allows, on input built to fail late.
    const ruleset = parseRuleset(String.raw`
name: hostile
thresholds: { lead: 1, case: 1 }
rules:
  - { id: r, label: case, weight: 1, regex: ['\w+\w+\w+!'] }
`);
    const decision = classify({ text: 'a'.repeat(100_000), platform: 'twitter', isReply: false }, ruleset);
    expect(decision.label).toBe('none');
  });

  it(`a regex sees only the first ${REGEX_INPUT_MAX} characters of the post`, () => {
    const ruleset = parseRuleset(`
name: bounded
thresholds: { lead: 1, case: 1 }
rules:
  - { id: r, label: case, weight: 1, regex: ['refund'] }
`);
    const near = `${'x '.repeat((REGEX_INPUT_MAX - 10) / 2)}refund`;
    const far = `${'x '.repeat(REGEX_INPUT_MAX / 2)}refund`;
    expect(classify({ text: near, platform: 'twitter', isReply: false }, ruleset).label).toBe('case');
    expect(classify({ text: far, platform: 'twitter', isReply: false }, ruleset).label).toBe('none');
  });
});
