import { PRIORITIES, type Priority } from '../types.js';
import { computeFeatures, detectLanguage, type PostFeatures } from './features.js';
import { normalizeText, type Token } from './normalize.js';
import { type FoundPhrases, foundPhrases, type Span } from './phrase-trie.js';
import {
  compiledOf,
  primaryLang,
  type CompiledConditions,
  type CompiledNear,
  type CompiledPhrase,
  type CompiledRule,
  type CompiledRuleset,
  type Ruleset,
} from './ruleset.js';
import {
  CANONICAL_TERM,
  META_ALL,
  META_FLAGS,
  REC_ALL,
  REC_ANY,
  REC_IDS,
  REC_INDEX,
  REC_NONE,
  REC_TERMS,
  NEAR_MASK_SHIFT,
  ROLE_ALL,
  ROLE_ANY_ONLY,
  ROLE_BITS,
  ROLE_FIND,
  ROLE_MASK,
  ROLE_NONE,
  ROLE_QUIET,
  RULE_ANY_ONLY,
  RULE_CASE,
  RULE_KEEP,
  RULE_NEAR,
  RULE_PLAIN,
  RULE_PRIORITY,
} from './rule-records.js';
import { REGEX_INPUT_MAX } from './safe-regex.js';
import type { ClassifierInput, Decision, FiredRule, MatchedTerm } from './types.js';

// Sums of decimal weights drift (0.1 + 0.2 + 0.7 < 1), which would flip a decision sitting on a threshold.
const round = (x: number): number => Math.round(x * 1e9) / 1e9;
const rank = (p: Priority): number => PRIORITIES.indexOf(p);
// A negation reaches to the end of its clause, not past punctuation or "but" ("no problem, but it broke").
const CLAUSE_BREAK = /[.!?;:,]|\bbut\b|\baber\b|\bpero\b|\bmais\b|\bmas\b|\bma\b/u;
// A regex reports at most this many matches per post: enough to explain, bounded for long posts.
const REGEX_MATCHES_MAX = 10;

const NO_SPANS: readonly Span[] = [];
const NO_REGEX_SPANS: readonly RegexSpan[] = [];
/** Past this many matched places, duplicates are found with a set rather than by looking back through the list. */
const LINEAR_DEDUP_MAX = 16;

/** Whether one of the rule's `none` phrases occurs. */
function blocked(post: Post, rule: CompiledRule): boolean {
  for (const p of rule.none) if (spansOf(post, p).length > 0) return true;
  return false;
}

/** Whether the post meets a rule's `when` conditions. Unknown facts (no lang, no follower count) do not. */
function conditionsHold(when: CompiledConditions | null, post: Post): boolean {
  if (when === null) return true;
  const input = post.input;
  if (when.platforms !== null && !when.platforms.has(input.platform)) return false;
  if (when.isReply !== null && when.isReply !== input.isReply) return false;
  if (when.followersMin !== null && (input.followers === undefined || input.followers < when.followersMin)) return false;
  if (when.followersMax !== null && (input.followers === undefined || input.followers > when.followersMax)) return false;
  if (when.langs !== null) {
    const lang = langOf(post);
    if (lang === null || !when.langs.has(lang)) return false;
  }
  if (when.needsFeatures) {
    const f = featuresOf(post);
    for (const name of when.features) if (!f[name]) return false;
    for (const name of when.notFeatures) if (f[name]) return false;
    if (when.sentimentMin !== null && f.sentiment < when.sentimentMin) return false;
    if (when.sentimentMax !== null && f.sentiment > when.sentimentMax) return false;
  }
  return true;
}

/** The post's language for `when.lang`: its own tag, else detected once (detection costs more than classifying). */
function langOf(post: Post): string | null {
  post.langAsked = true;
  if (post.lang === null && !post.langDetected) {
    post.langDetected = true;
    post.lang = detectLanguage(post.text);
  }
  return post.lang;
}

function featuresOf(post: Post): PostFeatures {
  return (post.features ??= computeFeatures(post.input, post.text, post.tokens));
}

