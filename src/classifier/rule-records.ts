/**
 * The rules packed for classify()'s inner loop. With 10,000 rules, a post has about 150 candidate rules, and what
 * a candidate costs is mostly the memory it reads: a rule's objects and per-rule arrays lie far apart, each read
 * missing the processor's caches. So each rule is one record of consecutive 32-bit words (its flags, weight and
 * phrase ids together), and a plain rule is checked and traced from its record alone.
 */
import type { Priority } from '../types.js';
import type { CompiledRule } from './ruleset.js';

/** Record word 0 is not used (it keeps the weight 8-byte aligned). Record word: the rule's index in file order. */
export const REC_INDEX = 1;
/** Record word: the RULE_* bits. */
export const REC_FLAGS = 2;
/** Record words: how many `any`, `all` and `none` phrase ids follow the header, in that order. */
export const REC_ANY = 3;
export const REC_ALL = 4;
export const REC_NONE = 5;
/** Record words 6 and 7: the weight, as a float64 (records start at an even word, so it is 8-byte aligned). */
export const REC_WEIGHT = 6;
/** Record word: where the rule's terms as written start in {@link RuleRecords.terms}, one per phrase id. */
export const REC_TERMS = 8;
/** Record words from here: the phrase ids (`any`, then `all`, then `none`). */
export const REC_IDS = 10;

/**
 * A plain rule: no `when`, no regex, negation keep or cancel, no phrase listed by language. Whether it fires
 * depends on which phrases occur and where, nothing else.
 */
export const RULE_PLAIN = 1;
/** The rule's negation mode is keep: negated occurrences count. */
export const RULE_KEEP = 2;
/** The rule has a `near` condition (read from the rule's objects). */
export const RULE_NEAR = 4;
/** The rule's label is case (else lead). */
export const RULE_CASE = 8;
/** The rule sets a priority. */
export const RULE_PRIORITY = 16;

/** Every rule's record; a record is found by its offset in {@link RuleRecords.words}. */
export interface RuleRecords {
  /** The records, in file order, so ascending offsets are file order. */
  words: Int32Array;
  /** The same memory as float64, for the weights: the weight of the record at `off` is `floats[(off + REC_WEIGHT) / 2]`. */
  floats: Float64Array;
  /** By rule index: the offset of its record. */
  at: Int32Array;
  /** The rules' phrases as written, in their records' order. */
  terms: string[];
  /** By rule index: id and priority. */
  ids: string[];
  priorities: (Priority | undefined)[];
}

/** Pack compiled rules into records. */
export function packRules(rules: readonly CompiledRule[]): RuleRecords {
  const at = new Int32Array(rules.length);
  let size = 0;
  rules.forEach((rule, index) => {
    at[index] = size;
    const n = REC_IDS + rule.any.length + rule.all.length + rule.none.length;
    size += n + (n % 2);
  });
  const buffer = new ArrayBuffer(size * 4);
  const words = new Int32Array(buffer);
  const floats = new Float64Array(buffer);
  const terms: string[] = [];
  rules.forEach((rule, index) => {
    const off = at[index] as number;
    const phrases = [...rule.any, ...rule.all, ...rule.none];
    const byLanguage = [...phrases, ...rule.near.flatMap((n) => [...n.a, ...n.b])].some((p) => p.langs !== null);
    const plain = rule.when === null && rule.regex.length === 0 && rule.negation !== 'flip' && !byLanguage;
    words[off + REC_INDEX] = index;
    words[off + REC_FLAGS] =
      (plain ? RULE_PLAIN : 0) |
      (rule.negation === 'keep' ? RULE_KEEP : 0) |
      (rule.near.length > 0 ? RULE_NEAR : 0) |
      (rule.label === 'case' ? RULE_CASE : 0) |
      (rule.priority !== undefined ? RULE_PRIORITY : 0);
    words[off + REC_ANY] = rule.any.length;
    words[off + REC_ALL] = rule.all.length;
    words[off + REC_NONE] = rule.none.length;
    floats[(off + REC_WEIGHT) / 2] = rule.weight;
    words[off + REC_TERMS] = terms.length;
    phrases.forEach((p, k) => {
      words[off + REC_IDS + k] = p.id;
      terms.push(p.term);
    });
  });
  return { words, floats, at, terms, ids: rules.map((r) => r.id), priorities: rules.map((r) => r.priority) };
}
