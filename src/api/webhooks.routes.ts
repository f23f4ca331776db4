import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type TSchema, Type } from 'typebox';
import type { Sql } from '../db/client.js';
import { readFeed } from '../db/outbox.repo.js';
import {
  addEndpoint,
  EndpointInputError,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  removeEndpoint,
  replayEvents,
  rotateSecret,
  setEndpointEnabled,
} from '../db/webhooks.repo.js';
import type { Logger } from '../logger.js';
import { apiErrorHandler } from './api-scope.js';
import {
  Delivery,
  ErrorBody,
  Feed,
  Id,
  IdParams,
  Limit,
  NewWebhookEndpoint,
  paged,
  records,
  RemovedEndpoint,
  Replayed,
  RotatedSecret,
  WebhookEndpoint,
} from './schemas.js';

export interface WebhookRoutesOptions {
  sql: Sql;
  log: Logger;
}

const one = <T extends TSchema>(t: T) => ({ 200: t, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody });
const Events = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 });

/**
 * `/api/webhooks` (subscriptions, their deliveries, replay) and `/api/events` (the pull feed).
 * Bearer auth as the rest of `/api`; bad input is a 400 naming the field.
 */
export async function webhookRoutes(app: FastifyInstance, opts: WebhookRoutesOptions): Promise<void> {
  const { sql, log } = opts;

  app.setErrorHandler(
    apiErrorHandler(log, (err) => (err instanceof EndpointInputError || err instanceof RangeError ? { status: 400, body: { error: err.message } } : undefined)),
  );

  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/webhooks',
    {
      schema: {
        summary: 'List webhook endpoints (never their secrets)',
        querystring: Type.Object({ limit: Type.Optional(Limit) }, { additionalProperties: false }),
        response: { 200: Type.Array(WebhookEndpoint), 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => listEndpoints(sql, paged(req.query)),
  );
  r.post(
    '/webhooks',
    {
      schema: {
        summary: 'Subscribe a URL to events; the answer carries its signing secret (shown once)',
        body: Type.Object(
          { url: Type.String({ minLength: 1, maxLength: 2000 }), events: Type.Optional(Events), description: Type.Optional(Type.String({ maxLength: 500 })) },
          { additionalProperties: false },
        ),
        response: { 201: NewWebhookEndpoint, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req, reply) => reply.code(201).send(await addEndpoint(sql, req.body)),
  );
  r.get('/webhooks/:id', { schema: { summary: 'A webhook endpoint', params: IdParams, response: one(WebhookEndpoint) } }, async (req) =>
    getEndpoint(sql, req.params.id),
  );
  r.post('/webhooks/:id/disable', { schema: { summary: 'Stop sending to an endpoint', params: IdParams, response: one(WebhookEndpoint) } }, async (req) =>
    setEndpointEnabled(sql, req.params.id, false),
  );
  r.post('/webhooks/:id/enable', { schema: { summary: 'Resume sending to an endpoint', params: IdParams, response: one(WebhookEndpoint) } }, async (req) =>
    setEndpointEnabled(sql, req.params.id, true),
  );
  r.post(
    '/webhooks/:id/rotate-secret',
    { schema: { summary: 'A new signing secret (shown once)', params: IdParams, response: one(RotatedSecret) } },
    async (req) => rotateSecret(sql, req.params.id),
  );
  r.delete('/webhooks/:id', { schema: { summary: 'Remove an endpoint and its deliveries', params: IdParams, response: one(RemovedEndpoint) } }, async (req) =>
    removeEndpoint(sql, req.params.id),
  );
  r.post(
    '/webhooks/:id/replay',
    {
      schema: {
        summary: 'Send again every subscribed event since a time',
        params: IdParams,
        body: Type.Object({ since: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
        response: { ...one(Replayed), 400: ErrorBody },
      },
    },
    async (req) => replayEvents(sql, req.params.id, new Date(req.body.since)),
  );
  r.get(
    '/webhooks/deliveries',
    {
      schema: {
        summary: "Deliveries, newest first, with each attempt's status and latency",
        querystring: Type.Object(
          { endpointId: Type.Optional(Id), failed: Type.Optional(Type.Boolean()), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(Delivery), 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => records(Delivery, listDeliveries(sql, paged(req.query))),
  );
  r.get(
    '/events',
    {
      schema: {
        summary: 'The event feed in commit order: pass `next` back as `after` to read on',
        querystring: Type.Object(
          {
            after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
            types: Type.Optional(Type.String({ maxLength: 1000 })),
            limit: Type.Optional(Type.Integer({ ...Limit, default: 100 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Feed, 400: ErrorBody, 401: ErrorBody, 410: ErrorBody },
      },
    },
    async (req) => readFeed(sql, { after: req.query.after, types: req.query.types?.split(','), limit: req.query.limit ?? 100 }),
  );
}