/** The features a rule's conditions read, with the post's values: the trace of a feature rule. */
function featuresRead(when: CompiledConditions, f: PostFeatures): NonNullable<FiredRule['features']> {
  const read: NonNullable<FiredRule['features']> = {};
  for (const name of [...when.features, ...when.notFeatures]) read[name] = f[name];
  if (when.sentimentMin !== null || when.sentimentMax !== null) read.sentiment = f.sentiment;
  return read;
}

/** A regex match: a span with the pattern as its term (a phrase's term comes from the phrase). */
interface RegexSpan extends Span {
  term: string;
}

/**
 * Per-ruleset arrays that classify() reuses from post to post instead of building maps and lists for each: bits
 * are cleared by the post that set them (or the next), and a stamped entry belongs to the current post only when
 * its stamp equals the post's epoch. classify() is synchronous and calls nothing that classifies, so one set per
 * ruleset is never shared by two posts at once.
 */
interface Scratch {
  epoch: number;
  /**
   * The phrases the trie found in the current post: one bit per phrase id (rules ask about their phrases, most of
   * which do not occur: a bit set is small enough to stay in the processor's nearest cache even with 10,000
   * rules, where a word per phrase would not), and each one's slot in the post's list of span lists. An index,
   * not the list itself: a long-lived array pointing at each post's young objects would keep them alive and slow
   * every collection.
   */
  found: FoundPhrases;
  /**
   * By phrase id, two entries from `2 * id`, read for phrases that occur only:
   * - {@link CHECKED}: the epoch of the last post in which whether an occurrence no cue governs was worked out,
   * - {@link FREE}: and the epoch of the last post in which there was one.
   */
  phrases: Uint32Array;
  /** One bit per rule index: set while the current post's candidates are collected, cleared as they are read. */
  ruleBits: Uint32Array;
  /**
   * One bit per word of `ruleBits`: set when the word has a bit set, so that reading the candidates back skips the
   * empty words (with 10,000 rules, 313 words for ~140 candidates).
   */
  wordBits: Uint32Array;
  /** The current post's candidate rule indexes, in its first entries. */
  candidates: Int32Array;
  /**
   * By rule index, four entries from `4 * index`, set while the found phrases' index entries are walked and valid
   * when {@link NOTED_AT} is the post's epoch (as an int32):
   * - {@link NOTED_AT}: the epoch in which one of the rule's `any` phrases (of a {@link RULE_ANY_ONLY} rule) or of
   *   its `all` or `near` phrases (of a plain rule) was found,
   * - {@link ANY_PHRASE}: for an any-only rule, that phrase's id, or {@link MANY} when a second one was found too;
   *   {@link ALL_FOUND}, the same entry, for a plain rule with `all`: how many of those were found,
   * - {@link ANY_TERM}: the entry's term (an index in the written terms, or {@link CANONICAL_TERM});
   *   {@link NEAR_FOUND}, the same entry, for a plain rule with `near`: the bits of the near sides found,
   * - {@link BLOCKED_AT}: the epoch in which one of its `none` phrases (of a plain rule) was found.
   */
  rules: Int32Array;
}

const CHECKED = 0;
const FREE = 1;

const NOTED_AT = 0;
const ANY_PHRASE = 1;
const ALL_FOUND = 1;
const ANY_TERM = 2;
const NEAR_FOUND = 2;
const BLOCKED_AT = 3;
const MANY = -1;

const scratches = new WeakMap<CompiledRuleset, Scratch>();

function scratchOf(compiled: CompiledRuleset): Scratch {
  let scratch = scratches.get(compiled);
  if (scratch === undefined) {
    scratch = {
      epoch: 0,
      found: foundPhrases(compiled.phraseCount),
      phrases: new Uint32Array(2 * compiled.phraseCount),
      ruleBits: new Uint32Array(Math.ceil(compiled.rules.length / 32)),
      wordBits: new Uint32Array(Math.ceil(compiled.rules.length / 1024)),
      candidates: new Int32Array(compiled.rules.length),
      rules: new Int32Array(4 * compiled.rules.length),
    };
    scratches.set(compiled, scratch);
  }
  if (scratch.epoch === 0xffffffff) {
    // After four billion posts the stamps would repeat: start again from clean arrays.
    scratch.phrases.fill(0);
    scratch.rules.fill(0);
    scratch.epoch = 0;
  }
  scratch.epoch += 1;
  return scratch;
}

