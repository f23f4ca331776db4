import { randomBytes } from 'node:crypto';
import { NotFoundError } from '../errors.js';
import type { Sql, Tx } from './client.js';
import { EVENT_BODY, typePatterns } from './outbox.repo.js';
import { ISO } from './read-models/common.js';

/**
 * Webhook endpoints (a subscriber's URL, event types and own secret) and the deliveries owed to
 * them. Postgres holds every delivery; a queue job only tells a worker which endpoint to drain.
 */

/** A new signing secret in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Bad input to an endpoint: the message names the field (HTTP 400, CLI exit 2). */
export class EndpointInputError extends Error {
  override readonly name = 'EndpointInputError';
}

/** An http(s) URL, or an EndpointInputError naming `url`. */
export function checkEndpointUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EndpointInputError(`url: not a URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new EndpointInputError(`url: must be http or https, got ${u.protocol}`);
  return u.toString();
}

/** Event type patterns (`case.*`, `lead.created`), checked; an EndpointInputError naming `events` otherwise. */
export function checkEventTypes(types: readonly string[] | string | undefined): string[] {
  const list = (typeof types === 'string' ? types.split(',') : (types ?? [])).map((t) => t.trim()).filter(Boolean);
  try {
    typePatterns(list);
  } catch (err) {
    throw new EndpointInputError(`events: ${(err as Error).message}`);
  }
  return list;
}

const ENDPOINT_COLUMNS = (sql: Sql) => sql`
  w.id, w.url, w.description, w.event_types as events, w.status, w.disabled_reason as "disabledReason",
  to_char(w.disabled_at at time zone 'UTC', ${ISO}) as "disabledAt", to_char(w.failing_since at time zone 'UTC', ${ISO}) as "failingSince",
  to_char(w.created_at at time zone 'UTC', ${ISO}) as "createdAt",
  (select count(*)::int from webhook_deliveries d where d.endpoint_id = w.id and d.status = 'pending') as pending,
  (select count(*)::int from webhook_deliveries d where d.endpoint_id = w.id and d.status = 'failed') as failed`;

/** An endpoint as the CLI and the API show it (never its secret). */
export interface Endpoint {
  id: number;
  url: string;
  description: string | null;
  events: string[];
  status: 'enabled' | 'disabled';
  disabledReason: string | null;
  disabledAt: string | null;
  failingSince: string | null;
  createdAt: string;
  pending: number;
  failed: number;
}

export interface NewEndpoint {
  url: string;
  events?: readonly string[] | string | undefined;
  description?: string | undefined;
}

/**
 * Subscribe a URL. It receives the events committed from now on (its cursor starts at the end of
 * the feed); `replay` re-sends older ones. The secret is returned here and by `rotateSecret` only.
 */
export async function addEndpoint(sql: Sql, input: NewEndpoint): Promise<Endpoint & { secret: string }> {
  const url = checkEndpointUrl(input.url);
  const events = checkEventTypes(input.events);
  const secret = newSecret();
  const [row] = await sql<{ id: number }[]>`
    insert into webhook_endpoints (url, description, event_types, secret, cursor)
    values (${url}, ${input.description ?? null}, ${sql.array(events)}::text[], ${secret},
            (select coalesce(max(feed_position), 0) from events))
    returning id`;
  return { ...(await getEndpoint(sql, row!.id)), secret };
}

export async function listEndpoints(sql: Sql, f: { limit: number }): Promise<Endpoint[]> {
  return sql<Endpoint[]>`select ${ENDPOINT_COLUMNS(sql)} from webhook_endpoints w order by w.id desc limit ${f.limit}`;
}

export async function getEndpoint(sql: Sql, id: number): Promise<Endpoint> {
  const [row] = await sql<Endpoint[]>`select ${ENDPOINT_COLUMNS(sql)} from webhook_endpoints w where w.id = ${id}`;
  if (!row) throw new NotFoundError(`no webhook endpoint ${id}`);
  return row;
}

/** Disable (nothing is sent; deliveries wait) or enable again (they resume, oldest first). */
export async function setEndpointEnabled(sql: Sql, id: number, enabled: boolean, reason = 'disabled by a person'): Promise<Endpoint> {
  const rows = enabled
    ? await sql`
        update webhook_endpoints set status = 'enabled', disabled_reason = null, disabled_at = null, failing_since = null, updated_at = now()
        where id = ${id} returning id`
    : await sql`
        update webhook_endpoints set status = 'disabled', disabled_reason = ${reason}, disabled_at = now(), updated_at = now()
        where id = ${id} returning id`;
  if (rows.length === 0) throw new NotFoundError(`no webhook endpoint ${id}`);
  return getEndpoint(sql, id);
}

/** A new secret for the endpoint; every delivery from now on is signed with it. */
export async function rotateSecret(sql: Sql, id: number): Promise<{ id: number; secret: string }> {
  const secret = newSecret();
  const rows = await sql`update webhook_endpoints set secret = ${secret}, updated_at = now() where id = ${id} returning id`;
  if (rows.length === 0) throw new NotFoundError(`no webhook endpoint ${id}`);
  return { id, secret };
}

/** Remove the endpoint with its deliveries and their attempts. */
export async function removeEndpoint(sql: Sql, id: number): Promise<{ id: number; removed: true }> {
  const rows = await sql`delete from webhook_endpoints where id = ${id} returning id`;
  if (rows.length === 0) throw new NotFoundError(`no webhook endpoint ${id}`);
  return { id, removed: true };
}

export interface DeliveryFilter {
  endpointId?: number | undefined;
  /** Only dead-lettered deliveries. */
  failed?: boolean | undefined;
  limit: number;
}

/** Deliveries, newest first, each with every attempt's status code and latency. */
export async function listDeliveries(sql: Sql, f: DeliveryFilter) {
  return sql`
    select d.id, d.endpoint_id as "endpointId", d.event_id as "eventId", e.type as "eventType",
           d.aggregate_type as "aggregateType", d.aggregate_id as "aggregateId", d.sequence, d.status, d.attempts,
           d.last_status_code as "lastStatusCode", d.last_error as "lastError",
           to_char(d.next_attempt_at at time zone 'UTC', ${ISO}) as "nextAttemptAt", to_char(d.delivered_at at time zone 'UTC', ${ISO}) as "deliveredAt",
           to_char(d.created_at at time zone 'UTC', ${ISO}) as "createdAt",
           coalesce((select json_agg(json_build_object('at', to_char(a.attempted_at at time zone 'UTC', ${ISO}), 'statusCode', a.status_code,
                                                       'latencyMs', a.latency_ms, 'error', a.error) order by a.id)
                     from webhook_attempts a where a.delivery_id = d.id), '[]'::json) as "attemptList"
    from webhook_deliveries d join events e on e.id = d.event_id
    where true ${f.endpointId !== undefined ? sql`and d.endpoint_id = ${f.endpointId}` : sql``} ${f.failed ? sql`and d.status = 'failed'` : sql``}
    order by d.id desc limit ${f.limit}`;
}

/**
 * Send again, from the start, every event since `since` that the endpoint subscribes to and the
 * relay already passed: delivered and dead-lettered ones become pending again. Returns how many.
 */
export async function replayEvents(sql: Sql, endpointId: number, since: Date): Promise<{ endpointId: number; replayed: number }> {
  const ep = await getEndpoint(sql, endpointId);
  const patterns = typePatterns(ep.events);
  const rows = await sql`
    insert into webhook_deliveries (endpoint_id, event_id, aggregate_type, aggregate_id, sequence)
    select w.id, e.id, e.aggregate_type, e.aggregate_id, e.sequence from events e join webhook_endpoints w on w.id = ${endpointId}
    where e.occurred_at >= ${since.toISOString()}::timestamptz and e.feed_position <= w.cursor
      ${patterns.length > 0 ? sql`and e.type like any(${sql.array(patterns)}::text[])` : sql``}
    order by e.feed_position
    on conflict (endpoint_id, event_id) do update set status = 'pending', attempts = 0, next_attempt_at = now(), first_attempt_at = null,
      lease_until = null, delivered_at = null, last_status_code = null, last_error = null
    returning id`;
  return { endpointId, replayed: rows.length };
}

// ---------------------------------------------------------------- the relay and the worker's steps

/**
 * Fan the feed out to one enabled endpoint: a pending delivery per event it subscribes to after its
 * cursor, in feed order, and the cursor moved past them, in one statement. The endpoint row is
 * locked (SKIP LOCKED), so two relays never fan out the same stretch twice. Returns how many
 * events the cursor moved over.
 */
export async function fanOut(sql: Sql, endpointId: number, max = 1000): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    with ep as (select id, cursor, event_types from webhook_endpoints where id = ${endpointId} and status = 'enabled' for update skip locked),
    ev as (select e.id, e.type, e.aggregate_type, e.aggregate_id, e.sequence, e.feed_position from events e, ep
           where e.feed_position > ep.cursor order by e.feed_position limit ${max}),
    ins as (
      insert into webhook_deliveries (endpoint_id, event_id, aggregate_type, aggregate_id, sequence)
      select ep.id, ev.id, ev.aggregate_type, ev.aggregate_id, ev.sequence from ev, ep
      where cardinality(ep.event_types) = 0 or ev.type like any(array(select replace(p, '*', '%') from unnest(ep.event_types) p))
      order by ev.feed_position
      on conflict (endpoint_id, event_id) do nothing returning 1),
    moved as (update webhook_endpoints w set cursor = (select max(feed_position) from ev) from ep where w.id = ep.id and exists (select 1 from ev))
    select (select count(*)::int from ev) as n, (select count(*) from ins) as inserted`;
  return row?.n ?? 0;
}

