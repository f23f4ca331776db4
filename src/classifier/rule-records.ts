/**
 * The rules packed for classify()'s inner loop. With 10,000 rules, a post has about 150 candidate rules, and what
 * a candidate costs is mostly the memory it reads: a rule's objects and per-rule arrays lie far apart, each read
 * missing the processor's caches. So a rule's flags and weight are one 16-byte entry of a dense array
 * ({@link RuleRecords.meta}), its phrase ids one record of consecutive 32-bit words, and the phrase index
 * ({@link PhraseIndex}) tells most rules whether they fire without reading their record at all.
 */
import type { Priority } from '../types.js';
import type { CompiledRule } from './ruleset.js';

/** Record word: the rule's index in file order. */
export const REC_INDEX = 0;
/** Record words: how many `any`, `all` and `none` phrase ids follow the header, in that order. */
export const REC_ANY = 1;
export const REC_ALL = 2;
export const REC_NONE = 3;
/** Record word: where the rule's terms as written start in {@link RuleRecords.terms}, one per phrase id. */
export const REC_TERMS = 4;
/** Record words from here: the phrase ids (`any`, then `all`, then `none`). */
export const REC_IDS = 5;

/** {@link RuleRecords.meta} words: the RULE_* bits, and how many different phrases the rule's `all` lists. */
export const META_FLAGS = 0;
export const META_ALL = 1;

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
/**
 * A plain rule with `any` phrases only (and maybe `none`), each a different phrase: when one of them occurs in a
 * post, its occurrences are the rule's terms, so it is decided and traced from the phrase index alone.
 */
export const RULE_ANY_ONLY = 32;

/**
 * A phrase index entry's role (its low bits, under {@link ROLE_MASK}). This one: the phrase can make the rule fire,
 * so the rule is a candidate when it occurs. A rule is made a candidate only by phrases it cannot fire without: its
 * `any` phrases when it has some (a rule with `any` fires only on one of them), else its `all`, else its `near` ones.
 */
export const ROLE_FIND = 0;
/** The phrase is in the `any` of a {@link RULE_ANY_ONLY} rule: the entry's term is the one the rule wrote. */
export const ROLE_ANY_ONLY = 1;
/** The phrase is in the `none` of a plain rule: when it occurs, the rule cannot fire. */
export const ROLE_NONE = 2;
/** The phrase is in the `all` of a plain rule: counted, as the rule can fire only when all of those occur. */
export const ROLE_ALL = 3;
/**
 * The phrase is in a `near` condition of a plain rule, on the side the entry's term gives as a bit number
 * (`2 * condition`, `+ 1` for its second list): noted, as the rule can fire only when each side occurs.
 */
export const ROLE_NEAR = 4;
/** An entry's role is its bits under this mask. */
export const ROLE_MASK = 7;
/** Set on a {@link ROLE_ALL} or {@link ROLE_NEAR} entry that only notes: another list of the rule makes it a candidate. */
export const ROLE_QUIET = 8;
/** An entry's rule index is the entry shifted right by this. */
export const ROLE_BITS = 4;
/**
 * A plain rule's first {@link NEAR_NOTED_MAX} `near` conditions are noted by the phrase index; their sides' bits,
 * all set, are its flags shifted right by {@link NEAR_MASK_SHIFT}.
 */
export const NEAR_NOTED_MAX = 8;
export const NEAR_MASK_SHIFT = 16;
/** A {@link ROLE_ANY_ONLY} entry whose rule wrote the phrase as {@link PhraseIndex.canonicalTerms} has it. */
export const CANONICAL_TERM = -1;

/** Every rule's record; a record is found by its offset in {@link RuleRecords.words}. */
export interface RuleRecords {
  /** The records, in file order, so ascending offsets are file order. */
  words: Int32Array;
  /** By rule index: the offset of its record. */
  at: Int32Array;
  /** The rules' phrases as written, in their records' order. */
  terms: string[];
  /** By rule index: id and priority. */
  ids: string[];
  priorities: (Priority | undefined)[];
  /**
   * By rule index, dense, four words from `4 * index`: its RULE_* bits ({@link META_FLAGS}), how many different
   * phrases its `all` lists ({@link META_ALL}), and its weight as a float64 (`metaWeights[2 * index + 1]`). One
   * 16-byte entry, so a candidate costs one read from memory, and one decided from the phrase index no more.
   */
  meta: Int32Array;
  /** The same memory as float64. */
  metaWeights: Float64Array;
}

