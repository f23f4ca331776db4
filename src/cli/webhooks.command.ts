import { parseArgs } from 'node:util';
import { parseDuration } from '../config.js';
import { readFeed } from '../db/outbox.repo.js';
import {
  addEndpoint,
  EndpointInputError,
  listDeliveries,
  listEndpoints,
  removeEndpoint,
  replayEvents,
  rotateSecret,
  setEndpointEnabled,
} from '../db/webhooks.repo.js';
import { UsageError } from '../errors.js';
import { openContext } from './context.js';
import { printObject, printRecords } from './output.js';

const WEBHOOKS_USAGE = `usage: capture webhooks <subcommand> [--json]
  add URL [--events 'case.*,lead.created'] [--description TEXT]   subscribe; prints the signing secret once
  list [--limit N]
  disable ID | enable ID | rotate-secret ID | remove ID
  deliveries [--endpoint ID] [--failed] [--limit N]                each attempt's status and latency`;

const EVENTS_USAGE = `usage: capture events [--after CURSOR] [--types 'case.*,lead.created'] [--limit N] [--json]
       capture events replay --endpoint ID --since TIME [--json]      TIME: ISO 8601, or an age like 24h or 7d`;

function positiveInt(value: string | undefined, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} takes a whole number ≥ 1, got ${JSON.stringify(value ?? '')}`);
  return n;
}

/** `7d`, `24h` (that long ago) or an ISO 8601 time. */
export function parseSince(value: string | undefined, now = Date.now()): Date {
  if (!value) throw new UsageError(`--since is required; ${EVENTS_USAGE}`);
  const age = parseDuration(value);
  if (age !== null) return new Date(now - age);
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new UsageError(`--since: not a time or an age: ${JSON.stringify(value)} (e.g. 2026-12-01T00:00:00Z or 24h)`);
  return new Date(at);
}

/** Run a command body with the database; an endpoint's bad input is bad usage (exit 2, naming the field). */
async function withDatabase<T>(fn: (ctx: Awaited<ReturnType<typeof openContext>>) => Promise<T>): Promise<T> {
  const ctx = await openContext();
  try {
    return await fn(ctx);
  } catch (err) {
    if (err instanceof EndpointInputError || err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  } finally {
    await ctx.close();
  }
}

/** `capture webhooks add|list|disable|enable|rotate-secret|remove|deliveries`. */
export async function webhooksCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      events: { type: 'string' },
      description: { type: 'string' },
      limit: { type: 'string', default: '50' },
      endpoint: { type: 'string' },
      failed: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const [sub, arg, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(`${WEBHOOKS_USAGE}\n`);
    return 0;
  }
  if (extra.length > 0) throw new UsageError(WEBHOOKS_USAGE);
  const limit = positiveInt(values.limit, '--limit');
  const id = () => positiveInt(arg, `capture webhooks ${sub} ID:`);
  switch (sub) {
    case 'add': {
      if (!arg) throw new UsageError(`capture webhooks add needs a URL; ${WEBHOOKS_USAGE}`);
      const ep = await withDatabase((ctx) => addEndpoint(ctx.database.sql, { url: arg, events: values.events, description: values.description }));
      printObject({ ...ep }, json);
      if (!json) process.stderr.write('The secret is shown once: keep it where the receiver verifies signatures.\n');
      return 0;
    }
    case 'list':
      printRecords((await withDatabase((ctx) => listEndpoints(ctx.database.sql, { limit }))) as unknown as Record<string, unknown>[], json, [
        'id',
        'status',
        'url',
        'events',
        'pending',
        'failed',
        'failingSince',
        'disabledReason',
        'description',
      ]);
      return 0;
    case 'disable':
    case 'enable': {
      const n = id();
      printObject({ ...(await withDatabase((ctx) => setEndpointEnabled(ctx.database.sql, n, sub === 'enable'))) }, json);
      return 0;
    }
    case 'rotate-secret': {
      const n = id();
      printObject(await withDatabase((ctx) => rotateSecret(ctx.database.sql, n)), json);
      return 0;
    }
    case 'remove': {
      const n = id();
      printObject(await withDatabase((ctx) => removeEndpoint(ctx.database.sql, n)), json);
      return 0;
    }
    case 'deliveries': {
      const endpointId = values.endpoint === undefined ? undefined : positiveInt(values.endpoint, '--endpoint');
      const rows = await withDatabase((ctx) => listDeliveries(ctx.database.sql, { endpointId, failed: values.failed, limit }));
      const table = json ? rows : rows.map((r) => ({ ...r, latencyMs: (r.attemptList as { latencyMs: number }[]).map((a) => a.latencyMs).join(',') }));
      printRecords(table as Record<string, unknown>[], json, [
        'id',
        'endpointId',
        'eventType',
        'aggregateId',
        'sequence',
        'status',
        'attempts',
        'lastStatusCode',
        'lastError',
        'latencyMs',
        'nextAttemptAt',
      ]);
      return 0;
    }
    default:
      throw new UsageError(sub === undefined ? WEBHOOKS_USAGE : `unknown subcommand ${JSON.stringify(sub)}; ${WEBHOOKS_USAGE}`);
  }
}

/** `capture events` (the feed, in commit order) and `capture events replay --endpoint ID --since TIME`. */
export async function eventsCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      after: { type: 'string' },
      types: { type: 'string' },
      limit: { type: 'string', default: '50' },
      endpoint: { type: 'string' },
      since: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${EVENTS_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 1 && positionals[0] === 'replay') {
    const endpointId = positiveInt(values.endpoint, '--endpoint');
    const since = parseSince(values.since);
    printObject(await withDatabase((ctx) => replayEvents(ctx.database.sql, endpointId, since)), json);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(EVENTS_USAGE);
  const limit = positiveInt(values.limit, '--limit');
  const page = await withDatabase((ctx) => readFeed(ctx.database.sql, { after: values.after, types: values.types?.split(','), limit }));
  const rows = page.events.map((e) => ({ ...e, aggregateType: e.aggregate.type, aggregateId: e.aggregate.id, sequence: e.aggregate.sequence }));
  printRecords(rows, json, ['cursor', 'type', 'aggregateType', 'aggregateId', 'sequence', 'timestamp', 'id']);
  if (!json) process.stderr.write(`next: --after ${page.next}\n`);
  return 0;
}
