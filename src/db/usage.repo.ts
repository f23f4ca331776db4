import type { CostConfig, SourceConfig } from '../config.js';
import type { PageRead } from '../connectors/types.js';
import type { Platform } from '../types.js';
import { billingMonth, budgetVerdict, utcDay, type BudgetStatus } from '../capture/budget.js';
import type { Sql } from './client.js';

/**
 * Count a page's requests and posts read on the source's row for `day` (UTC). A post is charged
 * once per UTC day account-wide, the first time any source reads it (X's pay-per-use rule).
 */
export async function recordUsage(
  sql: Sql,
  u: { sourceId: string; platform: Platform; day: string; read: PageRead; priceUsd: number },
): Promise<{ charged: number }> {
  const micro = Math.round(u.priceUsd * 1_000_000);
  const ids = [...new Set(u.read.ids)];
  const [row] = await sql<{ charged: number }[]>`
    with fresh as (
      insert into daily_reads (day, platform, external_id)
      select ${u.day}::date, ${u.platform}::platform, unnest(${sql.array(ids)}::text[])
      on conflict do nothing
      returning 1
    ), n as (select count(*)::bigint as charged from fresh)
    insert into source_usage (source_id, day, platform, requests, posts_read, posts_charged, cost_micro_usd)
    select ${u.sourceId}, ${u.day}::date, ${u.platform}::platform, ${u.read.requests}, ${u.read.ids.length}, n.charged, n.charged * ${micro}
    from n
    on conflict (source_id, day) do update set
      requests = source_usage.requests + excluded.requests,
      posts_read = source_usage.posts_read + excluded.posts_read,
      posts_charged = source_usage.posts_charged + excluded.posts_charged,
      cost_micro_usd = source_usage.cost_micro_usd + excluded.cost_micro_usd
    returning (select charged from n)::int as charged`;
  return { charged: row?.charged ?? 0 };
}

/** Forget reads of days before `day`: only the current UTC day decides what is charged. */
export async function pruneDailyReads(sql: Sql, day: string): Promise<void> {
  await sql`delete from daily_reads where day < ${day}::date`;
}

/** Posts charged since `monthStart`: by the source, and by every source of its platform. */
export async function monthUse(sql: Sql, sourceId: string, platform: Platform, monthStart: string): Promise<{ source: number; account: number }> {
  const [row] = await sql<{ source: number; account: number }[]>`
    select coalesce(sum(posts_charged) filter (where source_id = ${sourceId}), 0)::float8 as source,
           coalesce(sum(posts_charged), 0)::float8 as account
    from source_usage where platform = ${platform}::platform and day >= ${monthStart}::date`;
  return { source: row?.source ?? 0, account: row?.account ?? 0 };
}

/** One source's counters for a UTC day and a billing month. */
export interface SourceUsageRow {
  sourceId: string;
  requestsToday: number;
  postsReadToday: number;
  spendUsdToday: number;
  requestsMonth: number;
  postsReadMonth: number;
  postsChargedMonth: number;
  spendUsdMonth: number;
}

/** Every source's counters for `day` and the month starting `monthStart`, by source id. */
export async function usageBySource(sql: Sql, day: string, monthStart: string): Promise<Map<string, SourceUsageRow>> {
  const rows = await sql<SourceUsageRow[]>`
    select source_id as "sourceId",
           coalesce(sum(requests) filter (where day = ${day}::date), 0)::float8 as "requestsToday",
           coalesce(sum(posts_read) filter (where day = ${day}::date), 0)::float8 as "postsReadToday",
           coalesce(sum(cost_micro_usd) filter (where day = ${day}::date), 0)::float8 / 1e6 as "spendUsdToday",
           sum(requests)::float8 as "requestsMonth", sum(posts_read)::float8 as "postsReadMonth",
           sum(posts_charged)::float8 as "postsChargedMonth", sum(cost_micro_usd)::float8 / 1e6 as "spendUsdMonth"
    from source_usage where day >= ${monthStart}::date
    group by source_id`;
  return new Map(rows.map((r) => [r.sourceId, r]));
}

/** Show a paused source as `budget exhausted` in its health row; the next successful poll clears it. */
export async function markBudgetExhausted(sql: Sql, sourceId: string, reason: string): Promise<void> {
  await sql`
    insert into source_cursors (source_id, last_error, last_error_at, healthy)
    values (${sourceId}, ${reason}, now(), false)
    on conflict (source_id) do update set last_error = excluded.last_error, last_error_at = now(), healthy = false, updated_at = now()`;
}

/** A configured source's spend and budget, as `capture sources`, `/api/sources` and the metrics show them. */
export interface SourceSpend extends Omit<SourceUsageRow, 'sourceId'> {
  sourceId: string;
  /** Posts per billing month this source may read; null: only the account cap applies. */
  budgetPostsPerMonth: number | null;
  /** Share used of the tighter of the source's budget and the account cap (0–1+). */
  budgetUsed: number;
  budgetStatus: BudgetStatus;
  /** Start of the billing month the figures are for, and of the next (when a paused source resumes). */
  month: string;
  resumesOn: string | null;
}

/** Spend and budget of every configured source at `at`, from the counters (one query). */
export async function sourceSpend(sql: Sql, sources: readonly SourceConfig[], prices: CostConfig, at: number = Date.now()): Promise<SourceSpend[]> {
  const month = billingMonth(at);
  const usage = await usageBySource(sql, utcDay(at), month.start);
  const accountPosts = new Map<string, number>();
  for (const s of sources) {
    accountPosts.set(s.platform, (accountPosts.get(s.platform) ?? 0) + (usage.get(s.id)?.postsChargedMonth ?? 0));
  }
  return sources.map((s) => {
    const u = usage.get(s.id);
    const zero = { requestsToday: 0, postsReadToday: 0, spendUsdToday: 0, requestsMonth: 0, postsReadMonth: 0, postsChargedMonth: 0, spendUsdMonth: 0 };
    const counts = u ? { ...u } : { sourceId: s.id, ...zero };
    const verdict = budgetVerdict(s, prices, { source: counts.postsChargedMonth, account: accountPosts.get(s.platform) ?? 0 });
    return {
      ...counts,
      budgetPostsPerMonth: s.budget?.posts_per_month ?? null,
      budgetUsed: verdict.ratio,
      budgetStatus: verdict.status,
      month: month.start,
      resumesOn: verdict.status === 'budget exhausted' ? month.next : null,
    };
  });
}