/** What one classify call knows about its post; passed to the helpers below (closures would cost per call). */
interface Post {
  input: ClassifierInput;
  text: string;
  tokens: readonly Token[];
  epoch: number;
  found: Uint32Array;
  /** By phrase id: where its span list is in `spans` (see {@link Scratch.found}). */
  slotOf: Int32Array;
  phrases: Uint32Array;
  /** The span lists of the phrases found, by slot. */
  spans: Span[][];
  /**
   * By the same slot as `spans`: the phrase's usable occurrences as terms under its canonical wording (negated ones
   * left out), once an any-only rule asked; every rule that fires on the phrase alone shares the list.
   */
  canonical: (MatchedTerm[] | null | undefined)[];
  lang: string | null;
  /** Whether `lang` was detected (the post had no tag); set when a rule first asks. */
  langDetected: boolean;
  /** Whether a rule was scoped by language: only then does the decision say which language applied. */
  langAsked: boolean;
  /** Computed when a rule first asks. */
  features: PostFeatures | null;
  /** Where negation cues occur; found when a rule first asks. */
  cues: Span[] | null;
  negationCues: ReadonlySet<number>;
  window: number;
}

function isNegated(post: Post, span: Span): boolean {
  if (post.cues === null) {
    post.cues = [];
    for (const id of post.negationCues) post.cues.push(...spansById(post, id));
  }
  for (const c of post.cues) {
    if (c.last < span.first && span.first - c.last <= post.window && !CLAUSE_BREAK.test(post.text.slice(c.end, span.start))) {
      return true;
    }
  }
  return false;
}

/** Whether an occurrence counts: every one does when negated ones count, else only those no cue governs. */
function usable(post: Post, span: Span, withNegated: boolean): boolean {
  // Negation depends on the place only, so it is worked out once per place, whichever rule asks first.
  return withNegated || !(span.negated ??= isNegated(post, span));
}

/**
 * A phrase's occurrences in the post, shared by every rule that holds the phrase. A phrase listed under a language
 * matches posts in it, or of unknown language (read when the rule is looked at: a rule's `when.lang` may just
 * have detected it).
 */
function spansOf(post: Post, p: CompiledPhrase): readonly Span[] {
  const spans = spansById(post, p.id);
  return p.langs === null || post.lang === null || p.langs.has(post.lang) ? spans : NO_SPANS;
}

/** Whether the phrase with this trie id occurs in the post. */
function occurs(post: Post, id: number): boolean {
  return ((post.found[id >>> 5] as number) & (1 << (id & 31))) !== 0;
}

/** The occurrences of a phrase by trie id (whatever the languages it is listed under). */
function spansById(post: Post, id: number): readonly Span[] {
  return occurs(post, id) ? (post.spans[post.slotOf[id] as number] as Span[]) : NO_SPANS;
}

/** Whether a phrase, by trie id, has a usable occurrence; worked out once per post and phrase for negated ones. */
function idUsable(post: Post, id: number, withNegated: boolean): boolean {
  if (!occurs(post, id)) return false;
  const at = 2 * id;
  const phrases = post.phrases;
  if (withNegated) return true;
  if (phrases[at + CHECKED] !== post.epoch) {
    phrases[at + CHECKED] = post.epoch;
    if (anyUsable(post, post.spans[post.slotOf[id] as number] as Span[], false)) phrases[at + FREE] = post.epoch;
  }
  return phrases[at + FREE] === post.epoch;
}

