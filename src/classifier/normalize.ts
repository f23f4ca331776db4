/**
 * Text normalization shared by posts and rule phrases: both sides go through the same function,
 * so a phrase matches a post exactly when their token sequences line up.
 */

/** A word, number, mention, hashtag word or emoji, with its [start, end) offsets in the normalized text. */
export interface Token {
  /**
   * The comparison form: apostrophes removed, ß folded to ss, look-alike Cyrillic and Greek letters in a Latin
   * word made Latin, runs of three or more of one letter cut to two, emoji without skin-tone or style modifiers.
   */
  value: string;
  /**
   * Other readings a phrase may match: the elongation cut to one letter ("sooo" → "so" besides "soo") and
   * digits read as letters ("r3fund" → "refund"). Absent when there are none.
   */
  alts?: string[];
  start: number;
  end: number;
}

export interface NormalizedText {
  /** NFKC, lower case, without URLs or zero-width characters, `#`/`@` dropped, whitespace collapsed. */
  text: string;
  tokens: Token[];
}

// Zero-width space, non-joiner, joiner, word joiner and BOM: invisible, and often used to dodge filters.
const ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF]/g;
// Typographic apostrophes, so "can’t" and "can't" compare equal.
const APOSTROPHES = /[\u2018\u2019\u02BC\uFF07]/g;

// Top-level domains recognised without a scheme or a path. Ones that are also common words ("it", "in",
// "me", "at", "co") are left out, so a missing space after a full stop ("fixed.it") does not eat a word.
const TLDS = 'com|net|org|io|info|biz|xyz|app|ly|uk|de|fr|es|pt|nl|eu|ie|ca|au|ch|gl';

/**
 * One alternative per kind of segment, tried in order at each position (sticky). The groups:
 * 1 whitespace, 2 URL, 3 mention handle, 4 hashtag mark, 5 word, 6 emoji.
 */
const SEGMENT = new RegExp(
  [
    String.raw`(\s+)`,
    // URLs: with a scheme, starting with www., or a bare domain (with a known TLD or followed by a path).
    String.raw`((?:[a-z][a-z0-9+.-]*:\/\/|www\.)\S+` +
      String.raw`|(?<![\p{L}\p{N}\p{M}@.'-])(?:[\p{L}\p{N}-]+\.)+(?:${TLDS})(?![\p{L}\p{N}\p{M}])(?:\/\S*)?` +
      String.raw`|(?<![\p{L}\p{N}\p{M}@.'-])(?:[\p{L}\p{N}-]+\.)+[\p{L}]{2,}\/\S*)`,
    // A mention is "@handle" not preceded by a word character (that would be an e-mail address).
    String.raw`(?<![\p{L}\p{N}\p{M}_])@([\p{L}\p{N}\p{M}_]+)`,
    String.raw`(#)(?=[\p{L}\p{N}])`,
    // Apostrophes inside a word are part of it ("can't", "aujourd'hui").
    String.raw`([\p{L}\p{N}\p{M}]+(?:'[\p{L}\p{N}\p{M}]+)*)`,
    // An emoji with its modifiers, or a flag (a pair of regional indicators).
    String.raw`(\p{Extended_Pictographic}[\u{FE0E}\u{FE0F}\u{1F3FB}-\u{1F3FF}\u20E3]*|\p{Regional_Indicator}{2})`,
  ].join('|'),
  'uy',
);

// French and Italian elisions: "l'essai" is the word "essai" after "l'". English contractions ("can't",
// "i'm") stay one token, so "cant" and "can't" compare equal.
const ELISION = /^(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|un|dell|dall|nell|sull|all|quell|quest)'/;

const EMOJI_MODIFIERS = /[\u{FE0E}\u{FE0F}\u{1F3FB}-\u{1F3FF}\u20E3]/gu;

