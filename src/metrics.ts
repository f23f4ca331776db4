import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus metrics (prom-client). Counters only go up, from the events that move
 * them, so `rate()` holds across erasures and restarts; states (pending posts, queue depth, source
 * health) are gauges read at scrape time by `/metrics`.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Seconds buckets from 5 ms to 2 min: a capture commit, a poll and an API request all fit. */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export const metrics = {
  postsStored: new Counter({
    name: 'capture_posts_stored_total',
    help: 'Posts stored in the inbox for the first time, per source.',
    labelNames: ['source'],
    registers: [registry],
  }),
  postsDecided: new Counter({
    name: 'capture_posts_decided_total',
    help: 'Posts decided by the capture worker, per label.',
    labelNames: ['label'],
    registers: [registry],
  }),
  postsFailed: new Counter({ name: 'capture_posts_failed_total', help: 'Posts quarantined as failed.', registers: [registry] }),
  pollDuration: new Histogram({
    name: 'capture_poll_duration_seconds',
    help: 'Duration of one poll of one source, per result (ok, error, blocked).',
    labelNames: ['source', 'result'],
    buckets: SECONDS,
    registers: [registry],
  }),
  pollErrors: new Counter({
    name: 'capture_poll_errors_total',
    help: 'Polls that failed, per source and error code.',
    labelNames: ['source', 'code'],
    registers: [registry],
  }),
  rateLimitWaits: new Counter({
    name: 'capture_rate_limit_waits_total',
    help: 'Times a source was rate limited and waits for the reset.',
    labelNames: ['source'],
    registers: [registry],
  }),
  enqueueToCommit: new Histogram({
    name: 'capture_enqueue_to_commit_seconds',
    help: 'From the capture job being enqueued to its decision committed.',
    buckets: SECONDS,
    registers: [registry],
  }),
  apiRequests: new Counter({
    name: 'capture_api_requests_total',
    help: 'HTTP requests answered, per method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  }),
  apiDuration: new Histogram({
    name: 'capture_api_request_duration_seconds',
    help: 'HTTP request duration, per method and route.',
    labelNames: ['method', 'route'],
    buckets: SECONDS,
    registers: [registry],
  }),
  webhookRequests: new Counter({
    name: 'capture_webhook_requests_total',
    help: 'Webhook deliveries, per platform and result (stored, refused, bad).',
    labelNames: ['platform', 'result'],
    registers: [registry],
  }),
};