/**
 * {@link fires} and {@link termsOf} for a plain rule, in one pass over the phrase ids and terms of its record: its
 * terms when it fires, else null. Its `none` phrases are checked first (a plain rule has no `when` to check
 * before), then its `all` phrases, without building anything; its `any` phrases' terms are built as they are
 * found, since a rule that gets that far nearly always fires.
 */
function plainFired(post: Post, compiled: CompiledRuleset, off: number, flags: number): MatchedTerm[] | null {
  const { words, terms: written } = compiled.records;
  const withNegated = (flags & RULE_KEEP) !== 0;
  const anyCount = words[off + REC_ANY] as number;
  const allFrom = off + REC_IDS + anyCount;
  const noneFrom = allFrom + (words[off + REC_ALL] as number);
  const end = noneFrom + (words[off + REC_NONE] as number);
  for (let k = noneFrom; k < end; k++) if (occurs(post, words[k] as number)) return null;
  for (let k = allFrom; k < noneFrom; k++) if (!idUsable(post, words[k] as number, withNegated)) return null;
  const terms: MatchedTerm[] = [];
  // any, then all (regex has none): the order termsOf pushes them in.
  const firstTerm = (words[off + REC_TERMS] as number) - (off + REC_IDS);
  for (let k = off + REC_IDS; k < allFrom; k++) {
    const id = words[k] as number;
    if (occurs(post, id)) pushTerms(post, written[firstTerm + k] as string, spansById(post, id), withNegated, terms);
  }
  if (anyCount > 0 && terms.length === 0) return null;
  for (let k = allFrom; k < noneFrom; k++) {
    const id = words[k] as number;
    pushTerms(post, written[firstTerm + k] as string, spansById(post, id), withNegated, terms);
  }
  if ((flags & RULE_NEAR) !== 0) {
    const nears = (compiled.rules[words[off + REC_INDEX] as number] as CompiledRule).near;
    for (const near of nears) if (!nearMet(post, near, withNegated)) return null;
    for (const near of nears) pushNearTerms(post, near, withNegated, terms);
  }
  return finishTerms(terms);
}

function anyUsable(post: Post, spans: readonly Span[], withNegated: boolean): boolean {
  for (const s of spans) if (usable(post, s, withNegated)) return true;
  return false;
}

function anyPhraseUsable(post: Post, phrases: readonly CompiledPhrase[], withNegated: boolean): boolean {
  for (const p of phrases) if (anyUsable(post, spansOf(post, p), withNegated)) return true;
  return false;
}

/** Words between two places, or -1 when they overlap. */
function gap(a: Span, b: Span): number {
  return a.last < b.first ? b.first - a.last - 1 : b.last < a.first ? a.first - b.last - 1 : -1;
}

/** Whether a usable occurrence of one of `bs` is within `within` words of `a`. */
function hasPartner(post: Post, a: Span, bs: readonly CompiledPhrase[], within: number, withNegated: boolean): boolean {
  for (const p of bs) {
    for (const b of spansOf(post, p)) {
      const g = gap(a, b);
      if (g >= 0 && g <= within && usable(post, b, withNegated)) return true;
    }
  }
  return false;
}

function nearMet(post: Post, near: CompiledNear, withNegated: boolean): boolean {
  for (const p of near.a) {
    for (const a of spansOf(post, p)) if (usable(post, a, withNegated) && hasPartner(post, a, near.b, near.within, withNegated)) return true;
  }
  return false;
}

/** Whether the rule fires, counting negated occurrences or not; allocates nothing, as most candidates do not fire. */
function fires(post: Post, rule: CompiledRule, regexHits: readonly RegexSpan[], withNegated: boolean): boolean {
  if (rule.any.length + rule.regex.length > 0 && !anyPhraseUsable(post, rule.any, withNegated) && !anyUsable(post, regexHits, withNegated)) {
    return false;
  }
  for (const p of rule.all) if (!anyUsable(post, spansOf(post, p), withNegated)) return false;
  for (const near of rule.near) if (!nearMet(post, near, withNegated)) return false;
  return true;
}