// Cyrillic and Greek letters that look like Latin ones (after lower-casing). Used only inside a word that also
// has Latin letters, which is how filter-dodging is written ("rеfund" with a Cyrillic е); Russian or Greek text
// stays as it is.
const HOMOGLYPHS: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  і: 'i',
  ї: 'i',
  ј: 'j',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  һ: 'h',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ӏ: 'l',
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  μ: 'u',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  γ: 'y',
};
const HOMOGLYPH = new RegExp(`[${Object.keys(HOMOGLYPHS).join('')}]`, 'gu');
const LATIN = /[a-z]/;

// Digits that stand for letters in obfuscated words ("r3fund", "h4cked", "acc0unt"). 1 reads as i or l.
const LEETS: Record<string, string[]> = { '0': ['o'], '1': ['i', 'l'], '3': ['e'], '4': ['a'], '5': ['s'], '7': ['t'], '8': ['b'] };
// A digit run with a letter on both sides: real numbers ("20", "x2", "5g", "iphone15", "covid19") never are.
const INNER_DIGITS = /(?<=\p{L})\d+(?=\p{L})/gu;
const HAS_INNER_DIGITS = /\p{L}\d+\p{L}/u;
const LETTER_RUN = /(\p{L})\1{2,}/gu;
const HAS_LETTER_RUN = /(\p{L})\1{2,}/u;

// Only words with a character outside ASCII can hold a look-alike, ß or a final sigma.
const NON_ASCII = /[^\x00-\x7f]/;

function wordValue(word: string): string {
  let value = word.includes("'") ? word.replace(/'/g, '') : word;
  if (!NON_ASCII.test(value)) return value;
  // ß and final sigma are what full case folding changes beyond toLowerCase.
  value = value.replace(/ß/g, 'ss').replace(/ς/g, 'σ');
  if (LATIN.test(value)) value = value.replace(HOMOGLYPH, (ch) => HOMOGLYPHS[ch] ?? ch);
  return value;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/** The readings of a word besides its value: the elongation cut to one letter, digits read as letters. */
function alternatives(value: string): string[] {
  // One pass over the characters decides whether either reading applies; most words need neither.
  let run = false;
  let digits = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!run && i >= 2 && c === value.charCodeAt(i - 1) && c === value.charCodeAt(i - 2) && !isDigit(c)) run = true;
    if (!digits && isDigit(c) && i > 0 && !isDigit(value.charCodeAt(i - 1))) digits = true;
  }
  if (!run && !digits) return [];
  const alts = new Set<string>();
  if (run && HAS_LETTER_RUN.test(value)) alts.add(value.replace(LETTER_RUN, '$1'));
  if (digits && HAS_INNER_DIGITS.test(value)) {
    let readings = [''];
    let last = 0;
    for (const m of value.matchAll(INNER_DIGITS)) {
      const head = value.slice(last, m.index);
      const options = [...m[0]].reduce<string[]>((acc, d) => acc.flatMap((a) => (LEETS[d] ?? []).map((l) => a + l)), ['']);
      readings = readings.flatMap((r) => options.map((o) => r + head + o));
      last = m.index + m[0].length;
      // Each 1 doubles the readings; a word with many is not an obfuscation worth reading.
      if (readings.length > 8) return [...alts];
    }
    for (const r of readings) alts.add(r + value.slice(last));
  }
  alts.delete(value);
  return [...alts];
}

function wordToken(word: string, start: number, end: number): Token {
  const plain = wordValue(word);
  const alts = alternatives(plain);
  if (alts.length === 0) return { value: plain, start, end };
  const value = plain.replace(LETTER_RUN, '$1$1');
  const others = alts.filter((a) => a !== value);
  return others.length > 0 ? { value, alts: others, start, end } : { value, start, end };
}

// ASCII whitespace as `\s` reads it: tab, line feed, vertical tab, form feed, carriage return, space.
const isAsciiSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isAsciiWordChar = (c: number) => (c >= 0x61 && c <= 0x7a) || isDigit(c);
/**
 * After a run of ASCII letters and digits, the characters that can make SEGMENT read more than that
 * run as a word: a URL (`.`, `-`, `+`, `:`), an apostrophe inside a word, anything outside ASCII.
 */
