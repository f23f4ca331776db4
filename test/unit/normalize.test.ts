import { describe, expect, it } from 'vitest';
import { normalizeText } from '../../src/classifier/index.js';
import { normalizeTextByRegex } from '../../src/classifier/normalize.js';

const values = (text: string): string[] => normalizeText(text).tokens.map((t) => t.value);

describe('normalizeText', () => {
  it.each([
    ['case fold', 'REFUND Please', 'refund please'],
    ['NFKC: fullwidth letters and digits', 'ＲＥＦＵＮＤ ２ times', 'refund 2 times'],
    ['NFKC: ligature and no-break space', 'ﬁxed\u00A0now', 'fixed now'],
    ['zero-width characters removed', 're\u200Bfu\u200Cnd\u200D \u2060now\uFEFF', 'refund now'],
    ['whitespace collapsed and trimmed', '  not \n\t working  ', 'not working'],
    ['URL with a scheme removed', 'broken https://t.co/q8Xv2LmPa1 again', 'broken again'],
    ['www URL removed', 'see www.example.com/help now', 'see now'],
    ['bare domain with a path removed', 'go to example.co.uk/roaming today', 'go to today'],
    ['bare domain with a known TLD removed', 'shop at shop.example.com!', 'shop at !'],
    ['hashtag becomes a word', 'so slow #Outage #3', 'so slow outage 3'],
    ['mention keeps the handle without @', '@Acme_Help hi', 'acme_help hi'],
    ['an e-mail address is not a mention', 'mail jobs@acme.io', 'mail jobs@acme.io'],
    ['a full stop without a space is not a domain', 'fixed.it works', 'fixed.it works'],
    ['typographic apostrophe', 'can’t log in', "can't log in"],
    ['punctuation kept in the text', 'help!!! (please)', 'help!!! (please)'],
    ['empty text', '', ''],
  ])('%s', (_name, input, expected) => {
    expect(normalizeText(input).text).toBe(expected);
  });

  it.each([
    ['words and numbers', 'charged £20 x2!', ['charged', '20', 'x2']],
    ['hashtag and mention', '@NimbusHelp #Refund', ['nimbushelp', 'refund']],
    ['underscores split plain words but not handles', 'foo_bar @foo_bar', ['foo', 'bar', 'foo_bar']],
    ['apostrophes dropped inside words', "can't won’t i'm", ['cant', 'wont', 'im']],
    ['French and Italian elision split off', "l'essai d'une dell'ordine", ['l', 'essai', 'd', 'une', 'dell', 'ordine']],
    ['hyphenated words split', 'log-in e-mail', ['log', 'in', 'e', 'mail']],
    ['accented letters stay in the word', 'Rückmeldung café não', ['rückmeldung', 'café', 'não']],
    ['ß folds to ss', 'Straße STRASSE', ['strasse', 'strasse']],
    ['non-Latin scripts', 'Привет мир 你好', ['привет', 'мир', '你好']],
    ['each emoji is a token', 'so angry 😡😡', ['so', 'angry', '😡', '😡']],
    ['skin tone and style modifiers dropped', '👏🏽 ❤️', ['👏', '❤']],
    ['flag is one token', 'Bonjour 🇫🇷', ['bonjour', '🇫🇷']],
    ['URL words are not tokens', 'refund https://example.com/refund', ['refund']],
    ['Cyrillic look-alikes inside a Latin word', 'r\u0435fund \u0441ancel', ['refund', 'cancel']],
    ['Greek look-alikes inside a Latin word', 'acc\u03bfunt', ['account']],
    ['a whole Cyrillic or Greek word stays', 'сор όρο', ['сор', 'όρο']],
    ['elongation cut to two letters', 'sooooo goooood hellllp', ['soo', 'good', 'hellp']],
    ['a double letter is not an elongation', 'too good', ['too', 'good']],
    ['digits inside a word are kept in the value', 'r3fund', ['r3fund']],
  ])('tokens: %s', (_name, input, expected) => {
    expect(values(input)).toEqual(expected);
  });

  const readings = (text: string) => normalizeText(text).tokens.map((t) => [t.value, ...(t.alts ?? [])]);

  it.each([
    ['elongation also read with one letter', 'sooooo', [['soo', 'so']]],
    [
      'elongated letters anywhere',
      'hellllp pleeeease',
      [
        ['hellp', 'help'],
        ['pleease', 'please'],
      ],
    ],
    [
      'digits for letters',
      'r3fund h4ck3d acc0unt',
      [
        ['r3fund', 'refund'],
        ['h4ck3d', 'hacked'],
        ['acc0unt', 'account'],
      ],
    ],
    ['1 reads as i or l', 'he1p', [['he1p', 'heip', 'help']]],
    ['real numbers stay numbers', '20 x2 5g iphone15 covid19 b2b 4k', [['20'], ['x2'], ['5g'], ['iphone15'], ['covid19'], ['b2b'], ['4k']]],
    ['mentions are names: no readings', '@sooooo_h3lp', [['sooooo_h3lp']]],
    ['emoji are tokens without readings', '😡😡😡', [['😡'], ['😡'], ['😡']]],
  ])('readings: %s', (_name, input, expected) => {
    expect(readings(input)).toEqual(expected);
  });

  it.each([
    '@NimbusHelp been charged twice 🙃 £20 x2! https://t.co/abc #TasklaneDown can’t log-in',
    'ＨＥＬＬＯ re\u200Bfund Straße café 👏🏽👏 see example.co.uk/x or shop.example.com. mail a@b.io',
    "j'ai reçu l'article aujourd'hui, toujours pas remboursée 😡",
  ])('token offsets point into the normalized text: %s', (input) => {
    const { text, tokens } = normalizeText(input);
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) {
      const surface = text.slice(token.start, token.end);
      expect(normalizeText(surface).tokens.map((t) => t.value)).toContain(token.value);
    }
  });

  it('is idempotent on its own output', () => {
    const once = normalizeText('@Acme #Refund ＲＥＦＵＮＤ https://x.io/a  can’t 👏🏽');
    const twice = normalizeText(once.text);
    expect(twice.tokens.map((t) => t.value)).toEqual(once.tokens.map((t) => t.value));
  });

  it('reads plain ASCII exactly as its regex does: 20,000 generated texts of the pieces that decide a token', () => {
    // The ASCII shortcuts must never change a token: each text mixes words, digits, the characters
    // that start or extend a URL, a mention or a hashtag, apostrophes, and non-ASCII neighbours.
    const pieces = [
      'refund',
      'a',
      'z',
      'www',
      'http',
      'co',
      'com',
      'io',
      '0',
      '9',
      'r3fund',
      'sooo',
      "l'",
      "can't",
      '.',
      '..',
      '-',
      '--',
      '+',
      ':',
      '://',
      '/',
      "'",
      '@',
      '#',
      '_',
      '!',
      ',',
      '?',
      '(',
      ')',
      '"',
      '$',
      '%',
      '&',
      '*',
      '=',
      '~',
      '|',
      '\\',
      ';',
      '<',
      '>',
      '[',
      ']',
      '{',
      '}',
      '^',
      '`',
      ' ',
      '  ',
      '\t',
      '\n',
      '\r\n',
      '\u000b',
      '\u000c',
      '\u001f',
      '\u007f',
      '\u0000',
      '\u00a0',
      '\u2028',
      '\u3000',
      'é',
      'ü',
      'ß',
      'ς',
      'е',
      'рay',
      '\u0301',
      '😡',
      '👏🏽',
      '🇫🇷',
      '\u200b',
      '’',
      'ｒｅｆｕｎｄ',
      'ﬁ',
      '٣',
      'x.io/a',
      'a-b.com',
      'REFUND',
      'İ',
      'K',
    ];
    let seed = 42;
    const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const texts = Array.from({ length: 20_000 }, () =>
      Array.from({ length: 1 + Math.floor(next() * 12) }, () => pieces[Math.floor(next() * pieces.length)]).join(''),
    );
    const differing = texts.filter((t) => JSON.stringify(normalizeText(t)) !== JSON.stringify(normalizeTextByRegex(t)));
    expect(differing.slice(0, 5)).toEqual([]);
  });
});