/** Appends a phrase's usable occurrences as matched terms, until `into` holds `max`. */
function pushTerms(post: Post, term: string, spans: readonly Span[], withNegated: boolean, into: MatchedTerm[], max = Number.POSITIVE_INFINITY): void {
  for (let i = 0; i < spans.length && into.length < max; i++) {
    const s = spans[i] as Span;
    if (usable(post, s, withNegated)) into.push({ term, start: s.start, end: s.end });
  }
}

/** A near condition's pairs close enough, each as its two places, in the order of `a`'s occurrences, then `b`'s. */
function pushNearTerms(post: Post, near: CompiledNear, withNegated: boolean, into: MatchedTerm[]): void {
  for (const pa of near.a) {
    for (const a of spansOf(post, pa)) {
      if (!usable(post, a, withNegated)) continue;
      for (const pb of near.b) {
        for (const b of spansOf(post, pb)) {
          const g = gap(a, b);
          if (g >= 0 && g <= near.within && usable(post, b, withNegated)) {
            into.push({ term: pa.term, start: a.start, end: a.end }, { term: pb.term, start: b.start, end: b.end });
          }
        }
      }
    }
  }
}

/**
 * The terms of a rule that fires: its `any` phrases' occurrences, its regex matches, its `all` phrases' and its
 * near pairs', each place once, in text order (a tie keeps that order), the first {@link MAX_TERMS_PER_RULE}.
 */
function termsOf(post: Post, rule: CompiledRule, regexHits: readonly RegexSpan[], withNegated: boolean): MatchedTerm[] {
  const terms: MatchedTerm[] = [];
  for (const p of rule.any) pushTerms(post, p.term, spansOf(post, p), withNegated, terms);
  for (const r of regexHits) if (usable(post, r, withNegated)) terms.push({ term: r.term, start: r.start, end: r.end });
  for (const p of rule.all) pushTerms(post, p.term, spansOf(post, p), withNegated, terms);
  for (const near of rule.near) pushNearTerms(post, near, withNegated, terms);
  return finishTerms(terms);
}

/** Terms in text order, each place once, the first {@link MAX_TERMS_PER_RULE}. */
function finishTerms(terms: MatchedTerm[]): MatchedTerm[] {
  if (terms.length <= 1) return terms;
  // A near pair can meet more than one partner, and a phrase can be in two lists: report each place once.
  const unique = terms.length <= LINEAR_DEDUP_MAX ? dedupByLooking(terms) : dedupBySet(terms);
  // The first places are the explanation; a hostile post repeating a phrase 100,000 times must not
  // make a decision of megabytes.
  unique.sort(byPosition);
  if (unique.length > MAX_TERMS_PER_RULE) unique.length = MAX_TERMS_PER_RULE;
  return unique;
}

const samePlace = (a: MatchedTerm, b: MatchedTerm): boolean => a.start === b.start && a.end === b.end && a.term === b.term;

function dedupByLooking(terms: readonly MatchedTerm[]): MatchedTerm[] {
  const unique: MatchedTerm[] = [];
  for (const t of terms) {
    let seen = false;
    for (const u of unique) if (samePlace(t, u)) seen = true;
    if (!seen) unique.push(t);
  }
  return unique;
}

function dedupBySet(terms: readonly MatchedTerm[]): MatchedTerm[] {
  const seen = new Set<string>();
  const unique: MatchedTerm[] = [];
  for (const t of terms) {
    const key = `${t.start}:${t.end}:${t.term}`;
    if (!seen.has(key)) {
      seen.add(key);
      unique.push(t);
    }
  }
  return unique;
}

function firstTokenAt(tokens: readonly Token[], offset: number): number {
  for (let i = 0; i < tokens.length; i++) if ((tokens[i] as Token).end > offset) return i;
  return tokens.length;
}

