import type { CostConfig, SourceConfig } from '../config.js';

/**
 * Pure cost policy: what a post read through a source costs, and where a source stands against its
 * monthly budget and the account-wide cap. The poll processor and the stream act on its answer.
 */

/** Price of one charged post read through `source`, in US dollars. Graph reads are free. */
export function pricePerPost(source: SourceConfig, cost: CostConfig): number {
  if (source.platform !== 'twitter' || source.kind === 'sandbox') return 0;
  return source.kind === 'mentions' ? cost.xOwnMentionReadUsd : cost.xPostReadUsd;
}

export type BudgetStatus = 'ok' | 'warning' | 'budget exhausted';

/** Posts charged this billing month: the source's own, and the whole account's on the same platform. */
export interface MonthUse {
  source: number;
  account: number;
}

export interface BudgetVerdict {
  status: BudgetStatus;
  /** The larger share used of the source's budget and the account cap (0 when neither applies). */
  ratio: number;
  /** Why, for logs and `capture sources`; empty when ok. */
  reason: string;
}

/**
 * Where a source stands: `budget exhausted` at 100% of its own budget or of the account cap (X sources
 * only: the cap is X's), `warning` from `cost.warnAt`.
 */
export function budgetVerdict(source: SourceConfig, cost: CostConfig, use: MonthUse): BudgetVerdict {
  const own = source.budget ? use.source / source.budget.posts_per_month : 0;
  const capped = source.platform === 'twitter' && source.kind !== 'sandbox';
  const account = capped ? use.account / cost.monthlyCapPosts : 0;
  const ratio = Math.max(own, account);
  const which =
    own >= account
      ? `${use.source} of ${source.budget?.posts_per_month} posts of this source's budget`
      : `${use.account} of the account's ${cost.monthlyCapPosts} posts`;
  if (ratio >= 1) return { status: 'budget exhausted', ratio, reason: `budget exhausted: ${which} read this month` };
  if (ratio >= cost.warnAt) return { status: 'warning', ratio, reason: `${Math.floor(ratio * 100)}% of the monthly budget used: ${which}` };
  return { status: 'ok', ratio, reason: '' };
}

/** The UTC calendar day of an instant, as Postgres's `date` reads it. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** First day of the instant's UTC month (a billing month), and of the next. */
export function billingMonth(ms: number): { start: string; next: string } {
  const d = new Date(ms);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { start: utcDay(start), next: utcDay(next) };
}
