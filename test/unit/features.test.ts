import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { classify, normalizeText, parseRuleset } from '../../src/classifier/index.js';
import { computeFeatures, detectLanguage, leadingMentions, negationAndIntensity, sentimentOf, type FeatureName } from '../../src/classifier/features.js';
import type { ClassifierInput } from '../../src/classifier/types.js';

const features = (text: string, extra: Partial<ClassifierInput> = {}) => {
  const { text: t, tokens } = normalizeText(text);
  return computeFeatures({ text, platform: 'twitter', isReply: false, ...extra }, t, tokens);
};
const sentiment = (text: string) => {
  const n = normalizeText(text);
  return sentimentOf(n.text, n.tokens);
};

describe('post features', () => {
  it.each<[FeatureName, string, boolean]>([
    ['addressed', '@AcmeHelp my order is late', true],
    ['addressed', 'my order from acme is late', false],
    ['addressed_to_support', '@AcmeHelp my order is late', true],
    ['addressed_to_support', '@acme @AcmeCares hello', true],
    ['addressed_to_support', '@AskAcme hello', true],
    ['addressed_to_support', '@Acme hello', false],
    ['question', "@acme what's happening to the 8:10 service", true],
    ['question', 'is the blue one in stock', true],
    ['question', 'the blue one is in stock', false],
    ['first_person_bad_outcome', 'I was charged twice for one ticket', true],
    ['first_person_bad_outcome', 'my parcel never arrived', true],
    ['first_person_bad_outcome', 'mein Paket ist immer noch nicht da', true],
    ['first_person_bad_outcome', 'the new ad is charged with energy, love it', false],
    ['first_person_bad_outcome', 'we would book again, lovely stay', false],
    ['first_person_bad_outcome', 'we will definitely fly with you again', false],
    ['first_person_bad_outcome', 'I will never fly with you again', true],
    ['first_person_bad_outcome', "we won't fly with you again", true],
    ['first_person_bad_outcome', 'I had to book again because my first booking vanished', true],
    ['first_person_bad_outcome', 'we had to call again', true],
    ['duration', 'no internet for 3 days now', true],
    ['duration', 'waiting since Monday', true],
    ['duration', 'day 6 of no hot water', true],
    ['duration', 'seit drei Tagen kein Netz', true],
    ['duration', 'we open on Monday', false],
    // "since yesterday" / "since Monday" and waits with no number, in the other languages too
    ['duration', 'kein Internet seit gestern', true],
    ['duration', 'pas de réseau depuis hier', true],
    ['duration', 'sin luz desde el lunes', true],
    ['duration', 'senza acqua calda da ieri sera', true],
    ['duration', 'internet giù da lunedì', true],
    // Italian "da" only: Portuguese "of the" and German "there, as" are not a wait
    ['duration', 'preciso da 2ª via da fatura', false],
    ['duration', 'o boleto da segunda parcela', false],
    ['duration', 'da hier niemand antwortet', false],
    ['duration', 'mijn auto laadt sinds vorige week niet', true],
    ['duration', 'no refund since the 3rd', true],
    ['duration', 'waiting for weeks for a reply', true],
    ['duration', 'seit Tagen kein Netz', true],
    ['duration', 'perfect for days out with the kids', false],
    ['money_or_order', 'charged £47.18 this month', true],
    ['money_or_order', 'order #4471928 still not here', true],
    ['money_or_order', 'pedido 88123 sin llegar', true],
    ['money_or_order', 'I have 2 kids', false],
    ['repeated_punctuation', 'is there an outage??', true],
    ['repeated_punctuation', 'really?!', true],
    ['repeated_punctuation', 'is there an outage?', false],
    ['angry_emoji', 'still no signal 😡', true],
    ['angry_emoji', 'love the new ad 😂', false],
  ])('%s: %j → %s', (name, text, expected) => {
    expect(features(text)[name]).toBe(expected);
  });

  it("counts only the brand's handles as addressed when they are configured", () => {
    const brandHandles = new Set(['acme', 'acmehelp']);
    expect(features('@OtherCo my order is late', { brandHandles }).addressed).toBe(false);
    expect(features('@AcmeHelp my order is late', { brandHandles }).addressed_to_support).toBe(true);
    expect(features('@OtherHelp my order is late', { brandHandles }).addressed_to_support).toBe(false);
    expect(features('my order is late', { brandHandles, isReply: true }).addressed).toBe(true);
    expect(leadingMentions(' @a @b_c: hi @d')).toEqual(['a', 'b_c']);
  });
});

