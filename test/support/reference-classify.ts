/**
 * The classifier as it was before its speed work (issue 16), kept as the straightforward reference the
 * differential test compares classify() with: every rule is checked against every post (no candidate index), each
 * phrase's occurrences are copied per rule, and each rule's terms are built whether it fires or not.
 */
import { PRIORITIES, type Priority } from '../../src/types.js';
import { computeFeatures, detectLanguage, type PostFeatures } from '../../src/classifier/features.js';
import { normalizeText, type Token } from '../../src/classifier/normalize.js';
import type { Span } from '../../src/classifier/phrase-trie.js';
import { compiledOf, primaryLang, type CompiledConditions, type CompiledPhrase, type CompiledRule, type Ruleset } from '../../src/classifier/ruleset.js';
import { REGEX_INPUT_MAX } from '../../src/classifier/safe-regex.js';
import { MAX_CLASSIFIED_CHARS, MAX_TERMS_PER_RULE } from '../../src/classifier/classify.js';
import type { ClassifierInput, Decision, FiredRule, MatchedTerm } from '../../src/classifier/types.js';

// Sums of decimal weights drift (0.1 + 0.2 + 0.7 < 1), which would flip a decision sitting on a threshold.
const round = (x: number): number => Math.round(x * 1e9) / 1e9;
const rank = (p: Priority): number => PRIORITIES.indexOf(p);
// A negation reaches to the end of its clause, not past punctuation or "but" ("no problem, but it broke").
const CLAUSE_BREAK = /[.!?;:,]|\bbut\b|\baber\b|\bpero\b|\bmais\b|\bmas\b|\bma\b/u;
// A regex reports at most this many matches per post: enough to explain, bounded for long posts.
const REGEX_MATCHES_MAX = 10;

/** Whether the post meets a rule's `when` conditions. Unknown facts (no lang, no follower count) do not. */
const NO_OCCURRENCES: readonly Occurrence[] = [];

/**
 * Whether the rule is looked at: it has a regex, no phrase at all, or one of its phrases is in the post. Only such
 * a rule's conditions are checked, so only such a rule can make the decision report the features or the language.
 */
function mayFire(post: Post, rule: CompiledRule): boolean {
  const phrases = [...rule.any, ...rule.all, ...rule.near.flatMap((n) => [...n.a, ...n.b])];
  return rule.regex.length > 0 || phrases.length === 0 || phrases.some((p) => post.hits.has(p.id));
}

/** Whether one of the rule's `none` phrases occurs. */
function blocked(post: Post, rule: CompiledRule): boolean {
  for (const p of rule.none) if (occ(post, p).length > 0) return true;
  return false;
}

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

interface Occurrence extends Span {
  term: string;
}

/** What one classify call knows about its post; passed to the helpers below (closures would cost per call). */
interface Post {
  input: ClassifierInput;
  text: string;
  tokens: readonly Token[];
  hits: Map<number, Span[]>;
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
  occurrences: Map<CompiledPhrase, Occurrence[]>;
}

function isNegated(post: Post, span: Span): boolean {
  if (post.cues === null) {
    post.cues = [];
    for (const id of post.negationCues) {
      const spans = post.hits.get(id);
      if (spans !== undefined) post.cues.push(...spans);
    }
  }
  for (const c of post.cues) {
    if (c.last < span.first && span.first - c.last <= post.window && !CLAUSE_BREAK.test(post.text.slice(c.end, span.start))) {
      return true;
    }
  }
  return false;
}

/** A phrase's occurrences in the post. A phrase listed under a language matches posts in it, or of unknown language. */
function occ(post: Post, p: CompiledPhrase): readonly Occurrence[] {
  // Most phrases of a candidate rule are not in the post: answer those without allocating.
  const spans = post.hits.get(p.id);
  if (spans === undefined) return NO_OCCURRENCES;
  let list = post.occurrences.get(p);
  if (list === undefined) {
    list = [];
    if (p.langs === null || post.lang === null || p.langs.has(post.lang)) {
      for (const s of spans) list.push({ ...s, term: p.term });
    }
    post.occurrences.set(p, list);
  }
  return list;
}

function firstTokenAt(tokens: readonly Token[], offset: number): number {
  for (let i = 0; i < tokens.length; i++) if ((tokens[i] as Token).end > offset) return i;
  return tokens.length;
}

function regexOcc(post: Post, rule: CompiledRule): Occurrence[] {
  const found: Occurrence[] = [];
  const text = post.text.length > REGEX_INPUT_MAX ? post.text.slice(0, REGEX_INPUT_MAX) : post.text;
  for (const { term, regex } of rule.regex) {
    regex.lastIndex = 0;
    for (const m of text.matchAll(regex)) {
      if (m[0].length === 0) continue;
      const start = m.index;
      const end = start + m[0].length;
      const span = { start, end, first: firstTokenAt(post.tokens, start), last: Math.max(firstTokenAt(post.tokens, end) - 1, 0), negated: undefined };
      found.push({ ...span, term });
      if (found.length >= REGEX_MATCHES_MAX) return found;
    }
  }
  return found;
}

