import { parseArgs } from 'node:util';
import { DEFAULT_COST } from '../config.js';
import { listCases } from '../db/read-models/cases.read.js';
import { ENUMS, LIMIT } from '../db/read-models/common.js';
import { listContacts } from '../db/read-models/contacts.read.js';
import { listLeads } from '../db/read-models/leads.read.js';
import { listPosts } from '../db/read-models/posts.read.js';
import { listSourcesWithSpend } from '../db/read-models/sources.read.js';
import { UsageError } from '../errors.js';
import { openContext } from './context.js';
import { printRecords } from './output.js';

export type RecordKind = 'posts' | 'leads' | 'cases' | 'contacts' | 'sources';

/** The filters each listing takes: the same as its `GET /api/<kind>` query, with enum values from the schema. */
const FILTERS = {
  leads: { status: ENUMS.leadStatus, source: ENUMS.platform, 'contact-id': 'id' },
  cases: { status: ENUMS.caseStatus, origin: ENUMS.platform, priority: ENUMS.priority, 'contact-id': 'id' },
  contacts: { 'include-merged': 'flag' },
  posts: { status: ENUMS.postStatus, label: ENUMS.label, platform: ENUMS.platform },
  sources: {},
} as const satisfies Record<RecordKind, Record<string, readonly string[] | 'id' | 'flag'>>;

/** One usage line per listing, printed with a usage error and by `--help`. */
export function recordsUsage(kind: RecordKind): string {
  const flags = Object.entries(FILTERS[kind]).map(([flag, v]) =>
    v === 'flag' ? `[--${flag}]` : v === 'id' ? `[--${flag} ID]` : `[--${flag} ${(v as readonly string[]).join('|')}]`,
  );
  return `usage: capture ${kind} ${[...flags, '[--limit N]', '[--json]'].join(' ')}`;
}

/** A whole number in [min, max] from a flag's text, or a UsageError naming the flag. */
export function parseWholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${flag} takes a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`);
  return n;
}

type Parsed = { limit: number; filters: Record<string, string | number | boolean | undefined> };

function parseRecordArgs(kind: RecordKind, args: string[]): Parsed {
  const spec = FILTERS[kind] as Record<string, readonly string[] | 'id' | 'flag'>;
  const options: Record<string, { type: 'string' | 'boolean' }> = { limit: { type: 'string' } };
  for (const [flag, v] of Object.entries(spec)) options[flag] = { type: v === 'flag' ? 'boolean' : 'string' };
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
  if (positionals.length > 0) throw new UsageError(`capture ${kind} takes no arguments`);
  const limit = values.limit === undefined ? LIMIT.default : parseWholeNumber('limit', String(values.limit), LIMIT.min, LIMIT.max);
  const filters: Parsed['filters'] = {};
  for (const [flag, v] of Object.entries(spec)) {
    const given = values[flag];
    if (given === undefined) continue;
    const key = flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (v === 'flag') filters[key] = given === true;
    else if (v === 'id') filters[key] = parseWholeNumber(flag, String(given), 1, Number.MAX_SAFE_INTEGER);
    else if (!v.includes(String(given))) throw new UsageError(`--${flag} is one of ${v.join(', ')}`);
    else filters[key] = String(given);
  }
  return { limit, filters };
}

/** Rule ids of a stored explanation, for the table view. */
function ruleIds(rules: unknown): string {
  return Array.isArray(rules) ? rules.map((r) => (r as { id?: string }).id).join(',') : '';
}

/**
 * `capture posts|leads|cases|contacts|sources [filters] [--limit N] [--json]`: the same read models as
 * `GET /api/<kind>`, so `--json` prints exactly what the API returns for the same filters.
 */
export async function recordsCommand(kind: RecordKind, args: string[], json: boolean): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseRecordArgs(kind, args);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${recordsUsage(kind)}`);
  }
  const { limit, filters: f } = parsed;
  const ctx = await openContext();
  try {
    const sql = ctx.database.sql;
    switch (kind) {
      case 'leads': {
        const rows = await listLeads(sql, { ...f, limit });
        printRecords(json ? rows : rows.map((r) => ({ ...r, rules: ruleIds(r.rules) })), json, [
          'id',
          'status',
          'source',
          'author',
          'score',
          'posts',
          'rules',
          'text',
        ]);
        break;
      }
      case 'cases': {
        const rows = await listCases(sql, { ...f, limit });
        printRecords(json ? rows : rows.map((r) => ({ ...r, rules: ruleIds(r.rules) })), json, [
          'id',
          'status',
          'priority',
          'origin',
          'author',
          'posts',
          'rules',
          'text',
        ]);
        break;
      }
      case 'contacts': {
        const rows = await listContacts(sql, { ...f, limit });
        printRecords(json ? rows : rows.map((r) => ({ ...r, identities: r.identities.map((i) => `${i.platform}:${i.handle ?? i.userId}`).join(' ') })), json, [
          'id',
          'name',
          'email',
          'identities',
          'openLeads',
          'openCases',
        ]);
        break;
      }
      case 'posts': {
        const rows = await listPosts(sql, { ...f, limit });
        printRecords(json ? rows : rows.map((r) => ({ ...r, rules: ruleIds((r.decision as { rules?: unknown } | null)?.rules) })), json, [
          'id',
          'platform',
          'externalId',
          'status',
          'label',
          'author',
          'rules',
          'error',
          'text',
        ]);
        break;
      }
      case 'sources': {
        const rows = await listSourcesWithSpend(sql, ctx.config.sources, ctx.config.cost ?? DEFAULT_COST, limit);
        printRecords(rows, json, [
          'id',
          'platform',
          'kind',
          'health',
          'postsFetched',
          'postsReadMonth',
          'spendUsdMonth',
          'budgetPostsPerMonth',
          'budgetUsed',
          'lastSuccessAt',
          'lastError',
          'blockedUntil',
          'nextPollAt',
        ]);
        break;
      }
    }
    return 0;
  } finally {
    await ctx.close();
  }
}
