import type { Label, Platform, Priority } from '../types.js';
import type { FeatureName, PostFeatures } from './features.js';

/** What the classifier needs to know about a post. */
export interface ClassifierInput {
  text: string;
  platform: Platform;
  /** The platform's language tag, when known: rules' `when.lang` and phrases listed by language read it. */
  lang?: string;
  /** True for a reply or comment inside a conversation (`when.is_reply`). */
  isReply: boolean;
  /** The author's follower count, when known (`when.followers`). */
  followers?: number;
  /**
   * The brand's own handles (config `own_accounts`), lower case without `@`: the `addressed` features look for
   * them. When absent or empty, any handle a post opens with counts as the brand's.
   */
  brandHandles?: ReadonlySet<string>;
}

/** One occurrence of a rule phrase in a post. */
export interface MatchedTerm {
  /** The phrase as written in the rule. */
  term: string;
  /** Offset of the first character of the match in the normalized text. */
  start: number;
  /** Offset just past the match in the normalized text (exclusive). */
  end: number;
}

/** A rule whose conditions held for the post. */
export interface FiredRule {
  id: string;
  label: 'lead' | 'case';
  weight: number;
  /**
   * The occurrences that made the rule fire (`any`, `all`, `near` phrases and `regex` matches; the term of a
   * regex is its pattern between slashes), in text order. Read only: rules that fired on the same phrase alone,
   * written the same way, share one list within a decision.
   */
  readonly terms: readonly MatchedTerm[];
  /** Present only when the rule sets one (a flipped rule never does). */
  priority?: Priority;
  /** Present when the rule fired on negated phrases under `negation: flip`: its weight is the rule's, negated. */
  negated?: true;
  /** The features the rule's conditions read, with the post's values (its weight is their contribution). */
  features?: Partial<Record<FeatureName, boolean>> & { sentiment?: number };
}

/** The classifier's verdict on a post and the reasons for it. */
export interface Decision {
  label: Label;
  /**
   * The winning label's score. For `none`, the higher of the two scores, which says how close the post came
   * to becoming a lead or a case (useful when tuning thresholds); it can be 0 or negative.
   */
  score: number;
  /** Sum of the weights of the fired rules of each label, rounded to 9 decimals. */
  scores: { lead: number; case: number };
  /**
   * For a case: the highest priority among the fired case rules that set one, else `normal`.
   * Null for a lead or none.
   */
  priority: Priority | null;
  /** The rule that set the priority (the first in ruleset order at that level); null when defaulted or not a case. */
  priorityRule: string | null;
  /** Every rule that fired, in ruleset order, whatever its label or sign. */
  rules: FiredRule[];
  /** The `version` of the ruleset that decided. */
  rulesetVersion: string;
  /** The post's features, when a rule asked for them. */
  features?: PostFeatures;
  /** The language rules were scoped by: the post's own tag, or detected when it had none and a rule asked. */
  lang?: { code: string; source: 'post' | 'detected' };
  /**
   * Set by capture, not the classifier: the post would have been a lead or case but is by the brand's
   * own account, or a retweet its source ignores; the label is then `none`.
   */
  suppressed?: 'own account' | 'retweet';
}
