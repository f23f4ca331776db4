import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
import { NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import { apiErrorHandler } from './api-scope.js';

export interface WebhookRoutesOptions {
  sql: Sql;
  /** The bearer token every `/api` request must carry. */
  apiToken: string;
  log: Logger;
}

const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } as const;
const LIMIT = { type: 'integer', minimum: 1, maximum: 500, default: 50 } as const;
const ERROR = { type: 'object', properties: { error: { type: 'string' } } } as const;
const ONE = { 200: { type: 'object', additionalProperties: true }, 401: ERROR, 404: ERROR } as const;
const LIST = { 200: { type: 'array', items: { type: 'object', additionalProperties: true } }, 401: ERROR } as const;
const EVENTS = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 100 }, maxItems: 50 } as const;

type IdParams = { Params: { id: number } };

/**
 * `/api/webhooks` (subscriptions, their deliveries, replay) and `/api/events` (the pull feed).
 * Bearer auth as the rest of `/api`; bad input is a 400 naming the field.
 */
export async function webhookRoutes(app: FastifyInstance, opts: WebhookRoutesOptions): Promise<void> {
  const { sql, apiToken, log } = opts;

  app.setErrorHandler(
    apiErrorHandler(log, (err) => (err instanceof EndpointInputError || err instanceof RangeError ? { status: 400, body: { error: err.message } } : undefined)),
  );

  app.get<{ Querystring: { limit: number } }>(
    '/webhooks',
    { schema: { summary: 'List webhook endpoints (never their secrets)', querystring: { type: 'object', additionalProperties: false, properties: { limit: LIMIT } }, response: LIST } },
    async (req) => listEndpoints(sql, req.query),
  );
  app.post<{ Body: { url: string; events?: string[]; description?: string } }>(
    '/webhooks',
    {
      schema: {
        summary: 'Subscribe a URL to events; the answer carries its signing secret (shown once)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          properties: { url: { type: 'string', minLength: 1, maxLength: 2000 }, events: EVENTS, description: { type: 'string', maxLength: 500 } },
        },
        response: { 201: { type: 'object', additionalProperties: true }, 400: ERROR, 401: ERROR },
      },
    },
    async (req, reply) => reply.code(201).send(await addEndpoint(sql, req.body)),
  );
  app.get<IdParams>('/webhooks/:id', { schema: { summary: 'A webhook endpoint', params: ID_PARAMS, response: ONE } }, async (req) => getEndpoint(sql, req.params.id));
  app.post<IdParams>('/webhooks/:id/disable', { schema: { summary: 'Stop sending to an endpoint', params: ID_PARAMS, response: ONE } }, async (req) =>
    setEndpointEnabled(sql, req.params.id, false),
  );
  app.post<IdParams>('/webhooks/:id/enable', { schema: { summary: 'Resume sending to an endpoint', params: ID_PARAMS, response: ONE } }, async (req) =>
    setEndpointEnabled(sql, req.params.id, true),
  );
  app.post<IdParams>('/webhooks/:id/rotate-secret', { schema: { summary: 'A new signing secret (shown once)', params: ID_PARAMS, response: ONE } }, async (req) =>
    rotateSecret(sql, req.params.id),
  );
  app.delete<IdParams>('/webhooks/:id', { schema: { summary: 'Remove an endpoint and its deliveries', params: ID_PARAMS, response: ONE } }, async (req) =>
    removeEndpoint(sql, req.params.id),
  );
  app.post<IdParams & { Body: { since: string } }>(
    '/webhooks/:id/replay',
    {
      schema: {
        summary: 'Send again every subscribed event since a time',
        params: ID_PARAMS,
        body: { type: 'object', additionalProperties: false, required: ['since'], properties: { since: { type: 'string', format: 'date-time' } } },
        response: { ...ONE, 400: ERROR },
      },
    },
    async (req) => replayEvents(sql, req.params.id, new Date(req.body.since)),
  );
  app.get<{ Querystring: { endpointId?: number; failed?: boolean; limit: number } }>(
    '/webhooks/deliveries',
    {
      schema: {
        summary: "Deliveries, newest first, with each attempt's status and latency",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { endpointId: { type: 'integer', minimum: 1 }, failed: { type: 'boolean' }, limit: LIMIT },
        },
        response: LIST,
      },
    },
    async (req) => listDeliveries(sql, req.query),
  );
  app.get<{ Querystring: { after?: string; types?: string; limit: number } }>(
    '/events',
    {
      schema: {
        summary: 'The event feed in commit order: pass `next` back as `after` to read on',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: { type: 'string', pattern: '^[0-9]{1,15}$' }, types: { type: 'string', maxLength: 1000 }, limit: { ...LIMIT, default: 100 } },
        },
        response: { 200: { type: 'object', additionalProperties: true }, 400: ERROR, 401: ERROR },
      },
    },
    async (req) => readFeed(sql, { after: req.query.after, types: req.query.types?.split(','), limit: req.query.limit }),
  );
}