function regexOcc(post: Post, rule: CompiledRule): RegexSpan[] {
  const found: RegexSpan[] = [];
  const text = post.text.length > REGEX_INPUT_MAX ? post.text.slice(0, REGEX_INPUT_MAX) : post.text;
  for (const { term, regex } of rule.regex) {
    regex.lastIndex = 0;
    for (const m of text.matchAll(regex)) {
      if (m[0].length === 0) continue;
      const start = m.index;
      const end = start + m[0].length;
      found.push({ start, end, first: firstTokenAt(post.tokens, start), last: Math.max(firstTokenAt(post.tokens, end) - 1, 0), negated: undefined, term });
      if (found.length >= REGEX_MATCHES_MAX) return found;
    }
  }
  return found;
}

/**
 * The indexes of the rules that can fire on the post (one of their phrases is in it, or they are always tried),
 * each once, ascending (file order); also notes in the scratch's `rules` which plain rules a `none` phrase blocks,
 * how many `all` phrases and which `near` sides of a plain rule occurred, and which `any` phrase of an any-only rule.
 */
function candidatesOf(compiled: CompiledRuleset, scratch: Scratch): Int32Array {
  const { ruleBits, wordBits, candidates, rules } = scratch;
  const { ids, count: foundCount } = scratch.found;
  const { start, entries, terms, alwaysTry } = compiled.phrases;
  const stamp = scratch.epoch | 0;
  // A rule's bit, set once however many of its phrases occur; the bits are read back in order, which costs less
  // than sorting the indexes (a typed array's sort costs microseconds on a few hundred).
  for (let i = 0; i < alwaysTry.length; i++) markRule(ruleBits, wordBits, alwaysTry[i] as number);
  for (let slot = 0; slot < foundCount; slot++) {
    const id = ids[slot] as number;
    const end = start[id + 1] as number;
    for (let k = start[id] as number; k < end; k++) {
      const entry = entries[k] as number;
      const index = entry >>> ROLE_BITS;
      const role = entry & ROLE_MASK;
      if (role === ROLE_NONE) {
        rules[4 * index + BLOCKED_AT] = stamp;
        continue;
      }
      if (role === ROLE_ANY_ONLY) {
        const at = 4 * index;
        if (rules[at + NOTED_AT] !== stamp) {
          rules[at + NOTED_AT] = stamp;
          rules[at + ANY_PHRASE] = id;
          rules[at + ANY_TERM] = terms[k] as number;
        } else {
          rules[at + ANY_PHRASE] = MANY;
        }
      } else if (role !== ROLE_FIND) {
        // ROLE_ALL or ROLE_NEAR: a plain rule's `all` phrases found are counted, its near sides found noted.
        const at = 4 * index;
        if (rules[at + NOTED_AT] !== stamp) {
          rules[at + NOTED_AT] = stamp;
          rules[at + ALL_FOUND] = 0;
          rules[at + NEAR_FOUND] = 0;
        }
        if (role === ROLE_ALL) rules[at + ALL_FOUND] = (rules[at + ALL_FOUND] as number) + 1;
        else rules[at + NEAR_FOUND] = (rules[at + NEAR_FOUND] as number) | (1 << (terms[k] as number));
        if ((entry & ROLE_QUIET) !== 0) continue;
      }
      markRule(ruleBits, wordBits, index);
    }
  }
  let count = 0;
  for (let s = 0; s < wordBits.length; s++) {
    let words = wordBits[s] as number;
    if (words === 0) continue;
    wordBits[s] = 0;
    while (words !== 0) {
      const w = (s << 5) | lowestBit(words);
      words &= words - 1;
      let bits = ruleBits[w] as number;
      ruleBits[w] = 0;
      while (bits !== 0) {
        candidates[count++] = (w << 5) | lowestBit(bits);
        bits &= bits - 1;
      }
    }
  }
  return candidates.subarray(0, count);
}

/** Set a rule's candidate bit, and its word's bit in `wordBits`. */
function markRule(ruleBits: Uint32Array, wordBits: Uint32Array, index: number): void {
  const w = index >>> 5;
  const was = ruleBits[w] as number;
  ruleBits[w] = was | (1 << (index & 31));
  if (was === 0) wordBits[w >>> 5] = (wordBits[w >>> 5] as number) | (1 << (w & 31));
}

