import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { Priority } from './types.js';
import type { WebhookSettings } from './workers/webhook-delivery.worker.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "5m", "72h", "7d", "250ms" or a number of milliseconds → milliseconds. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!m) return null;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(v)} (use e.g. 60s, 5m, 72h, 7d)` });
    return z.NEVER;
  }
  return ms;
});

const baseSource = {
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'must be letters, digits, - or _'),
  every: duration.default(60_000),
  enabled: z.boolean().default(true),
  /** Retweets from this source: `ignore` (the default) records them but never makes a lead or case of one; `capture` decides them like any post. */
  retweets: z.enum(['ignore', 'capture']).optional(),
  /** How far behind the newest post already read each poll reads again, for posts that reach the API late. @defaultValue 10m (docs/sources.md) */
  overlap: duration.optional(),
  /** How far back the first poll reaches. @defaultValue 1d; at most 7d on X search and stream (mentions serve the 800 newest). */
  backfill: duration.optional(),
  /** Posts this source may read per billing month (UTC calendar month); at 100% it pauses until the next month. */
  budget: z.strictObject({ posts_per_month: z.number().int().positive() }).optional(),
};

/** A rule of X's filtered stream: the match expression and an optional tag. */
const streamRule = z.strictObject({
  value: z.string().min(1).max(1024, 'at most 1024 characters (X limit per rule)'),
  tag: z.string().max(256).optional(),
});

const sourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...baseSource, platform: z.literal('twitter'), kind: z.literal('search'), query: z.string().min(1) }),
  z.strictObject({
    ...baseSource,
    platform: z.literal('twitter'),
    kind: z.literal('mentions'),
    user_id: z.string().regex(/^\d+$/, 'must be a string of digits (X ids exceed 2^53)'),
  }),
  z.strictObject({
    ...baseSource,
    platform: z.literal('facebook'),
    kind: z.literal('page'),
    page_id: z.string().regex(/^\d+$/, 'must be a string of digits'),
    /** Comments are followed on the Page's posts, visitor posts and tagged posts this recent. @defaultValue 30d */
    conversation_window: duration.optional(),
  }),
  z.strictObject({
    ...baseSource,
    platform: z.literal('twitter'),
    kind: z.literal('stream'),
    /** Synced to the app's filtered-stream rules at start: missing ones added, others deleted. */
    rules: z.array(streamRule).min(1, 'at least one rule').max(1000, 'at most 1000 rules (X limit)'),
    /** Reconnect when this long passes without a post or a keep-alive (X sends one every ~20 s). @defaultValue 30s */
    heartbeat_timeout: duration.optional(),
  }),
  z.strictObject({
    ...baseSource,
    platform: z.enum(['twitter', 'facebook']),
    kind: z.literal('sandbox'),
    /** New posts each poll. */
    posts_per_poll: z.number().int().positive().default(5),
    /** Stop after this many posts in all (tests, demos). */
    total: z.number().int().positive().optional(),
    seed: z.number().int().default(1),
  }),
]);

/** How soon after a case is resolved a new problem post from its contact on its channel reopens it. */
export const DEFAULT_REOPEN_WINDOW_MS = 3 * 86_400_000;

const priorityDurations = z.strictObject({ low: duration, normal: duration, high: duration, urgent: duration }).partial().default({});

/** Prices and the account-wide cap of X pay-per-use (since 2026-02-06), in US dollars. */
const costSchema = z
  .strictObject({
    /** Per post read through search or the stream. */
    x_post_read_usd: z.number().nonnegative().default(0.005),
    /** Per post read from the app's own mentions. */
    x_own_mention_read_usd: z.number().nonnegative().default(0.001),
    /** Posts the X account may read per billing month, all sources together. */
    monthly_cap_posts: z.number().int().positive().default(3_000_000),
    /** Share of a budget at which a warning is logged and the metric turns. */
    warn_at: z.number().gt(0).lt(1).default(0.8),
  })
  // prefault: an absent section is parsed as {}, so each field's default above is the only statement of it
  .prefault({});

