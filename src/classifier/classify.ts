import { PRIORITIES, type Priority } from '../types.js';
import { normalizeText } from './normalize.js';
import type { Span } from './phrase-trie.js';
import { compiledOf, type CompiledPhrase, type CompiledRule, type Ruleset } from './ruleset.js';
import type { ClassifierInput, Decision, FiredRule, MatchedTerm } from './types.js';

// Sums of decimal weights drift (0.1 + 0.2 + 0.7 < 1), which would flip a decision sitting on a threshold.
const round = (x: number): number => Math.round(x * 1e9) / 1e9;
const rank = (p: Priority): number => PRIORITIES.indexOf(p);

function termsOf(phrases: readonly CompiledPhrase[], hits: ReadonlyMap<number, Span[]>): MatchedTerm[] {
  const terms: MatchedTerm[] = [];
  for (const { term, id } of phrases) {
    for (const span of hits.get(id) ?? []) terms.push({ term, start: span.start, end: span.end });
  }
  return terms;
}

/**
 * Classify a post with a ruleset. Pure: the same input and ruleset always give the same decision.
 *
 * A rule fires when one of its `any` phrases occurs (or it has none), all of its `all` phrases occur and
 * none of its `none` phrases do. Each label's score is the sum of the weights of its fired rules. A label
 * wins when its score reaches its threshold; when both do, the higher score wins and a tie goes to case,
 * because support acts first.
 */
export function classify(input: ClassifierInput, ruleset: Ruleset): Decision {
  const compiled = compiledOf(ruleset);
  const { tokens } = normalizeText(input.text);
  const hits = compiled.trie.scan(tokens);
  const has = (p: CompiledPhrase): boolean => hits.has(p.id);

  const fired: FiredRule[] = [];
  let leadScore = 0;
  let caseScore = 0;
  let priority: Priority | null = null;
  let priorityRule: string | null = null;

  const candidates = new Set<number>();
  for (const id of hits.keys()) for (const index of compiled.rulesByPhrase[id] ?? []) candidates.add(index);

  for (const index of [...candidates].sort((a, b) => a - b)) {
    const rule = compiled.rules[index] as CompiledRule;
    if (rule.any.length > 0 && !rule.any.some(has)) continue;
    if (!rule.all.every(has)) continue;
    if (rule.none.some(has)) continue;

    const terms = [...termsOf(rule.any, hits), ...termsOf(rule.all, hits)].sort(
      (a, b) => a.start - b.start || a.end - b.end,
    );
    fired.push({
      id: rule.id,
      label: rule.label,
      weight: rule.weight,
      terms,
      ...(rule.priority === undefined ? {} : { priority: rule.priority }),
    });
    if (rule.label === 'lead') {
      leadScore += rule.weight;
    } else {
      caseScore += rule.weight;
      if (rule.priority !== undefined && (priority === null || rank(rule.priority) > rank(priority))) {
        priority = rule.priority;
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