/**
 * Which rules each phrase concerns, flattened by phrase id: the entries of phrase `id` are `entries[start[id]]` up
 * to `entries[start[id + 1]]`, each `(rule index << ROLE_BITS) | role`, ascending by rule. A post's found phrases
 * walk their entries once: that marks the candidate rules, blocks the plain rules a `none` phrase occurs in, counts
 * their `all` phrases and notes their `near` sides found, and tells each {@link RULE_ANY_ONLY} rule which of its
 * phrases occurred, so most rules are decided without reading anything of their own but their flags and weight.
 */
export interface PhraseIndex {
  start: Int32Array;
  entries: Int32Array;
  /**
   * Parallel to `entries`: for a {@link ROLE_ANY_ONLY} entry, where its term is in {@link RuleRecords.terms}, or
   * {@link CANONICAL_TERM}; for a {@link ROLE_NEAR} entry, its side's bit number.
   */
  terms: Int32Array;
  /** By phrase id: the phrase as the first rule holding it wrote it. Most rules write a phrase the same way. */
  canonicalTerms: string[];
  /** Rules to try on every post, whatever phrases it holds (those with regexes or of features alone), ascending. */
  alwaysTry: Int32Array;
}

/** Whether a rule is {@link RULE_PLAIN}: whether it fires depends on which phrases occur and where, nothing else. */
function isPlain(rule: CompiledRule): boolean {
  const phrases = [...rule.any, ...rule.all, ...rule.none, ...nearPhrases(rule)];
  return rule.when === null && rule.regex.length === 0 && rule.negation !== 'flip' && phrases.every((p) => p.langs === null);
}

/** Whether a plain rule is {@link RULE_ANY_ONLY}. */
function isAnyOnly(rule: CompiledRule): boolean {
  return rule.any.length > 0 && rule.all.length === 0 && rule.near.length === 0 && new Set(rule.any.map((p) => p.id)).size === rule.any.length;
}

/** The bits of a plain rule's noted `near` sides, all set (two per condition, see {@link ROLE_NEAR}). */
const nearMask = (rule: CompiledRule): number => (1 << (2 * Math.min(rule.near.length, NEAR_NOTED_MAX))) - 1;

/** The phrases of a rule's `near` conditions, both sides. */
const nearPhrases = (rule: CompiledRule) => rule.near.flatMap((n) => [...n.a, ...n.b]);