const fileSchema = z.strictObject({
  sources: z.array(sourceSchema).default([]),
  cost: costSchema,
  own_accounts: z
    .strictObject({ twitter: z.array(z.string()).default([]), facebook: z.array(z.string()).default([]) })
    .partial()
    .default({}),
  rules: z.string().default('rules/default.yaml'),
  capture: z
    .strictObject({
      /** A new problem post attaches to the contact's open case on the same channel if it was active this recently. */
      case_window: duration.default(7 * 86_400_000),
      /** A new problem post from a contact this soon after their case on the channel was resolved reopens it; later, a new case. */
      reopen_window: duration.default(DEFAULT_REOPEN_WINDOW_MS),
      /** Time to resolve a case, per priority. */
      sla: priorityDurations,
      /**
       * Concurrent capture jobs per worker process. Every 2 × batch_size of them is a lane with one
       * batch committing while its next one fills, so a lane never waits for jobs to arrive. Two
       * lanes (the default) keep deciding while the same process stores and enqueues a burst.
       */
      concurrency: z.number().int().positive().max(4096).default(1024),
      /** Most posts decided in one transaction. */
      batch_size: z.number().int().positive().max(500).default(256),
      /** Tries before a post is quarantined as failed. */
      attempts: z.number().int().positive().max(50).default(5),
      /** A pending post older than this with no job is re-enqueued. */
      reconcile_grace: duration.default(60_000),
      reconcile_every: duration.default(30_000),
    })
    .prefault({}),
  erasure: z
    .strictObject({
      /** What `capture forget` does to the leads and cases the person was on: delete them, or keep them anonymized. */
      mode: z.enum(['delete', 'anonymize']).default('anonymize'),
    })
    .prefault({}),
  /** Webhook delivery (docs/webhooks.md). */
  webhooks: z
    .strictObject({
      relay_every: duration.default(1000),
      timeout: duration.default(10_000),
      backoff_base: duration.default(5000),
      backoff_max: duration.default(3_600_000),
      retry_for: duration.default(86_400_000),
      disable_after: duration.default(86_400_000),
      concurrency: z.number().int().positive().max(256).default(8),
      yield_to_capture: duration.default(30_000),
    })
    .optional(),
  /** The outbox's events (docs/webhooks.md#retention). */
  events: z
    .strictObject({
      /** Events older than this are deleted (never one a webhook still owes); `off` keeps them all. */
      retention: z.union([z.literal('off'), duration]).default(30 * 86_400_000),
      /** How often the worker looks for events past their retention. */
      prune_every: duration.default(3_600_000),
    })
    .prefault({}),
  queue: z
    .strictObject({
      /** Redis key prefix; put it in braces (`{capture}`) on Redis Cluster so a queue's keys share a slot. */
      prefix: z.string().min(1).default('capture'),
    })
    .prefault({}),
});

export type SourceConfig = z.infer<typeof sourceSchema>;

/** Prices and caps that `capture sources` and the budget check use. */
export interface CostConfig {
  xPostReadUsd: number;
  xOwnMentionReadUsd: number;
  monthlyCapPosts: number;
  warnAt: number;
}

/** Default price list (X pay-per-use as of 2026-02): the schema's defaults, for configs built in code. */
export const DEFAULT_COST: CostConfig = costConfig(costSchema.parse(undefined));

function costConfig(c: z.infer<typeof costSchema>): CostConfig {
  return Object.freeze({
    xPostReadUsd: c.x_post_read_usd,
    xOwnMentionReadUsd: c.x_own_mention_read_usd,
    monthlyCapPosts: c.monthly_cap_posts,
    warnAt: c.warn_at,
  });
}

const DAY_MS = 86_400_000;
/** Recent search serves 7 days. (The mentions timeline serves its 800 newest, however old: no time cap.) */
const X_SEARCH_DAYS_MS = 7 * DAY_MS;

/** A source's backfill beyond what its endpoint serves: the message, or null. */
function backfillProblem(s: SourceConfig): string | null {
  if (s.backfill === undefined) return null;
  if ((s.kind === 'search' || s.kind === 'stream') && s.backfill > X_SEARCH_DAYS_MS) return 'at most 7d: X recent search serves the last 7 days';
  return null;
}

const DEFAULT_SLA: Record<Priority, number> = {
  urgent: 4 * 3_600_000,
  high: 24 * 3_600_000,
  normal: 72 * 3_600_000,
  low: 7 * 86_400_000,
};

/** The outbox's retention: `events:` in the config file. */
export interface EventRetention {
  /** Events older than this are deleted, unless a webhook delivery of theirs is still pending; null keeps them. */
  retentionMs: number | null;
  pruneEveryMs: number;
}

