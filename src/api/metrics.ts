import type { Queue } from 'bullmq';
import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import type { CaptureJobData } from '../workers/queues.js';

export interface MetricsDeps {
  sql: Sql;
  postsQueue: Queue<CaptureJobData>;
  config: Config;
}

type Sample = { labels?: Record<string, string>; value: number };

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function family(name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const s of samples) {
    const labels = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',') : '';
    lines.push(`${name}${labels ? `{${labels}}` : ''} ${Number.isFinite(s.value) ? s.value : 0}`);
  }
  return lines.join('\n');
}

/**
 * The Prometheus text exposition, read from the truth (Postgres) and the queue at scrape time: counts
 * survive restarts and agree across processes, at the cost of a few aggregate queries per scrape.
 */
export async function renderMetrics({ sql, postsQueue }: MetricsDeps): Promise<string> {
  const [fetched, byStatus, byLabel, [lag], counts, oldest] = await Promise.all([
    sql<{ source: string; n: number; lastSuccessAge: number | null; healthy: boolean }[]>`
      select source_id as source, posts_fetched::float8 as n, healthy,
             extract(epoch from now() - last_success_at)::float8 as "lastSuccessAge" from source_cursors`,
    sql<{ source: string; status: string; n: number }[]>`
      select source_id as source, status, count(*)::float8 as n from social_posts group by 1, 2`,
    sql<{ label: string; n: number }[]>`select label, count(*)::float8 as n from social_posts where label is not null group by 1`,
    sql<{ pendingAge: number | null }[]>`
      select coalesce(extract(epoch from now() - min(received_at)), 0)::float8 as "pendingAge" from social_posts where status = 'pending'`,
    postsQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
    postsQueue.getJobs(['waiting'], 0, 0, true).catch(() => []),
  ]);
  const oldestJob = oldest[0]?.timestamp;
  return `${[
    family('capture_posts_fetched_total', 'counter', 'Posts stored from each source (new ones only).', fetched.map((r) => ({ labels: { source: r.source }, value: r.n }))),
    family(
      'capture_posts_processed_total',
      'counter',
      'Posts decided, per source.',
      byStatus.filter((r) => r.status === 'processed').map((r) => ({ labels: { source: r.source }, value: r.n })),
    ),
    family(
      'capture_posts_failed_total',
      'counter',
      'Posts quarantined as failed, per source.',
      byStatus.filter((r) => r.status === 'failed').map((r) => ({ labels: { source: r.source }, value: r.n })),
    ),
    family(
      'capture_posts_pending',
      'gauge',
      'Posts in the inbox not decided yet, per source.',
      byStatus.filter((r) => r.status === 'pending').map((r) => ({ labels: { source: r.source }, value: r.n })),
    ),
    family('capture_decisions_total', 'counter', 'Decided posts per label.', byLabel.map((r) => ({ labels: { label: r.label }, value: r.n }))),
    family(
      'capture_queue_jobs',
      'gauge',
      'Capture jobs in the queue, per state.',
      Object.entries(counts).map(([state, n]) => ({ labels: { state }, value: n })),
    ),
    family('capture_queue_oldest_waiting_seconds', 'gauge', 'Age of the oldest waiting capture job.', [
      { value: oldestJob ? Math.max(0, (Date.now() - oldestJob) / 1000) : 0 },
    ]),
    family('capture_lag_seconds', 'gauge', 'Age of the oldest pending post in the inbox: how far capture is behind.', [{ value: lag?.pendingAge ?? 0 }]),
    family(
      'capture_source_last_success_age_seconds',
      'gauge',
      'Time since each source last polled successfully.',
      fetched.filter((r) => r.lastSuccessAge !== null).map((r) => ({ labels: { source: r.source }, value: r.lastSuccessAge! })),
    ),
    family('capture_source_healthy', 'gauge', 'Whether each source is healthy (1) or not (0).', fetched.map((r) => ({ labels: { source: r.source }, value: r.healthy ? 1 : 0 }))),
  ].join('\n')}\n`;
}