export async function enabledEndpointIds(sql: Sql): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`select id from webhook_endpoints where status = 'enabled' order by id`;
  return rows.map((r) => r.id);
}

/**
 * The head of a delivery's stream: no delivery of the same endpoint and record with a lower
 * sequence is still pending (delivered and dead-lettered ones no longer hold the stream back).
 * A scalar subquery on the pending index, so it holds for every drain and process at once.
 */
const IS_STREAM_HEAD = (sql: Sql) => sql`
  d.sequence = (select min(p.sequence) from webhook_deliveries p where p.endpoint_id = d.endpoint_id
                and p.aggregate_type = d.aggregate_type and p.aggregate_id = d.aggregate_id and p.status = 'pending')`;

/** Claimable now: pending, due, and not leased by a drain that is sending it. */
const IS_CLAIMABLE = (sql: Sql) => sql`
  d.status = 'pending' and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until < now())`;

/**
 * Refresh the planner's statistics of the deliveries. After a burst fans out thousands of rows into a
 * table that autovacuum has not analyzed yet (it looks at most once a minute, later when busy), the
 * planner still takes it for empty and answers the claim's stream-head subquery from the wrong index:
 * 3 s a claim with 27,000 pending, against milliseconds once analyzed. ANALYZE takes no lock that
 * writers wait on; by a role that does not own the table it is skipped with a warning.
 */