describe('negation, intensifiers and sentiment', () => {
  it('marks the words a negation covers up to the end of its clause, and the word an intensifier boosts', () => {
    const { text, tokens } = normalizeText('not working, but so good');
    const { negated, boosted } = negationAndIntensity(text, tokens);
    expect(tokens.map((t, i) => [t.value, negated[i], boosted[i]])).toEqual([
      ['not', false, false],
      ['working', true, false],
      ['but', false, false],
      ['so', false, false],
      ['good', false, true],
    ]);
  });

  it('scores like VADER on plain posts (its own scorer, from the same package, is the reference)', () => {
    const vader = createRequire(import.meta.url)('vader-sentiment') as { SentimentIntensityAnalyzer: { polarity_scores(t: string): { compound: number } } };
    for (const t of ['this is terrible', 'great service, thanks', 'the worst delay ever', 'my parcel arrived']) {
      expect(sentiment(t)).toBeCloseTo(vader.SentimentIntensityAnalyzer.polarity_scores(t).compound, 2);
    }
  });

  it('turns a negated word around and strengthens a boosted one', () => {
    expect(sentiment('good')).toBeGreaterThan(0);
    expect(sentiment('not good')).toBeLessThan(0);
    expect(sentiment('so bad')).toBeLessThan(sentiment('bad'));
    expect(sentiment('still no signal 😡')).toBeLessThan(0);
  });
});

describe('feature rules', () => {
  const rules = parseRuleset(`
name: features
thresholds: { lead: 1, case: 1 }
rules:
  - id: support-desk-unhappy
    label: case
    weight: 1
    when: { features: [addressed_to_support], sentiment: { max: -0.2 } }
  - id: spanish-price
    label: lead
    weight: 1
    any: [precio]
    when: { lang: es }
  - id: praise-is-not-a-case
    label: case
    weight: -0.5
    when: { features: [addressed], not_features: [question], sentiment: { min: 0.5 } }
`);

  it('fire on features alone, and the trace shows the values they read', () => {
    const d = classify({ text: '@AcmeHelp this is terrible, still broken', platform: 'twitter', isReply: false }, rules);
    expect(d.label).toBe('case');
    expect(d.rules).toEqual([
      { id: 'support-desk-unhappy', label: 'case', weight: 1, terms: [], features: { addressed_to_support: true, sentiment: d.features!.sentiment } },
    ]);
    expect(d.features!.sentiment).toBeLessThan(-0.2);
    const calm = classify({ text: '@AcmeHelp thanks, all great now', platform: 'twitter', isReply: false }, rules);
    expect(calm.label).toBe('none');
    expect(calm.rules.map((r) => [r.id, r.weight])).toEqual([['praise-is-not-a-case', -0.5]]);
    // A question is not_features of that rule: it does not fire.
    expect(classify({ text: '@AcmeHelp thanks, all great now. Is the new version out?', platform: 'twitter', isReply: false }, rules).rules).toEqual([]);
  });

  it('detect the language of a post without one when a rule is scoped by language, and say so', () => {
    const text = 'hola, ¿cuál es el precio del plan anual para mi equipo?';
    const d = classify({ text, platform: 'facebook', isReply: false }, rules);
    expect(d.label).toBe('lead');
    expect(d.lang).toEqual({ code: 'es', source: 'detected' });
    expect(detectLanguage('Mein Paket ist seit fünf Tagen nicht angekommen')).toBe('de');
    const tagged = classify({ text, platform: 'facebook', isReply: false, lang: 'pt-BR' }, rules);
    expect(tagged.label).toBe('none');
    expect(tagged.lang).toEqual({ code: 'pt', source: 'post' });
  });

  it('refuses an unknown feature, naming the field', () => {
    expect(() =>
      parseRuleset('name: x\nthresholds: { lead: 1, case: 1 }\nrules:\n  - { id: r, label: case, weight: 1, when: { features: [angry] } }\n'),
    ).toThrow(/rule "r" \(#1\): field "when.features".*must be one of/);
  });
});