const mayExtendWord = (c: number) => c >= 0x80 || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x3a || c === 0x27;

/**
 * Normalize a post or a phrase and split it into tokens.
 *
 * Steps: Unicode NFKC (fullwidth letters, ligatures, NBSP), zero-width characters removed, lower case,
 * URLs removed, `#tag` becomes the word `tag`, `@handle` becomes the token `handle`, whitespace collapsed
 * to single spaces and trimmed. Punctuation stays in the text but is not a token. Accents are kept.
 * Tokens also carry the de-obfuscated readings of a word (see {@link Token}); the text keeps what was written.
 */
export function normalizeText(text: string): NormalizedText {
  return tokenize(text, true);
}

/** {@link normalizeText} with every position read by SEGMENT: the reference its ASCII shortcuts are tested against. */
export function normalizeTextByRegex(text: string): NormalizedText {
  return tokenize(text, false);
}

function tokenize(text: string, asciiShortcuts: boolean): NormalizedText {
  const pre = text.normalize('NFKC').replace(ZERO_WIDTH, '').toLowerCase().replace(APOSTROPHES, "'");
  let out = '';
  let pendingSpace = false;
  const tokens: Token[] = [];

  const emit = (piece: string): number => {
    if (pendingSpace && out.length > 0) out += ' ';
    pendingSpace = false;
    const start = out.length;
    out += piece;
    return start;
  };
  const pushWord = (word: string): void => {
    const start = emit(word);
    const elided = ELISION.exec(word)?.[0].length ?? 0;
    if (elided > 0) tokens.push({ value: wordValue(word.slice(0, elided)), start, end: start + elided - 1 });
    tokens.push(wordToken(word.slice(elided), start + elided, start + word.length));
  };

  let pos = 0;
  while (pos < pre.length) {
    if (asciiShortcuts) {
      // Most of a post is plain ASCII words, spaces and punctuation, where what SEGMENT would answer is
      // certain without running it (its lookbehinds and Unicode classes cost about a microsecond a word).
      const c = pre.charCodeAt(pos);
      if (isAsciiSpace(c)) {
        // A Unicode space after the run is read by SEGMENT next, with the same effect.
        while (pos < pre.length && isAsciiSpace(pre.charCodeAt(pos))) pos++;
        pendingSpace = true;
        continue;
      }
      if (isAsciiWordChar(c)) {
        let end = pos + 1;
        while (end < pre.length && isAsciiWordChar(pre.charCodeAt(end))) end++;
        if (end === pre.length || !mayExtendWord(pre.charCodeAt(end))) {
          pushWord(pre.slice(pos, end));
          pos = end;
          continue;
        }
      } else if (c < 0x80 && c !== 0x2d && c !== 0x40 && c !== 0x23) {
        // ASCII punctuation other than `-` (may start a domain), `@` and `#`: never a token.
        emit(pre[pos]!);
        pos += 1;
        continue;
      }
    }
    SEGMENT.lastIndex = pos;
    const m = SEGMENT.exec(pre);
    if (m === null) {
      // Punctuation and symbols: kept in the text, never a token. Step by code point, not code unit.
      const ch = String.fromCodePoint(pre.codePointAt(pos) ?? 0);
      emit(ch);
      pos += ch.length;
      continue;
    }
    const [whole, space, url, mention, hash, word, emoji] = m;
    pos += whole.length;
    if (space !== undefined || url !== undefined) {
      pendingSpace = true;
    } else if (mention !== undefined) {
      const start = emit(mention);
      // A handle is a name: no elongation or digit readings ("@shop247" is not "shopzat").
      tokens.push({ value: wordValue(mention), start, end: start + mention.length });
    } else if (hash !== undefined) {
      // Drop the mark; the word that follows is scanned as an ordinary word.
    } else if (word !== undefined) {
      pushWord(word);
    } else if (emoji !== undefined) {
      const start = emit(emoji);
      tokens.push({ value: emoji.replace(EMOJI_MODIFIERS, ''), start, end: start + emoji.length });
    }
  }
  return { text: out, tokens };
}