export async function analyzeDeliveries(sql: Sql): Promise<void> {
  await sql`analyze webhook_deliveries`;
}

/** Enabled endpoints with a delivery a drain could claim now: the relay nudges a drain for each. */
export async function dueEndpoints(sql: Sql): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    select w.id from webhook_endpoints w
    where w.status = 'enabled'
      and exists (select 1 from webhook_deliveries d where d.endpoint_id = w.id and ${IS_CLAIMABLE(sql)} and ${IS_STREAM_HEAD(sql)})
    order by w.id`;
  return rows.map((r) => r.id);
}

/**
 * A delivery claimed for one attempt: where to send it, with which secret, and the body as
 * Postgres wrote it (the event as JSON text, never parsed and re-serialized in Node).
 */
export interface ClaimedDelivery {
  id: number;
  endpointId: number;
  url: string;
  secret: string;
  /** This attempt's number, 1 for the first. */
  attempts: number;
  /** The event id: the `webhook-id` header, the same on every retry. */
  eventId: string;
  eventType: string;
  /** `{ id, type, timestamp, aggregate, data, change }`: what the pull feed serves, without its cursor. */
  body: string;
}

/**
 * Claim up to `max` due deliveries of one endpoint, in one statement, each the head of its
 * (endpoint, record) stream and not leased by another drain, oldest first; lease them for `leaseMs`
 * and count the attempt. Rows another drain is claiming this instant are skipped, not waited for.
 * A drain that dies mid-send leaves its lease to expire; the relay then hands the deliveries out
 * again, so at least once and in order per record hold across drains and processes.
 */
export async function claimDeliveries(sql: Sql, endpointId: number, max: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  return sql<ClaimedDelivery[]>`
    with c as (
      select d.id from webhook_deliveries d
      where d.endpoint_id = ${endpointId} and ${IS_CLAIMABLE(sql)} and ${IS_STREAM_HEAD(sql)}
      order by d.id limit ${max}
      for update skip locked)
    update webhook_deliveries d set lease_until = now() + ${leaseMs} * interval '1 millisecond', attempts = d.attempts + 1,
      first_attempt_at = coalesce(d.first_attempt_at, now())
    from c, webhook_endpoints w, events e
    where d.id = c.id and w.id = d.endpoint_id and w.status = 'enabled' and e.id = d.event_id
    returning d.id, w.id as "endpointId", w.url, w.secret, d.attempts, e.id as "eventId", e.type as "eventType", ${EVENT_BODY(sql)} as body`;
}

/** One attempt's result. */
export interface AttemptResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  outcome: 'delivered' | 'retry' | 'failed';
  /** For `retry`: when to try again. */
  retryInMs?: number;
}

export interface FinishOptions {
  /** A delivery still failing this long after its first attempt is dead-lettered. */
  retryForMs: number;
  /** An endpoint failing this long is disabled. */
  disableAfterMs: number;
}

/** What one drain's batch came to, as recorded. */
export interface FinishedBatch {
  delivered: number;
  /** Pending again, to be retried after their back-off. */
  retrying: number;
  /** Dead-lettered now. */
  failed: number;
  /** Ids of the dead-lettered ones, for the log. */
  failedIds: number[];
  /** The endpoint was disabled by this batch (failing for `disableAfterMs`). */
  endpointDisabled: boolean;
}

/**
 * Record a drain's batch of one endpoint in one transaction: each attempt, each delivery delivered,
 * retried later or dead-lettered; the deliveries claimed but never tried (a shutdown, a lease too
 * short to send them in) released untouched; and the endpoint's failing streak cleared by a success
 * in the batch, or started, or long enough to disable the endpoint.
 */
export async function finishDeliveries(
  sql: Sql,
  endpointId: number,
  tried: readonly { id: number; result: AttemptResult }[],
  untried: readonly number[],
  o: FinishOptions,
): Promise<FinishedBatch> {
  return sql.begin(async (tx) => {
    const statuses = tried.length > 0 ? await recordAttempts(tx, tried, o) : [];
    if (untried.length > 0) await releaseDeliveries(tx, untried);
    let endpointDisabled = false;
    // a success anywhere in the batch means the endpoint answers: its failing streak ends
    if (tried.some((t) => t.result.outcome === 'delivered')) {
      await tx`update webhook_endpoints set failing_since = null where id = ${endpointId} and failing_since is not null`;
    } else if (tried.length > 0) {
      endpointDisabled = await extendFailingStreak(tx, endpointId, o.disableAfterMs);
    }
    const failedIds = statuses.filter((s) => s.status === 'failed').map((s) => s.id);
    return {
      delivered: statuses.filter((s) => s.status === 'delivered').length,
      retrying: statuses.filter((s) => s.status === 'pending').length,
      failed: failedIds.length,
      failedIds,
      endpointDisabled,
    };
  }) as Promise<FinishedBatch>;
}

/** Insert the batch's attempts and move each delivery on, as one statement over a JSON document. */
async function recordAttempts(tx: Tx, tried: readonly { id: number; result: AttemptResult }[], o: FinishOptions) {
  const doc = JSON.stringify(
    tried.map(({ id, result: r }) => ({
      id,
      code: r.statusCode,
      error: r.error,
      outcome: r.outcome,
      retry_ms: Math.round(r.retryInMs ?? 0),
      latency_ms: Math.round(r.latencyMs),
    })),
  );
  return tx<{ id: number; status: 'pending' | 'delivered' | 'failed' }[]>`
    with r as (select * from json_to_recordset(${doc}::json)
               as r(id bigint, code int, error text, outcome text, retry_ms int, latency_ms int)),
    a as (insert into webhook_attempts (delivery_id, status_code, latency_ms, error) select id, code, latency_ms, error from r)
    update webhook_deliveries d set lease_until = null, last_status_code = r.code, last_error = r.error, last_attempt_at = now(),
      status = (case when r.outcome = 'delivered' then 'delivered'
                     when r.outcome = 'failed' or d.first_attempt_at <= now() - ${o.retryForMs} * interval '1 millisecond' then 'failed'
                     else 'pending' end)::webhook_delivery_status,
      delivered_at = case when r.outcome = 'delivered' then now() end,
      next_attempt_at = now() + r.retry_ms * interval '1 millisecond'
    from r where d.id = r.id
    returning d.id, d.status`;
}

/** Give back claimed deliveries that were never sent: the claim's attempt is not counted. */
async function releaseDeliveries(tx: Tx, ids: readonly number[]): Promise<void> {
  await tx`
    update webhook_deliveries set lease_until = null, attempts = attempts - 1,
      first_attempt_at = case when attempts = 1 then null else first_attempt_at end
    where id = any(${tx.array(ids as number[])}::bigint[]) and status = 'pending' and lease_until is not null`;
}

/** A batch without a success: start the endpoint's failing streak, or disable it once the streak is long enough. */
async function extendFailingStreak(tx: Tx, endpointId: number, disableAfterMs: number): Promise<boolean> {
  const [w] = await tx<{ disabledNow: boolean }[]>`
    update webhook_endpoints w set failing_since = coalesce(w.failing_since, now()),
      status = case when w.failing_since <= now() - ${disableAfterMs} * interval '1 millisecond' then 'disabled' else w.status end,
      disabled_at = case when w.status = 'enabled' and w.failing_since <= now() - ${disableAfterMs} * interval '1 millisecond'
                         then now() else w.disabled_at end,
      disabled_reason = case when w.status = 'enabled' and w.failing_since <= now() - ${disableAfterMs} * interval '1 millisecond'
                             then 'failing since ' || to_char(w.failing_since at time zone 'UTC', ${ISO}) else w.disabled_reason end
    from webhook_endpoints old where w.id = ${endpointId} and old.id = w.id
    returning (old.status = 'enabled' and w.status = 'disabled') as "disabledNow"`;
  return w?.disabledNow ?? false;
}