/** The place of the lowest bit set in a non-zero 32-bit word. */
function lowestBit(bits: number): number {
  return 31 - Math.clz32(bits & -bits);
}

/**
 * The terms of an any-only rule one of whose phrases occurs, and no other: that phrase's usable occurrences (the
 * trie lists them in text order, each place once), or null when none is usable. Reads nothing of the rule's own
 * but the term it wrote, and that only when it wrote the phrase otherwise than the first rule holding it.
 */
function anyOnlyFired(post: Post, compiled: CompiledRuleset, id: number, term: number, withNegated: boolean): MatchedTerm[] | null {
  if (term === CANONICAL_TERM && !withNegated) {
    const slot = post.slotOf[id] as number;
    let terms = post.canonical[slot];
    if (terms === undefined) {
      terms = usableTerms(post, compiled.phrases.canonicalTerms[id] as string, spansById(post, id), false);
      post.canonical[slot] = terms;
    }
    return terms;
  }
  const written = term === CANONICAL_TERM ? (compiled.phrases.canonicalTerms[id] as string) : (compiled.records.terms[term] as string);
  return usableTerms(post, written, spansById(post, id), withNegated);
}

/** A phrase's usable occurrences as terms (the first {@link MAX_TERMS_PER_RULE}), or null when none is. */
function usableTerms(post: Post, written: string, spans: readonly Span[], withNegated: boolean): MatchedTerm[] | null {
  const terms: MatchedTerm[] = [];
  pushTerms(post, written, spans, withNegated, terms, MAX_TERMS_PER_RULE);
  return terms.length > 0 ? terms : null;
}

/**
 * Only a post's first characters are read: real posts are far shorter (X allows 25,000 characters
 * at most), and a hostile megabyte of repeated phrases must not hold a worker for seconds.
 */
export const MAX_CLASSIFIED_CHARS = 25_000;

/** Most matched places reported per fired rule. */
export const MAX_TERMS_PER_RULE = 20;

function byPosition(a: MatchedTerm, b: MatchedTerm): number {
  return a.start - b.start || a.end - b.end;
}

/**
 * Classify a post with a ruleset. Pure: the same input and ruleset always give the same decision.
 *
 * A rule fires when its `when` conditions hold, none of its `none` phrases occur, one of its `any` phrases or
 * `regex` patterns matches (or it has neither), all of its `all` phrases occur and each `near` pair occurs
 * close enough. A phrase right after a negation cue ("not interested") counts as negated: under
 * `negation: cancel` it does not count, under `flip` a rule that fires only on negated phrases argues against
 * its label (its weight is negated), under `keep` negation is ignored. Each label's score is the sum of the
 * weights of its fired rules. A label wins when its score reaches its threshold; when both do, the higher
 * score wins and a tie goes to case, because support acts first.
 */