/** Index the rules by phrase (see {@link PhraseIndex}); each rule's flags are read from its packed {@link RuleRecords.meta}. */
export function indexPhrases(rules: readonly CompiledRule[], phraseCount: number, records: RuleRecords): PhraseIndex {
  const byPhrase: number[][] = Array.from({ length: phraseCount }, () => []);
  const termsByPhrase: number[][] = Array.from({ length: phraseCount }, () => []);
  const canonicalTerms: (string | undefined)[] = new Array(phraseCount);
  const alwaysTry: number[] = [];
  const add = (id: number, entry: number, term: number): void => {
    const list = byPhrase[id] as number[];
    const listTerms = termsByPhrase[id] as number[];
    // A phrase in two of a rule's lists (or twice in one) makes one entry per role (and near side). The rule's
    // entries are the list's last ones, as rules are indexed in order.
    for (let k = list.length - 1; k >= 0 && (list[k] as number) >>> ROLE_BITS === entry >>> ROLE_BITS; k--) {
      if (list[k] === entry && listTerms[k] === term) return;
    }
    list.push(entry);
    listTerms.push(term);
  };
  rules.forEach((rule, index) => {
    // A rule of features alone has no phrase to be found by: it is tried on every post.
    if (rule.regex.length > 0 || rule.any.length + rule.all.length + rule.near.length === 0) alwaysTry.push(index);
    const flags = records.meta[4 * index + META_FLAGS] as number;
    const plain = (flags & RULE_PLAIN) !== 0;
    const anyOnly = (flags & RULE_ANY_ONLY) !== 0;
    const near = nearPhrases(rule);
    for (const p of [...rule.any, ...rule.all, ...rule.none, ...near]) canonicalTerms[p.id] ??= p.term;
    const firstTerm = records.words[(records.at[index] as number) + REC_TERMS] as number;
    const entry = (role: number) => (index << ROLE_BITS) | role;
    rule.any.forEach((p, k) => {
      const term = p.term === canonicalTerms[p.id] ? CANONICAL_TERM : firstTerm + k;
      add(p.id, entry(anyOnly ? ROLE_ANY_ONLY : ROLE_FIND), anyOnly ? term : CANONICAL_TERM);
    });
    // Only the phrases the rule cannot fire without make it a candidate (see ROLE_FIND); a plain rule's `all` and
    // `near` phrases are noted whichever do.
    const allFind = rule.any.length === 0;
    const nearFind = allFind && rule.all.length === 0;
    if (plain) for (const p of rule.all) add(p.id, entry(ROLE_ALL | (allFind ? 0 : ROLE_QUIET)), CANONICAL_TERM);
    else if (allFind) for (const p of rule.all) add(p.id, entry(ROLE_FIND), CANONICAL_TERM);
    rule.near.forEach((n, c) => {
      const noted = plain && c < NEAR_NOTED_MAX;
      if (!noted && !nearFind) return;
      const role = noted ? ROLE_NEAR | (nearFind ? 0 : ROLE_QUIET) : ROLE_FIND;
      for (const p of n.a) add(p.id, entry(role), noted ? 2 * c : CANONICAL_TERM);
      for (const p of n.b) add(p.id, entry(role), noted ? 2 * c + 1 : CANONICAL_TERM);
    });
    if (plain) for (const p of rule.none) add(p.id, entry(ROLE_NONE), CANONICAL_TERM);
  });
  const start = new Int32Array(phraseCount + 1);
  for (let id = 0; id < phraseCount; id++) start[id + 1] = (start[id] as number) + (byPhrase[id] as number[]).length;
  const entries = new Int32Array(start[phraseCount] as number);
  const terms = new Int32Array(start[phraseCount] as number);
  byPhrase.forEach((list, id) => {
    entries.set(list, start[id]);
    terms.set(termsByPhrase[id] as number[], start[id]);
  });
  // Negation cues are phrases no rule holds: they have no wording of their own here.
  return { start, entries, terms, canonicalTerms: Array.from(canonicalTerms, (t) => t ?? ''), alwaysTry: Int32Array.from(alwaysTry) };
}

/** Pack compiled rules into records. */
export function packRules(rules: readonly CompiledRule[]): RuleRecords {
  const at = new Int32Array(rules.length);
  let size = 0;
  rules.forEach((rule, index) => {
    at[index] = size;
    size += REC_IDS + rule.any.length + rule.all.length + rule.none.length;
  });
  const words = new Int32Array(size);
  const terms: string[] = [];
  const metaBuffer = new ArrayBuffer(16 * rules.length);
  const meta = new Int32Array(metaBuffer);
  const metaWeights = new Float64Array(metaBuffer);
  rules.forEach((rule, index) => {
    const off = at[index] as number;
    const phrases = [...rule.any, ...rule.all, ...rule.none];
    const plain = isPlain(rule);
    const flags =
      (plain ? RULE_PLAIN | (nearMask(rule) << NEAR_MASK_SHIFT) : 0) |
      (plain && isAnyOnly(rule) ? RULE_ANY_ONLY : 0) |
      (rule.negation === 'keep' ? RULE_KEEP : 0) |
      (rule.near.length > 0 ? RULE_NEAR : 0) |
      (rule.label === 'case' ? RULE_CASE : 0) |
      (rule.priority !== undefined ? RULE_PRIORITY : 0);
    meta[4 * index + META_FLAGS] = flags;
    meta[4 * index + META_ALL] = new Set(rule.all.map((p) => p.id)).size;
    metaWeights[2 * index + 1] = rule.weight;
    words[off + REC_INDEX] = index;
    words[off + REC_ANY] = rule.any.length;
    words[off + REC_ALL] = rule.all.length;
    words[off + REC_NONE] = rule.none.length;
    words[off + REC_TERMS] = terms.length;
    phrases.forEach((p, k) => {
      words[off + REC_IDS + k] = p.id;
      terms.push(p.term);
    });
  });
  return {
    words,
    at,
    terms,
    ids: rules.map((r) => r.id),
    priorities: rules.map((r) => r.priority),
    meta,
    metaWeights,
  };
}