export const DEFAULT_EVENT_RETENTION: EventRetention = { retentionMs: 30 * 86_400_000, pruneEveryMs: 3_600_000 };

/** Everything the service needs, parsed once at boot and passed down. */
export interface Config {
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  /** REDIS_URL names one node of a Redis Cluster. */
  readonly redisCluster?: boolean;
  readonly configPath: string;
  readonly rulesPath: string;
  readonly sources: readonly SourceConfig[];
  /** X prices and the account-wide cap. @defaultValue {@link DEFAULT_COST} */
  readonly cost?: CostConfig;
  readonly ownAccounts: { twitter: string[]; facebook: string[] };
  readonly capture: {
    caseWindowMs: number;
    /** After a case is resolved, how long a new problem post from its contact on its channel reopens it. @defaultValue 3 days */
    reopenWindowMs?: number;
    slaMs: Record<Priority, number>;
    concurrency: number;
    batchSize: number;
    attempts: number;
    reconcileGraceMs: number;
    reconcileEveryMs: number;
  };
  readonly queuePrefix: string;
  /** Webhook delivery: retries, timeouts, the relay's pace. @defaultValue DEFAULT_WEBHOOK_SETTINGS */
  readonly webhooks?: WebhookSettings;
  /**
   * How long the outbox keeps events (null: for ever) and how often it prunes them.
   * @defaultValue {@link DEFAULT_EVENT_RETENTION}
   */
  readonly events?: EventRetention;
  /** What erasure does to the person's leads and cases. @defaultValue 'anonymize' */
  readonly erasureMode?: 'delete' | 'anonymize';
  readonly dataDir: string;
  readonly port: number;
  /**
   * Credentials from the environment; unset tokens mean the sandbox simulators stand in.
   * Optional so configs built in code (tests, benchmarks) need not spell out what they do not use.
   */
  readonly secrets?: Secrets;
  /** Stands in for https://api.x.com (TWITTER_API_BASE_URL). */
  readonly twitterApiBaseUrl?: string | undefined;
  /** Versioned Graph base, e.g. https://graph.facebook.com/v27.0 (FACEBOOK_GRAPH_BASE_URL). */
  readonly facebookGraphBaseUrl?: string | undefined;
}

/** Zod issues → one line naming the file and each field. */
function formatIssues(origin: string, issues: z.core.$ZodIssue[], doc: unknown): string {
  return issues
    .map((i) => {
      const path = i.path
        .map((p, n) => {
          if (typeof p === 'number') {
            const node = i.path.slice(0, n + 1).reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown>)?.[k as PropertyKey], doc);
            const id = node && typeof node === 'object' && 'id' in node ? ` (id ${JSON.stringify((node as { id: unknown }).id)})` : '';
            return `[${p}]${id}`;
          }
          return `${n === 0 ? '' : '.'}${String(p)}`;
        })
        .join('');
      const message = i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}` : i.message;
      return `${origin}: ${path || '(top level)'}: ${message}`;
    })
    .join('; ');
}

/** Parse the YAML text of a config file; throws ConfigError naming the field. */
export function parseConfigFile(text: string, origin: string): z.infer<typeof fileSchema> {
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(`${origin}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) throw new ConfigError(formatIssues(origin, parsed.error.issues, doc));
  const ids = new Set<string>();
  let stream: string | null = null;
  for (const [i, s] of parsed.data.sources.entries()) {
    if (ids.has(s.id)) throw new ConfigError(`${origin}: sources: duplicate source id ${JSON.stringify(s.id)}`);
    ids.add(s.id);
    // X keeps one set of stream rules per app, and each stream source syncs the set to its own rules.
    if (s.kind === 'stream' && s.enabled) {
      if (stream !== null) {
        throw new ConfigError(
          `${origin}: sources[${i}] (id ${JSON.stringify(s.id)}).kind: a second enabled stream source (after ${JSON.stringify(stream)}): ` +
            'X has one filtered stream and one set of rules per app; put all the rules in one stream source',
        );
      }
      stream = s.id;
    }
    const problem = backfillProblem(s);
    if (problem) throw new ConfigError(`${origin}: sources[${i}] (id ${JSON.stringify(s.id)}).backfill: ${problem}`);
  }
  return parsed.data;
}

const envSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  REDIS_URL: z.string().url().optional(),
  REDIS_CLUSTER: z.enum(['true', 'false', '1', '0']).optional(),
  CAPTURE_CONFIG: z.string().optional(),
  CAPTURE_DATA_DIR: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  TWITTER_BEARER_TOKEN: z.string().optional(),
  FACEBOOK_PAGE_TOKEN: z.string().optional(),
  FACEBOOK_APP_SECRET: z.string().optional(),
  FACEBOOK_VERIFY_TOKEN: z.string().optional(),
  CAPTURE_API_TOKEN: z.string().optional(),
  CAPTURE_ERASURE_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  TWITTER_API_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, like https://api.x.com' }).optional(),
  FACEBOOK_GRAPH_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, like https://graph.facebook.com/v27.0' }).optional(),
});

/**
 * Platform credentials, from the environment only (never the config file). Kept under one key
 * that the logger redacts whole.
 */
export interface Secrets {
  twitterBearerToken?: string | undefined;
  facebookPageToken?: string | undefined;
  facebookAppSecret?: string | undefined;
  facebookVerifyToken?: string | undefined;
  apiToken?: string | undefined;
  /** HMAC key of the erased-author hashes; unset: one is made and kept in the database. */
  erasureKey?: string | undefined;
}

function webhookSettings(w: NonNullable<z.infer<typeof fileSchema>['webhooks']>): WebhookSettings {
  return {
    relayEveryMs: w.relay_every,
    timeoutMs: w.timeout,
    backoffBaseMs: w.backoff_base,
    backoffMaxMs: w.backoff_max,
    retryForMs: w.retry_for,
    disableAfterMs: w.disable_after,
    concurrency: w.concurrency,
    yieldForMs: w.yield_to_capture,
  };
}

/** Read the environment and the config file once. Throws ConfigError with a message naming the field. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!e.success) throw new ConfigError(formatIssues('environment', e.error.issues, env));
  const configPath = resolve(e.data.CAPTURE_CONFIG ?? 'capture.config.yaml');
  let file: z.infer<typeof fileSchema>;
  if (existsSync(configPath)) file = parseConfigFile(readFileSync(configPath, 'utf8'), configPath);
  else if (e.data.CAPTURE_CONFIG) throw new ConfigError(`CAPTURE_CONFIG: no such file ${configPath}`);
  else file = parseConfigFile('', '(defaults)');
  const c = file.capture;
  return Object.freeze({
    databaseUrl: e.data.DATABASE_URL,
    redisUrl: e.data.REDIS_URL,
    redisCluster: e.data.REDIS_CLUSTER === 'true' || e.data.REDIS_CLUSTER === '1',
    configPath,
    rulesPath: resolve(file.rules),
    sources: file.sources,
    cost: costConfig(file.cost),
    ownAccounts: { twitter: file.own_accounts.twitter ?? [], facebook: file.own_accounts.facebook ?? [] },
    capture: {
      caseWindowMs: c.case_window,
      reopenWindowMs: c.reopen_window,
      slaMs: { ...DEFAULT_SLA, ...c.sla },
      concurrency: c.concurrency,
      batchSize: c.batch_size,
      attempts: c.attempts,
      reconcileGraceMs: c.reconcile_grace,
      reconcileEveryMs: c.reconcile_every,
    },
    queuePrefix: file.queue.prefix,
    ...(file.webhooks ? { webhooks: webhookSettings(file.webhooks) } : {}),
    events: { retentionMs: file.events.retention === 'off' ? null : file.events.retention, pruneEveryMs: file.events.prune_every },
    erasureMode: file.erasure.mode,
    dataDir: resolve(e.data.CAPTURE_DATA_DIR ?? 'data'),
    port: e.data.PORT ?? 8080,
    secrets: Object.freeze({
      twitterBearerToken: e.data.TWITTER_BEARER_TOKEN,
      facebookPageToken: e.data.FACEBOOK_PAGE_TOKEN,
      facebookAppSecret: e.data.FACEBOOK_APP_SECRET,
      facebookVerifyToken: e.data.FACEBOOK_VERIFY_TOKEN,
      apiToken: e.data.CAPTURE_API_TOKEN,
      erasureKey: e.data.CAPTURE_ERASURE_KEY,
    }),
    twitterApiBaseUrl: e.data.TWITTER_API_BASE_URL,
    facebookGraphBaseUrl: e.data.FACEBOOK_GRAPH_BASE_URL,
  });
}
