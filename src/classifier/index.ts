/**
 * The rule-based post classifier: rules are YAML data, validated and compiled once into a token trie;
 * classify() is pure and explains every decision with the rules and terms that fired.
 */
export type { ClassifierInput, Decision, FiredRule, MatchedTerm } from './types.js';
export { normalizeText, type NormalizedText, type Token } from './normalize.js';
export { RulesetError, loadRuleset, parseRuleset, type RuleDefinition, type Ruleset } from './ruleset.js';
export { classify } from './classify.js';
export {
  diffRulesets,
  evaluate,
  parseLabelMap,
  readLabeledJsonl,
  scoreDecisions,
  type Change,
  type Dataset,
  type DiffReport,
  type EvalReport,
  type LabelMap,
  type LabeledPost,
  type Prediction,
} from './evaluate.js';
export {
  applyFit,
  crossValidate,
  fitRuleset,
  foldsOf,
  L2_GRID,
  PULL_GRID,
  suggestTerms,
  type CrossValidation,
  type Fit,
  type FitOptions,
  type FoldScores,
  type Strength,
  type SuggestedTerm,
} from './tune.js';
