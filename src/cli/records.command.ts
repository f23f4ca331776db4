import { parseArgs } from 'node:util';
import { DEFAULT_COST } from '../config.js';
import { listCases, listContacts, listLeads, listPosts, type PostStatus } from '../db/queries.js';
import { listSourcesWithSpend } from '../db/usage.repo.js';
import { UsageError } from '../errors.js';
import { openContext } from './context.js';
import { printRecords } from './output.js';

export type RecordKind = 'posts' | 'leads' | 'cases' | 'contacts' | 'sources';

const STATUSES = ['pending', 'processed', 'failed'] as const;

/** Rule ids of a stored explanation, for the table view. */
function ruleIds(rules: unknown): string {
  return Array.isArray(rules) ? rules.map((r) => (r as { id?: string }).id).join(',') : '';
}

/** `capture posts|leads|cases|contacts|sources [--limit N] [--status S] [--json]`. */
export async function recordsCommand(kind: RecordKind, args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { limit: { type: 'string', default: '50' }, status: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`capture ${kind} takes no arguments`);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a whole number ≥ 1');
  if (values.status !== undefined && (kind !== 'posts' || !STATUSES.includes(values.status as PostStatus))) {
    throw new UsageError(kind === 'posts' ? '--status is one of pending, processed, failed' : `capture ${kind} takes no --status`);
  }
  const ctx = await openContext();
  try {
    const db = ctx.database.db;
    switch (kind) {
      case 'leads': {
        const rows = await listLeads(db, limit);
        printRecords(json ? rows : rows.map((r) => ({ ...r, rules: ruleIds(r.rules) })), json, [
          'id', 'status', 'source', 'author', 'score', 'posts', 'rules', 'text',
        ]);
        break;
      }
      case 'cases': {
        const rows = await listCases(db, limit);
        printRecords(json ? rows : rows.map((r) => ({ ...r, rules: ruleIds(r.rules) })), json, [
          'id', 'status', 'priority', 'origin', 'author', 'posts', 'rules', 'text',
        ]);
        break;
      }
      case 'contacts': {
        const rows = await listContacts(db, limit);
        printRecords(
          json ? rows : rows.map((r) => ({ ...r, identities: r.identities.map((i) => `${i.platform}:${i.handle ?? i.userId}`).join(' ') })),
          json,
          ['id', 'name', 'email', 'identities', 'openLeads', 'openCases'],
        );
        break;
      }
      case 'posts': {
        const rows = await listPosts(db, limit, values.status as PostStatus | undefined);
        printRecords(
          json ? rows : rows.map((r) => ({ ...r, rules: ruleIds((r.decision as { rules?: unknown } | null)?.rules) })),
          json,
          ['id', 'platform', 'externalId', 'status', 'label', 'author', 'rules', 'error', 'text'],
        );
        break;
      }
      case 'sources': {
        const rows = await listSourcesWithSpend(ctx.database.sql, ctx.config.sources, ctx.config.cost ?? DEFAULT_COST, limit);
        printRecords(rows, json, ['id', 'health', 'postsFetched', 'postsReadMonth', 'spendUsdMonth', 'budgetPostsPerMonth', 'budgetUsed', 'lastSuccessAt', 'lastError', 'blockedUntil', 'nextPollAt']);
        break;
      }
    }
    return 0;
  } finally {
    await ctx.close();
  }
}
