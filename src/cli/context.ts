import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../config.js';
import { createDatabase, type Database } from '../db/client.js';
import { openDatabaseUrl, type DatabaseHandle } from '../db/embedded.js';
import { configureErasureKey } from '../db/erasure.repo.js';
import { runMigrations } from '../db/migrate.js';
import { ConfigError, describeError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { createTransport, type Transport } from '../workers/queues.js';

/** What a command needs, opened once; `close()` releases it all in reverse order. */
export interface Context {
  config: Config;
  log: Logger;
  database: Database;
  handle: DatabaseHandle;
  close(): Promise<void>;
}

/** An unreachable service: one line, no stack. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

export interface OpenOptions {
  /** Pool size. @defaultValue 5 */
  poolMax?: number;
  /** Log as JSON lines regardless of TTY (machine-readable runs). */
  log?: Logger;
}

/** Config, logger, the database (embedded when DATABASE_URL is unset) with migrations applied. */
export async function openContext(opts: OpenOptions = {}): Promise<Context> {
  const config = loadConfig();
  const log = opts.log ?? createLogger();
  const handle = await openDatabaseUrl(config.databaseUrl, config.dataDir, log).catch((err) => {
    throw new UnreachableError(`cannot start the embedded PostgreSQL under ${config.dataDir}: ${describeError(err)}`);
  });
  const database = createDatabase(handle.url, { max: opts.poolMax ?? 5 });
  try {
    await database.sql`select 1`;
  } catch (err) {
    await database.close().catch(() => {});
    await handle.stop();
    throw new UnreachableError(`cannot reach Postgres at ${redactUrl(handle.url)}: ${describeError(err)}`);
  }
  await runMigrations(database);
  if (config.secrets?.erasureKey) configureErasureKey(database.sql, config.secrets.erasureKey);
  return {
    config,
    log,
    database,
    handle,
    async close() {
      await database.close().catch(() => {});
      await handle.stop();
    },
  };
}

/** The queue transport: Redis when REDIS_URL is set (checked reachable first), else BullMQ's Postgres backend. */
export async function openTransport(ctx: Context, prefix?: string): Promise<Transport> {
  if (ctx.config.redisUrl) {
    const probe = new Redis(ctx.config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000 });
    let cause: unknown;
    probe.on('error', (err) => {
      cause ??= err;
    });
    try {
      await probe.connect();
      await probe.ping();
    } catch (err) {
      throw new UnreachableError(`cannot reach Redis at ${redactUrl(ctx.config.redisUrl)}: ${describeError(cause ?? err)}`);
    } finally {
      probe.disconnect();
    }
  }
  try {
    return createTransport({
      redisUrl: ctx.config.redisUrl,
      databaseUrl: ctx.handle.url,
      prefix: prefix ?? ctx.config.queuePrefix,
      cluster: ctx.config.redisCluster,
    });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** A URL as it may be printed: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
