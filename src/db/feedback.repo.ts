import { NotFoundError } from '../errors.js';
import type { Label } from '../types.js';
import type { Sql, Tx } from './client.js';
import { appendEvents, feedbackRecorded } from './outbox.repo.js';
import { ISO } from './read-models/common.js';

/**
 * Label feedback: people's corrections of the classifier's labels, stored per post with who and when, and the
 * reads that turn them into labeled data (eval, tune) and into the per-rule report.
 */

/** A stored correction, as the API returns it. */
export interface FeedbackRow {
  id: number;
  postId: number;
  label: Label;
  note: string | null;
  actor: string;
  createdAt: string;
}

/** What a person says about a post (or a lead's or case's posts). */
export interface FeedbackInput {
  label: Label;
  note?: string | undefined;
  actor: string;
}

const RETURNING = (sql: Sql | Tx) => sql`returning id, post_id as "postId", label, note, actor, to_char(created_at at time zone 'UTC', ${ISO}) as "createdAt"`;

/** Store a correction of one post. NotFoundError naming the id when there is no such post. */
export async function addPostFeedback(sql: Sql, postId: number, f: FeedbackInput): Promise<FeedbackRow> {
  const rows = await recorded(
    sql,
    (tx) => tx<FeedbackRow[]>`
    insert into label_feedback (post_id, label, note, actor)
    select p.id, ${f.label}, ${f.note ?? null}, ${f.actor} from social_posts p where p.id = ${postId}
    ${RETURNING(tx)}`,
  );
  const row = rows[0];
  if (row === undefined) throw new NotFoundError(`id: no post ${postId}`);
  return row;
}

/**
 * Store a correction on every post that made a lead or a case ("this is not a case"), one row per post, in
 * one statement. NotFoundError naming the id when there is no such lead or case.
 */
export async function addRecordFeedback(sql: Sql, kind: 'lead' | 'case', recordId: number, f: FeedbackInput): Promise<FeedbackRow[]> {
  const [record] = kind === 'lead' ? await sql`select id from leads where id = ${recordId}` : await sql`select id from cases where id = ${recordId}`;
  if (record === undefined) throw new NotFoundError(`id: no ${kind} ${recordId}`);
  const posts = kind === 'lead' ? sql`p.lead_id = ${recordId}` : sql`p.case_id = ${recordId}`;
  return recorded(
    sql,
    (tx) => tx<FeedbackRow[]>`
    insert into label_feedback (post_id, label, note, actor)
    select p.id, ${f.label}, ${f.note ?? null}, ${f.actor} from social_posts p where ${posts} order by p.id
    ${RETURNING(tx)}`,
  );
}

/** Store corrections and their `feedback.recorded` events (the outbox) in one transaction. */
async function recorded(sql: Sql, insert: (tx: Tx) => Promise<FeedbackRow[]>): Promise<FeedbackRow[]> {
  return sql.begin(async (tx) => {
    const rows = await insert(tx);
    await appendEvents(
      tx,
      rows.map((r) => feedbackRecorded({ ...r })),
    );
    return rows;
  }) as Promise<FeedbackRow[]>;
}

/** A corrected post as labeled data: the post's text and facts, and the label of its LATEST correction. */
export interface FeedbackExample {
  postId: number;
  platform: 'twitter' | 'facebook';
  text: string;
  lang: string | null;
  isReply: boolean;
  label: Label;
}

/** Every corrected post with its latest correction (a later correction overrides an earlier one). */
export async function feedbackExamples(sql: Sql): Promise<FeedbackExample[]> {
  return sql<FeedbackExample[]>`
    select p.id as "postId", p.platform, p.text, p.lang, p.in_reply_to is not null as "isReply", f.label
    from (select distinct on (post_id) post_id, label from label_feedback order by post_id, id desc) f
    join social_posts p on p.id = f.post_id
    order by p.id`;
}

/** A post a rule got wrong by its latest correction. */
export interface WrongPost {
  postId: number;
  text: string;
  /** The label the classifier gave. */
  decided: Label;
  /** The label the correction says. */
  corrected: Label;
}

/** One rule's line in the rules report. */
export interface RuleReportRow {
  rule: string;
  label: 'lead' | 'case';
  /** Decided posts the rule fired on. */
  fired: number;
  /** Of those, posts with a correction. */
  corrected: number;
  /** Corrected posts where the rule pointed the right way (adding to its label on a post of that label, or taking away from it on another). */
  right: number;
  /** right / corrected; null when no post it fired on was corrected. */
  precision: number | null;
  /** Up to `wrongLimit` corrected posts it pointed the wrong way on, newest post first. */
  wrong: WrongPost[];
}

/**
 * Per rule, read off the stored decisions (so rules of any ruleset version count): how often it fired, and its
 * precision against the latest correction of each post it fired on, with the posts it got wrong.
 *
 * @param wrongLimit - most wrong posts listed per rule. @defaultValue 20
 */
export async function rulesReport(sql: Sql, opts: { wrongLimit?: number } = {}): Promise<RuleReportRow[]> {
  const wrongLimit = opts.wrongLimit ?? 20;
  const rows = await sql<(Omit<RuleReportRow, 'precision'> & { wrong: WrongPost[] | null })[]>`
    with latest as (
      select distinct on (post_id) post_id, label from label_feedback order by post_id, id desc
    ), fired as (
      select p.id as post_id, p.text, p.label as decided, r->>'id' as rule, r->>'label' as rule_label,
             (r->>'weight')::float8 > 0 as adds
      from social_posts p cross join lateral jsonb_array_elements(p.decision->'rules') r
      where p.decision is not null
    ), judged as (
      select f.*, l.label as corrected, (f.adds = (l.label::text = f.rule_label)) as is_right
      from fired f left join latest l on l.post_id = f.post_id
    )
    select rule, min(rule_label) as label, count(*)::int as fired, count(corrected)::int as corrected,
           (count(*) filter (where is_right))::int as right,
           (jsonb_agg(jsonb_build_object('postId', post_id, 'text', text, 'decided', decided, 'corrected', corrected)
              order by post_id desc) filter (where not is_right)) as wrong
    from judged group by rule order by rule`;
  return rows.map((r) => ({
    rule: r.rule,
    label: r.label,
    fired: r.fired,
    corrected: r.corrected,
    right: r.right,
    precision: r.corrected === 0 ? null : Math.round((r.right / r.corrected) * 10_000) / 10_000,
    wrong: (r.wrong ?? []).slice(0, wrongLimit),
  }));
}