function usable(post: Post, list: readonly Occurrence[], withNegated: boolean, into: Occurrence[]): number {
  let n = 0;
  for (const o of list) {
    if (withNegated || !(o.negated ??= isNegated(post, o))) {
      into.push(o);
      n++;
    }
  }
  return n;
}

/** The terms that make the rule fire, counting negated occurrences or not; null when it does not fire. */
function evaluate(post: Post, rule: CompiledRule, regexHits: readonly Occurrence[], withNegated: boolean): MatchedTerm[] | null {
  const terms: Occurrence[] = [];
  if (rule.any.length + rule.regex.length > 0) {
    let found = 0;
    for (const p of rule.any) found += usable(post, occ(post, p), withNegated, terms);
    found += usable(post, regexHits, withNegated, terms);
    if (found === 0) return null;
  }
  for (const p of rule.all) {
    if (usable(post, occ(post, p), withNegated, terms) === 0) return null;
  }
  for (const near of rule.near) {
    const as: Occurrence[] = [];
    const bs: Occurrence[] = [];
    for (const p of near.a) usable(post, occ(post, p), withNegated, as);
    for (const p of near.b) usable(post, occ(post, p), withNegated, bs);
    let met = false;
    for (const a of as) {
      for (const b of bs) {
        const gap = a.last < b.first ? b.first - a.last - 1 : b.last < a.first ? a.first - b.last - 1 : -1;
        if (gap >= 0 && gap <= near.within) {
          terms.push(a, b);
          met = true;
        }
      }
    }
    if (!met) return null;
  }
  const matched: MatchedTerm[] = [];
  const seen = new Set<string>();
  for (const t of terms) {
    // A near pair can meet more than one partner, and a phrase can be in two lists: report each place once.
    const key = `${t.start}:${t.end}:${t.term}`;
    if (!seen.has(key)) {
      seen.add(key);
      matched.push({ term: t.term, start: t.start, end: t.end });
    }
  }
  // The first places are the explanation; a hostile post repeating a phrase 100,000 times must not
  // make a decision of megabytes.
  return matched.sort(byPosition).slice(0, MAX_TERMS_PER_RULE);
}

function byPosition(a: MatchedTerm, b: MatchedTerm): number {
  return a.start - b.start || a.end - b.end;
}

/** The decision classify()'s documentation describes, found the long way: every rule that has a phrase in the post (or none, or a regex). */
export function referenceClassify(input: ClassifierInput, ruleset: Ruleset): Decision {
  const compiled = compiledOf(ruleset);
  const { text, tokens } = normalizeText(input.text.length > MAX_CLASSIFIED_CHARS ? input.text.slice(0, MAX_CLASSIFIED_CHARS) : input.text);
  const hits = compiled.trie.scan(tokens);
  const post: Post = {
    input,
    text,
    tokens,
    hits,
    lang: input.lang ? primaryLang(input.lang) : null,
    langDetected: false,
    langAsked: false,
    features: null,
    cues: null,
    negationCues: compiled.negationCues,
    window: compiled.negationWindow,
    occurrences: new Map(),
  };

  const fired: FiredRule[] = [];
  let leadScore = 0;
  let caseScore = 0;
  let priority: Priority | null = null;
  let priorityRule: string | null = null;

  for (const rule of compiled.rules) {
    if (!mayFire(post, rule)) continue;
    if (!conditionsHold(rule.when, post)) continue;
    if (blocked(post, rule)) continue;
    const regexHits = rule.regex.length > 0 ? regexOcc(post, rule) : NO_OCCURRENCES;

    let terms = evaluate(post, rule, regexHits, rule.negation === 'keep');
    let flipped = false;
    if (terms === null && rule.negation === 'flip') {
      terms = evaluate(post, rule, regexHits, true);
      flipped = terms !== null;
    }
    if (terms === null) continue;

    const weight = flipped ? -rule.weight : rule.weight;
    const setsPriority = rule.priority !== undefined && !flipped;
    fired.push({
      id: rule.id,
      label: rule.label,
      weight,
      terms,
      ...(setsPriority ? { priority: rule.priority } : {}),
      ...(flipped ? { negated: true } : {}),
      ...(rule.when?.needsFeatures ? { features: featuresRead(rule.when, featuresOf(post)) } : {}),
    });
    if (rule.label === 'lead') {
      leadScore += weight;
    } else {
      caseScore += weight;
      if (setsPriority && (priority === null || rank(rule.priority as Priority) > rank(priority))) {
        priority = rule.priority as Priority;
        priorityRule = rule.id;
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
