import type { CostConfig, SourceConfig } from '../../config.js';
import { type SourceSpend, sourceSpend } from '../usage.repo.js';
import type { Sql } from '../client.js';
import { ISO } from './common.js';

/** A source: what the config says it is, and where it stands (cursor, health) in the database. */
export interface SourceRow {
  id: string;
  /** From the config (or {@link PUSHED_SOURCES}); null for a source the config no longer lists. */
  platform: string | null;
  kind: string | null;
  configured: boolean;
  healthy: boolean | null;
  postsFetched: number;
  lastSuccessAt: string | null;
  lastErrorAt: string | null;
  lastError: string | null;
  blockedUntil: string | null;
  nextPollAt: string | null;
  cursor: string | null;
  /** `ok`, `unhealthy`, or `budget exhausted` (paused until `resumesOn`). */
  health: 'ok' | 'unhealthy' | 'budget exhausted';
}

/** A source with this billing month's requests, posts read and charged, spend and budget (configured sources only). */
export type SourceWithSpend = SourceRow & Partial<Omit<SourceSpend, 'sourceId'>>;

interface CursorRow {
  id: string;
  healthy: boolean;
  postsFetched: number;
  lastSuccessAt: string | null;
  lastErrorAt: string | null;
  lastError: string | null;
  blockedUntil: string | null;
  nextPollAt: string | null;
  cursor: string | null;
}

/**
 * Sources that are not polled, so not in the config: `capture import` and the Facebook webhook store
 * under these ids (`IMPORT_SOURCE`, `FACEBOOK_WEBHOOK_SOURCE`).
 */
export const PUSHED_SOURCES: Readonly<Record<string, { platform: string | null; kind: string }>> = {
  import: { platform: null, kind: 'import' },
  'facebook-webhook': { platform: 'facebook', kind: 'webhook' },
};

/** Every configured source and every source the database has a cursor for, by id. */
export async function listSources(sql: Sql, configured: readonly SourceConfig[]): Promise<SourceRow[]> {
  const cursors = await sql<CursorRow[]>`
    select source_id as id, healthy, posts_fetched as "postsFetched",
           to_char(last_success_at at time zone 'UTC', ${ISO}) as "lastSuccessAt", to_char(last_error_at at time zone 'UTC', ${ISO}) as "lastErrorAt",
           last_error as "lastError", to_char(blocked_until at time zone 'UTC', ${ISO}) as "blockedUntil",
           to_char(next_poll_at at time zone 'UTC', ${ISO}) as "nextPollAt", cursor
    from source_cursors`;
  const byId = new Map(cursors.map((c) => [c.id, c]));
  const ids = [...new Set([...configured.map((s) => s.id), ...byId.keys()])].sort();
  return ids.map((id) => {
    const s = configured.find((c) => c.id === id);
    const c = byId.get(id);
    return {
      id,
      platform: s?.platform ?? PUSHED_SOURCES[id]?.platform ?? null,
      kind: s?.kind ?? PUSHED_SOURCES[id]?.kind ?? null,
      configured: s !== undefined,
      healthy: c?.healthy ?? null,
      postsFetched: c?.postsFetched ?? 0,
      lastSuccessAt: c?.lastSuccessAt ?? null,
      lastErrorAt: c?.lastErrorAt ?? null,
      lastError: c?.lastError ?? null,
      blockedUntil: c?.blockedUntil ?? null,
      nextPollAt: c?.nextPollAt ?? null,
      cursor: c?.cursor ?? null,
      health: c?.healthy === false ? 'unhealthy' : 'ok',
    };
  });
}

/**
 * {@link listSources} with each configured source's spend and budget at `at`: the one listing behind
 * `capture sources` and `GET /api/sources`. A source paused by its budget has health `budget exhausted`.
 */
export async function listSourcesWithSpend(
  sql: Sql,
  configured: readonly SourceConfig[],
  prices: CostConfig,
  limit: number,
  at: number = Date.now(),
): Promise<SourceWithSpend[]> {
  const [rows, spend] = await Promise.all([listSources(sql, configured), sourceSpend(sql, configured, prices, at)]);
  const byId = new Map(spend.map(({ sourceId, ...s }) => [sourceId, s]));
  return rows.slice(0, limit).map((r) => {
    const s = byId.get(r.id);
    if (s === undefined) return r;
    return { ...r, ...s, health: s.budgetStatus === 'budget exhausted' ? 'budget exhausted' : r.health };
  });
}
