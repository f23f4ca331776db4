import { randomBytes } from 'node:crypto';
import { NotFoundError } from '../errors.js';
import type { Sql } from './client.js';
import { EVENT_MESSAGE, typePatterns, type EventMessage } from './outbox.repo.js';

/**
 * Webhook endpoints (a subscriber's URL, event types and own secret) and the deliveries owed to
 * them. Postgres holds every delivery; a queue job only tells a worker which one to try.
 */

const ISO = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';

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
    ? await sql`update webhook_endpoints set status = 'enabled', disabled_reason = null, disabled_at = null, failing_since = null, updated_at = now() where id = ${id} returning id`
    : await sql`update webhook_endpoints set status = 'disabled', disabled_reason = ${reason}, disabled_at = now(), updated_at = now() where id = ${id} returning id`;
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

/** A delivery a worker may try now: pending, due, not leased, and first in its (endpoint, record) stream. */
export interface DueDelivery {
  id: number;
  attempts: number;
}

/** The first pending delivery of each (endpoint, record) stream, where it is due and not being sent. */
export async function dueDeliveries(sql: Sql, max = 1000): Promise<DueDelivery[]> {
  return sql<DueDelivery[]>`
    select h.id, h.attempts from (
      select distinct on (d.endpoint_id, d.aggregate_type, d.aggregate_id) d.id, d.attempts, d.next_attempt_at, d.lease_until
      from webhook_deliveries d join webhook_endpoints w on w.id = d.endpoint_id and w.status = 'enabled'
      where d.status = 'pending'
      order by d.endpoint_id, d.aggregate_type, d.aggregate_id, d.sequence) h
    where h.next_attempt_at <= now() and (h.lease_until is null or h.lease_until < now())
    limit ${max}`;
}

/** A claimed delivery: what to send, where, signed with which secret. */
export interface ClaimedDelivery {
  id: number;
  endpointId: number;
  url: string;
  secret: string;
  attempts: number;
  event: EventMessage;
}

/**
 * Claim a delivery for one attempt: only if it is pending, due, not leased by another worker, its
 * endpoint enabled, and no earlier event of its record is still pending for that endpoint (order
 * per record). The lease outlives the request timeout; a worker that dies mid-send leaves it to
 * expire and the relay hands the delivery out again. Null: nothing to do for this job.
 */
export async function claimDelivery(sql: Sql, id: number, leaseMs: number): Promise<ClaimedDelivery | null> {
  const [row] = await sql<(Omit<ClaimedDelivery, 'event'> & EventMessage)[]>`
    update webhook_deliveries d set lease_until = now() + ${leaseMs} * interval '1 millisecond', attempts = d.attempts + 1,
      first_attempt_at = coalesce(d.first_attempt_at, now()), last_attempt_at = now()
    from webhook_endpoints w, events e
    where d.id = ${id} and d.status = 'pending' and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until < now())
      and w.id = d.endpoint_id and w.status = 'enabled' and e.id = d.event_id
      and not exists (select 1 from webhook_deliveries p where p.endpoint_id = d.endpoint_id and p.aggregate_type = d.aggregate_type
                      and p.aggregate_id = d.aggregate_id and p.status = 'pending' and p.sequence < d.sequence)
    returning d.id as "deliveryId", w.id as "endpointId", w.url, w.secret, d.attempts, ${EVENT_MESSAGE(sql)}`;
  if (!row) return null;
  const r = row as unknown as Record<string, unknown>;
  const { deliveryId, endpointId, url, secret, attempts, ...event } = r;
  return {
    id: deliveryId as number,
    endpointId: endpointId as number,
    url: url as string,
    secret: secret as string,
    attempts: attempts as number,
    event: event as unknown as EventMessage,
  };
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

/**
 * Record an attempt and its consequence in one transaction: delivered, retried later or
 * dead-lettered; the endpoint's failing streak started, cleared, or long enough to disable it.
 * Returns the next delivery of the same stream to nudge (when this one left the way) and whether
 * the endpoint was disabled now.
 */
export async function finishAttempt(sql: Sql, d: ClaimedDelivery, r: AttemptResult, o: FinishOptions) {
  return sql.begin(async (tx) => {
    await tx`insert into webhook_attempts (delivery_id, status_code, latency_ms, error) values (${d.id}, ${r.statusCode}, ${Math.round(r.latencyMs)}, ${r.error})`;
    const [u] = await tx<{ status: string }[]>`
      update webhook_deliveries set lease_until = null, last_status_code = ${r.statusCode}, last_error = ${r.error},
        status = (case when ${r.outcome} = 'delivered' then 'delivered'
                       when ${r.outcome} = 'failed' or first_attempt_at <= now() - ${o.retryForMs} * interval '1 millisecond' then 'failed'
                       else 'pending' end)::webhook_delivery_status,
        delivered_at = case when ${r.outcome} = 'delivered' then now() end,
        next_attempt_at = now() + ${r.retryInMs ?? 0} * interval '1 millisecond'
      where id = ${d.id} returning status`;
    const [w] =
      r.outcome === 'delivered'
        ? await tx<{ status: string; disabledNow: boolean }[]>`
            update webhook_endpoints set failing_since = null where id = ${d.endpointId} and failing_since is not null
            returning status, false as "disabledNow"`
        : await tx<{ status: string; disabledNow: boolean }[]>`
            update webhook_endpoints w set failing_since = coalesce(w.failing_since, now()),
              status = case when w.failing_since <= now() - ${o.disableAfterMs} * interval '1 millisecond' then 'disabled' else w.status end,
              disabled_at = case when w.status = 'enabled' and w.failing_since <= now() - ${o.disableAfterMs} * interval '1 millisecond' then now() else w.disabled_at end,
              disabled_reason = case when w.status = 'enabled' and w.failing_since <= now() - ${o.disableAfterMs} * interval '1 millisecond'
                                     then 'failing since ' || to_char(w.failing_since at time zone 'UTC', ${ISO}) else w.disabled_reason end
            from webhook_endpoints old where w.id = ${d.endpointId} and old.id = w.id
            returning w.status, (old.status = 'enabled' and w.status = 'disabled') as "disabledNow"`;
    const status = u?.status ?? 'pending';
    const [next] =
      status === 'pending'
        ? []
        : await tx<DueDelivery[]>`
            select n.id, n.attempts from webhook_deliveries n join webhook_deliveries d on d.id = ${d.id}
            where n.endpoint_id = d.endpoint_id and n.aggregate_type = d.aggregate_type and n.aggregate_id = d.aggregate_id and n.status = 'pending'
            order by n.sequence limit 1`;
    return { status, next: next ?? null, endpointDisabled: w?.disabledNow ?? false };
  }) as Promise<{ status: string; next: DueDelivery | null; endpointDisabled: boolean }>;
}
