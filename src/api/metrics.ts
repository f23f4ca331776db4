import type { Queue } from 'bullmq';
import { Gauge, Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import { registry } from '../metrics.js';
import type { CaptureJobData } from '../workers/queues.js';

export interface MetricsDeps {
  sql: Sql;
  postsQueue: Queue<CaptureJobData>;
  config: Config;
}

/** Gauges of the truth (Postgres) and the queue, read at each scrape, in a registry of their own per server. */
function stateGauges() {
  const r = new Registry();
  const g = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [r] });
  return {
    registry: r,
    pending: g('capture_posts_pending', 'Posts in the inbox not decided yet, per source.', ['source']),
    lag: g('capture_lag_seconds', 'Age of the oldest pending post in the inbox: how far capture is behind.'),
    queueJobs: g('capture_queue_jobs', 'Capture jobs in the queue, per state.', ['state']),
    lastSuccessAge: g('capture_source_last_success_age_seconds', 'Time since each polled source last polled successfully.', ['source']),
    healthy: g('capture_source_healthy', 'Whether each polled source is healthy (1) or not (0).', ['source']),
  };
}

/**
 * The Prometheus text exposition: this process's counters and histograms (prom-client, with the default
 * process metrics) and gauges read from Postgres and the queue now. Staleness and health are for polled
 * sources only: the webhook and imports have no schedule to fall behind.
 */
export function createMetricsRenderer({ sql, postsQueue, config }: MetricsDeps): () => Promise<string> {
  const s = stateGauges();
  const polled = config.sources.filter((c) => c.enabled).map((c) => c.id);
  return async () => {
    const [pending, [lag], counts, sources] = await Promise.all([
      sql<{ source: string; n: number }[]>`select source_id as source, count(*)::float8 as n from social_posts where status = 'pending' group by 1`,
      sql<{ age: number }[]>`select coalesce(extract(epoch from now() - min(received_at)), 0)::float8 as age from social_posts where status = 'pending'`,
      postsQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
      sql<{ source: string; age: number | null; healthy: boolean }[]>`
        select source_id as source, healthy, extract(epoch from now() - last_success_at)::float8 as age
        from source_cursors where source_id = any(${polled})`,
    ]);
    s.pending.reset();
    for (const r of pending) s.pending.set({ source: r.source }, r.n);
    s.lag.set(lag?.age ?? 0);
    for (const [state, n] of Object.entries(counts)) s.queueJobs.set({ state }, n);
    s.lastSuccessAge.reset();
    s.healthy.reset();
    for (const r of sources) {
      if (r.age !== null) s.lastSuccessAge.set({ source: r.source }, r.age);
      s.healthy.set({ source: r.source }, r.healthy ? 1 : 0);
    }
    return `${await registry.metrics()}\n${await s.registry.metrics()}`;
  };
}

/** The content type of the exposition. */
export const METRICS_CONTENT_TYPE = registry.contentType;
