import type { EventRetention } from '../config.js';
import type { Sql } from '../db/client.js';
import { pruneEvents } from '../db/outbox.repo.js';
import type { Logger } from '../logger.js';

/**
 * Prune the outbox's events past their retention, once at start and then every `pruneEveryMs`, one
 * pass at a time. Several worker processes may prune together: a deleted row is deleted once.
 * Returns a stop function that waits for a pass under way.
 */
export function startEventPruner(opts: { sql: Sql; log: Logger; retention: EventRetention }): { close(): Promise<void> } {
  const { sql, log, retention } = opts;
  if (retention.retentionMs === null) return { close: async () => {} };
  const retentionMs = retention.retentionMs;
  let running: Promise<unknown> | null = null;
  const pass = () => {
    running ??= pruneEvents(sql, retentionMs)
      .then((n) => {
        if (n > 0) log.info({ deleted: n, retentionMs }, 'events past their retention deleted');
      })
      .catch((err: unknown) => log.warn({ err }, 'event pruning failed; will try again'))
      .finally(() => (running = null));
  };
  pass();
  const timer = setInterval(pass, retention.pruneEveryMs);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