export function classify(input: ClassifierInput, ruleset: Ruleset): Decision {
  const compiled = compiledOf(ruleset);
  const { text, tokens } = normalizeText(input.text.length > MAX_CLASSIFIED_CHARS ? input.text.slice(0, MAX_CLASSIFIED_CHARS) : input.text);
  const scratch = scratchOf(compiled);
  const spans = compiled.trie.scanInto(tokens, scratch.found);
  const post: Post = {
    input,
    text,
    tokens,
    epoch: scratch.epoch,
    found: scratch.found.found,
    slotOf: scratch.found.slotOf,
    phrases: scratch.phrases,
    spans,
    canonical: [],
    lang: input.lang ? primaryLang(input.lang) : null,
    langDetected: false,
    langAsked: false,
    features: null,
    cues: null,
    negationCues: compiled.negationCues,
    window: compiled.negationWindow,
  };

  const fired: FiredRule[] = [];
  let leadScore = 0;
  let caseScore = 0;
  let priority: Priority | null = null;
  let priorityRule: string | null = null;

  // Only rules with one of their phrases in the post (or a regex) can fire: look at those, in file order.
  const candidates = candidatesOf(compiled, scratch);
  const records = compiled.records;
  const ruleNotes = scratch.rules;
  const stamp = post.epoch | 0;
  for (let i = 0; i < candidates.length; i++) {
    const index = candidates[i] as number;
    const flags = records.meta[4 * index + META_FLAGS] as number;
    let flipped = false;
    let terms: MatchedTerm[];
    let features: FiredRule['features'];
    if ((flags & RULE_PLAIN) !== 0) {
      const at = 4 * index;
      if (ruleNotes[at + BLOCKED_AT] === stamp) continue;
      const noted = ruleNotes[at + NOTED_AT] === stamp;
      const allCount = records.meta[4 * index + META_ALL] as number;
      // Not all of its `all` phrases occur: it cannot fire, and its record need not be read.
      if (allCount > 0 && (!noted || (ruleNotes[at + ALL_FOUND] as number) < allCount)) continue;
      // A near condition one side of which does not occur: the same.
      const nearSides = flags >>> NEAR_MASK_SHIFT;
      if (nearSides !== 0 && (!noted || ((ruleNotes[at + NEAR_FOUND] as number) & nearSides) !== nearSides)) continue;
      const phrase = ruleNotes[at + ANY_PHRASE] as number;
      const found =
        (flags & RULE_ANY_ONLY) !== 0 && phrase !== MANY
          ? anyOnlyFired(post, compiled, phrase, ruleNotes[at + ANY_TERM] as number, (flags & RULE_KEEP) !== 0)
          : plainFired(post, compiled, records.at[index] as number, flags);
      if (found === null) continue;
      terms = found;
    } else {
      const rule = compiled.rules[index] as CompiledRule;
      let withNegated = (flags & RULE_KEEP) !== 0;
      if (!conditionsHold(rule.when, post)) continue;
      if (blocked(post, rule)) continue;
      const regexHits = rule.regex.length > 0 ? regexOcc(post, rule) : NO_REGEX_SPANS;
      if (!fires(post, rule, regexHits, withNegated)) {
        if (rule.negation !== 'flip' || !fires(post, rule, regexHits, true)) continue;
        withNegated = true;
        flipped = true;
      }
      terms = termsOf(post, rule, regexHits, withNegated);
      if (rule.when?.needsFeatures) features = featuresRead(rule.when, featuresOf(post));
    }

    const id = records.ids[index] as string;
    const label = (flags & RULE_CASE) !== 0 ? 'case' : 'lead';
    const ruleWeight = records.metaWeights[2 * index + 1] as number;
    const weight = flipped ? -ruleWeight : ruleWeight;
    const rulePriority = flipped || (flags & RULE_PRIORITY) === 0 ? undefined : records.priorities[index];
    // Fields in this order, as the decision is stored and compared as JSON; absent rather than undefined.
    const one: FiredRule = { id, label, weight, terms };
    if (rulePriority !== undefined) one.priority = rulePriority;
    if (flipped) one.negated = true;
    if (features !== undefined) one.features = features;
    fired.push(one);
    if (label === 'lead') {
      leadScore += weight;
    } else {
      caseScore += weight;
      if (rulePriority !== undefined && (priority === null || rank(rulePriority) > rank(priority))) {
        priority = rulePriority;
        priorityRule = id;
      }
    }
  }

  const scores = { lead: round(leadScore), case: round(caseScore) };
  const leadWins = scores.lead >= compiled.thresholds.lead;
  const caseWins = scores.case >= compiled.thresholds.case;
  const label = caseWins && (!leadWins || scores.case >= scores.lead) ? 'case' : leadWins ? 'lead' : 'none';

  return {
    label,
    score: label === 'none' ? Math.max(scores.lead, scores.case) : scores[label],
    scores,
    priority: label === 'case' ? (priority ?? 'normal') : null,
    priorityRule: label === 'case' ? priorityRule : null,
    rules: fired,
    rulesetVersion: ruleset.version,
    ...(post.features !== null ? { features: post.features } : {}),
    ...(post.langAsked && post.lang !== null ? { lang: { code: post.lang, source: post.langDetected ? 'detected' : 'post' } } : {}),
  };
}
