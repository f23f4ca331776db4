import { createPostgresBackend, Queue, Worker, type JobsOptions, type Processor, type QueueOptions, type WorkerOptions } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import type { Platform } from '../types.js';

/** Queue of posts waiting to be decided; one job per post, id = post key. */
export const POSTS_QUEUE = 'posts';
/** Queue of scheduled polls (one job scheduler per source) and the reconciler. */
export const POLL_QUEUE = 'poll';

export const CAPTURE_JOB = 'capture-post';
export const POLL_JOB = 'poll-source';
export const RECONCILE_JOB = 'reconcile-inbox';
export const RECONCILE_SCHEDULER = 'reconciler';

export interface CaptureJobData {
  platform: Platform;
  externalId: string;
  /** The author's platform id: picks the batcher lane, so one author's posts never race each other. */
  authorId?: string;
}
export interface PollJobData {
  sourceId: string;
}

/** Capture job options; each line says why. */
export function captureJobOptions(attempts: number): JobsOptions {
  return {
    // Transient faults (Postgres restart, lock timeout) heal; a post that keeps failing is quarantined.
    attempts,
    backoff: { type: 'exponential', delay: 1000 },
    // Postgres is the truth: a finished job is only transport, keep a short tail for inspection.
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000 },
  };
}

/**
 * Where the queues live. Redis in production; BullMQ's PostgreSQL backend when REDIS_URL is unset,
 * so a first run needs nothing but Node. Only the backend factory differs.
 */
export type Transport = { kind: 'redis'; url: string; prefix: string; connection: Redis | Cluster } | { kind: 'postgres'; url: string; schema: string };

export interface TransportOptions {
  redisUrl?: string | undefined;
  databaseUrl: string;
  /** Redis key prefix. @defaultValue 'capture' */
  prefix?: string;
  /** Postgres schema for the queue tables. @defaultValue 'bullmq' */
  schema?: string;
  /**
   * `redisUrl` is one node of a Redis Cluster; the client discovers the rest. The prefix must then
   * be a hash tag (`{capture}`) so every key of a queue lands in one slot, as BullMQ requires.
   * @defaultValue false
   */
  cluster?: boolean;
}

/** A Redis key prefix BullMQ can use on Redis Cluster: it must carry a `{hash tag}`. */
export function isHashTagged(prefix: string): boolean {
  return /\{[^{}]+\}/.test(prefix);
}

export function createTransport(opts: TransportOptions): Transport {
  if (opts.redisUrl) {
    // maxRetriesPerRequest: null is what BullMQ workers require; commands wait out a Redis restart.
    let connection: Redis | Cluster;
    if (opts.cluster) {
      const prefix = opts.prefix ?? 'capture';
      if (!isHashTagged(prefix)) throw new Error(`queue.prefix: on Redis Cluster it must be a hash tag such as {${prefix}}, got ${JSON.stringify(prefix)}`);
      const u = new URL(opts.redisUrl);
      connection = new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
        redisOptions: { maxRetriesPerRequest: null, ...(u.password ? { password: decodeURIComponent(u.password) } : {}) },
      });
    } else {
      connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    }
    connection.on('error', () => {}); // surfaced by waitUntilReady / job failures, not as unhandled events
    return { kind: 'redis', url: opts.redisUrl, prefix: opts.prefix ?? 'capture', connection };
  }
  return { kind: 'postgres', url: opts.databaseUrl, schema: opts.schema ?? 'bullmq' };
}

/**
 * Delete every key under a queue prefix (all of its queues, jobs and schedulers): for benchmarks and
 * tests that share a Redis. Unlike obliterate, it needs no Queue object per queue name.
 */
export async function deleteQueueKeys(redis: Redis | Cluster, prefix: string): Promise<void> {
  for (let cursor = '0'; ; ) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    if ((cursor = next) === '0') return;
  }
}

export async function closeTransport(t: Transport): Promise<void> {
  if (t.kind === 'redis') await t.connection.quit().catch(() => t.connection.disconnect());
}

function pgConnection(t: Extract<Transport, { kind: 'postgres' }>) {
  return { connectionString: t.url, schema: t.schema, migrate: true, max: 10 };
}

/** A queue on the transport. The cast is where BullMQ's per-backend overloads meet one code path. */
export function openQueue<D>(t: Transport, name: string, opts: Partial<QueueOptions> = {}): Queue<D> {
  if (t.kind === 'redis') return new Queue<D>(name, { ...opts, connection: t.connection, prefix: t.prefix });
  return new Queue(name, { ...opts, connection: pgConnection(t) } as never, createPostgresBackend) as unknown as Queue<D>;
}

export function openWorker<D, R>(t: Transport, name: string, processor: Processor<D, R>, opts: Partial<WorkerOptions> = {}): Worker<D, R> {
  if (t.kind === 'redis') {
    return new Worker<D, R>(name, processor, { ...opts, connection: t.connection, prefix: t.prefix });
  }
  return new Worker(name, processor as never, { ...opts, connection: pgConnection(t) } as never, createPostgresBackend) as unknown as Worker<D, R>;
}
