import { PRIORITIES, type Priority } from '../types.js';
import { normalizeText, type Token } from './normalize.js';
import type { Span } from './phrase-trie.js';
import {
  compiledOf,
  primaryLang,
  type CompiledConditions,
  type CompiledPhrase,
  type CompiledRule,
  type Ruleset,
} from './ruleset.js';
import { REGEX_INPUT_MAX } from './safe-regex.js';
import type { ClassifierInput, Decision, FiredRule, MatchedTerm } from './types.js';

// Sums of decimal weights drift (0.1 + 0.2 + 0.7 < 1), which would flip a decision sitting on a threshold.
const round = (x: number): number => Math.round(x * 1e9) / 1e9;
const rank = (p: Priority): number => PRIORITIES.indexOf(p);
// A negation reaches to the end of its clause, not past punctuation or "but" ("no problem, but it broke").
const CLAUSE_BREAK = /[.!?;:,]|\bbut\b|\baber\b|\bpero\b|\bmais\b|\bmas\b|\bma\b/u;
// A regex reports at most this many matches per post: enough to explain, bounded for long posts.
const REGEX_MATCHES_MAX = 10;

/** Whether the post meets a rule's `when` conditions. Unknown facts (no lang, no follower count) do not. */
function conditionsHold(when: CompiledConditions | null, input: ClassifierInput, lang: string | null): boolean {
  if (when === null) return true;
  if (when.platforms !== null && !when.platforms.has(input.platform)) return false;
  if (when.langs !== null && (lang === null || !when.langs.has(lang))) return false;
  if (when.isReply !== null && when.isReply !== input.isReply) return false;
  if (when.followersMin !== null && (input.followers === undefined || input.followers < when.followersMin)) return false;
  if (when.followersMax !== null && (input.followers === undefined || input.followers > when.followersMax)) return false;
  return true;
}

interface Occurrence extends Span {
  term: string;
  negated: boolean;
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
  const { text, tokens } = normalizeText(input.text);
  const hits = compiled.trie.scan(tokens);
  const lang = input.lang ? primaryLang(input.lang) : null;

  const cues: Span[] = [];
  for (const id of compiled.negationCues) cues.push(...(hits.get(id) ?? []));
  const isNegated = (span: Span): boolean =>
    cues.some(
      (c) =>
        c.last < span.first &&
        span.first - c.last <= compiled.negationWindow &&
        !CLAUSE_BREAK.test(text.slice(c.end, span.start)),
    );

  const occurrences = new Map<CompiledPhrase, Occurrence[]>();
  const occ = (p: CompiledPhrase): Occurrence[] => {
    let list = occurrences.get(p);
    if (list === undefined) {
      // A phrase listed under a language matches posts in that language, or whose language is unknown.
      const spans = p.langs !== null && lang !== null && !p.langs.has(lang) ? [] : (hits.get(p.id) ?? []);
      list = spans.map((s) => ({ ...s, term: p.term, negated: isNegated(s) }));
      occurrences.set(p, list);
    }
    return list;
  };

  const regexText = text.slice(0, REGEX_INPUT_MAX);
  const firstTokenAt = (offset: number): number => {
    const i = tokens.findIndex((t: Token) => t.end > offset);
    return i < 0 ? tokens.length : i;
  };
  const regexOcc = (rule: CompiledRule): Occurrence[] => {
    const found: Occurrence[] = [];
    for (const { term, regex } of rule.regex) {
      regex.lastIndex = 0;
      for (const m of regexText.matchAll(regex)) {
        if (m[0].length === 0) continue;
        const start = m.index;
        const end = start + m[0].length;
        const span = { start, end, first: firstTokenAt(start), last: Math.max(firstTokenAt(end) - 1, 0) };
        found.push({ ...span, term, negated: isNegated(span) });
        if (found.length >= REGEX_MATCHES_MAX) return found;
      }
    }
    return found;
  };

  /** The terms that make the rule fire, counting negated occurrences or not; null when it does not. */
  const evaluate = (rule: CompiledRule, regexHits: Occurrence[], withNegated: boolean): MatchedTerm[] | null => {
    const use = (list: Occurrence[]) => (withNegated ? list : list.filter((o) => !o.negated));
    const terms: Occurrence[] = [];
    if (rule.any.length + rule.regex.length > 0) {
      const found = [...rule.any.flatMap((p) => use(occ(p))), ...use(regexHits)];
      if (found.length === 0) return null;
      terms.push(...found);
    }
    for (const p of rule.all) {
      const found = use(occ(p));
      if (found.length === 0) return null;
      terms.push(...found);
    }
    for (const near of rule.near) {
      const as = near.a.flatMap((p) => use(occ(p)));
      const bs = near.b.flatMap((p) => use(occ(p)));
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
    const unique = new Map<string, MatchedTerm>();
    for (const t of terms) unique.set(`${t.term}\u0000${t.start}\u0000${t.end}`, { term: t.term, start: t.start, end: t.end });
    return [...unique.values()].sort((a, b) => a.start - b.start || a.end - b.end);
  };

  const fired: FiredRule[] = [];
  let leadScore = 0;
  let caseScore = 0;
  let priority: Priority | null = null;
  let priorityRule: string | null = null;

  const candidates = new Set<number>(compiled.alwaysTry);
  for (const id of hits.keys()) for (const index of compiled.rulesByPhrase[id] ?? []) candidates.add(index);

  for (const index of [...candidates].sort((a, b) => a - b)) {
    const rule = compiled.rules[index] as CompiledRule;
    if (!conditionsHold(rule.when, input, lang)) continue;
    if (rule.none.some((p) => occ(p).length > 0)) continue;
    const regexHits = rule.regex.length > 0 ? regexOcc(rule) : [];

    let terms = evaluate(rule, regexHits, rule.negation === 'keep');
    let flipped = false;
    if (terms === null && rule.negation === 'flip') {
      terms = evaluate(rule, regexHits, true);
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
  };
}
