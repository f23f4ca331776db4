import { classify, type Ruleset } from '../classifier/index.js';
import type { Label, Platform, SocialPost } from '../types.js';
import type { Sql } from './client.js';
import { postKey } from './post-key.js';

export interface BacktestOptions {
  /** Only posts received this recently; null for all. */
  sinceMs: number | null;
  /** Rows read per query. @defaultValue 1000 */
  batch?: number;
  /** Called after each batch with the posts done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Changed posts to return as examples. @defaultValue 20 */
  examples?: number;
}

export interface BacktestChange {
  /** The post key, `x-<id>` / `fb-<id>`. */
  id: string;
  text: string;
  from: Label;
  to: Label;
  rules: string[];
}

export interface BacktestReport {
  posts: number;
  rulesetVersion: string;
  /** Labels as stored (decided by whichever ruleset was live then), and as this ruleset decides. */
  stored: Record<Label, number>;
  now: Record<Label, number>;
  /** Posts that would become a lead (or case) and are not one now, and the reverse. */
  leads: { appear: number; disappear: number };
  cases: { appear: number; disappear: number };
  changed: number;
  /** transitions["none→case"] = posts. */
  transitions: Record<string, number>;
  /** Stored posts by the ruleset version that decided them. */
  storedVersions: Record<string, number>;
  examples: BacktestChange[];
}

interface Row {
  id: number;
  platform: Platform;
  externalId: string;
  text: string;
  lang: string | null;
  inReplyTo: string | null;
  conversationId: string | null;
  payload: SocialPost;
  label: Label;
  rulesetVersion: string | null;
}

const zero = (): Record<Label, number> => ({ lead: 0, case: 0, none: 0 });

/**
 * Re-decide stored, processed posts with a ruleset, reading only: nothing is written, no lead or case is
 * touched. Reads in id order, a batch at a time, so a large inbox does not sit in memory.
 */
export async function backtest(sql: Sql, ruleset: Ruleset, opts: BacktestOptions): Promise<BacktestReport> {
  const batch = opts.batch ?? 1000;
  const wanted = opts.examples ?? 20;
  const window = opts.sinceMs === null ? sql`` : sql`and received_at >= now() - ${opts.sinceMs} * interval '1 millisecond'`;
  const [{ total } = { total: 0 }] = await sql<{ total: number }[]>`
    select count(*)::int as total from social_posts
    where status = 'processed' and label is not null ${window}`;
  const report: BacktestReport = {
    posts: 0,
    rulesetVersion: ruleset.version,
    stored: zero(),
    now: zero(),
    leads: { appear: 0, disappear: 0 },
    cases: { appear: 0, disappear: 0 },
    changed: 0,
    transitions: {},
    storedVersions: {},
    examples: [],
  };
  let after = 0;
  for (;;) {
    const rows = await sql<Row[]>`
      select id, platform, external_id as "externalId", text, lang, in_reply_to as "inReplyTo",
             conversation_id as "conversationId", payload, label, ruleset_version as "rulesetVersion"
      from social_posts
      where status = 'processed' and label is not null and id > ${after}
            ${window}
      order by id limit ${batch}`;
    if (rows.length === 0) break;
    for (const row of rows) {
      // The same input the capture worker builds (classifierInput in src/capture/planner.ts).
      const isReply = row.inReplyTo !== null || (row.conversationId !== null && row.conversationId !== row.externalId);
      const followers = row.payload?.author?.followers;
      const d = classify(
        {
          text: row.text,
          platform: row.platform,
          isReply,
          ...(row.lang ? { lang: row.lang } : {}),
          ...(typeof followers === 'number' ? { followers } : {}),
        },
        ruleset,
      );
      report.posts++;
      report.stored[row.label]++;
      report.now[d.label]++;
      const version = row.rulesetVersion ?? '(unknown)';
      report.storedVersions[version] = (report.storedVersions[version] ?? 0) + 1;
      if (d.label === row.label) continue;
      report.changed++;
      const key = `${row.label}→${d.label}`;
      report.transitions[key] = (report.transitions[key] ?? 0) + 1;
      if (d.label === 'lead') report.leads.appear++;
      if (row.label === 'lead') report.leads.disappear++;
      if (d.label === 'case') report.cases.appear++;
      if (row.label === 'case') report.cases.disappear++;
      if (report.examples.length < wanted) {
        report.examples.push({
          id: postKey(row),
          text: row.text,
          from: row.label,
          to: d.label,
          rules: d.rules.map((r) => r.id),
        });
      }
    }
    after = rows[rows.length - 1]!.id;
    opts.onProgress?.(report.posts, Math.max(total, report.posts));
  }
  return report;
}
