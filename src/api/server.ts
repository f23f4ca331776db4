import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queue } from 'bullmq';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import { mapFbWebhook } from '../connectors/facebook.connector.js';
import type { Sql } from '../db/client.js';
import type { DatabaseHealth } from '../db/embedded.js';
import type { Logger } from '../logger.js';
import { ingestPosts } from '../workers/ingest.js';
import type { CaptureJobData, PollJobData } from '../workers/queues.js';
import { consoleRoutes } from '../console/console.routes.js';
import { apiErrorHandler, bearerAuth, strictInput } from './api-scope.js';
import { crmRoutes } from './crm.routes.js';
import { feedbackRoutes } from './feedback.routes.js';
import { metrics } from '../metrics.js';
import { createMetricsRenderer, METRICS_CONTENT_TYPE } from './metrics.js';
import { rulesRoutes } from './rules.routes.js';
import { openApiOptions } from './openapi.js';
import { ErrorBody, FacebookWebhookResult, Health, NotReady, Ready } from './schemas.js';
import { webhookRoutes } from './webhooks.routes.js';

/** Source id the inbox records for posts that came by Facebook webhook. */
export const FACEBOOK_WEBHOOK_SOURCE = 'facebook-webhook';

export interface ApiServerDeps {
  sql: Sql;
  postsQueue: Queue<CaptureJobData>;
  /** For the console's "Retry now" on a source. */
  pollQueue?: Queue<PollJobData>;
  config: Config;
  log: Logger;
  /** The bearer token of `/api`; see {@link resolveApiToken}. */
  apiToken: string;
  /** The database server's health (embedded and supervised, or not), reported by `/readyz`. */
  databaseHealth?: () => DatabaseHealth;
}

/** CAPTURE_API_TOKEN, or a random token for this run, logged once so that an operator can use it. */
export function resolveApiToken(config: Config, log: Logger): string {
  const set = config.secrets?.apiToken;
  if (set) return set;
  const token = randomBytes(24).toString('base64url');
  log.warn(`CAPTURE_API_TOKEN is not set; this run's API token is ${token}`);
  return token;
}

/** Equal strings, in time that does not depend on where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether `header` is `sha256=<hex HMAC-SHA256 of the raw body keyed with the app secret>`. */
export function validWebhookSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
  return sameSecret(header.toLowerCase(), expected);
}

/**
 * The HTTP app of the api role: the CRM resources under `/api` (bearer auth), `/healthz`, `/readyz`,
 * `/metrics`, `/openapi.json` and the Facebook Page webhook. Request logging is off: the
 * verification GET carries the verify token in its query string.
 */
export function buildApiServer(deps: ApiServerDeps): FastifyInstance {
  const { sql, postsQueue, config, log } = deps;
  // Meta batches up to 1000 changes in one POST.
  // Unknown fields are refused (400 naming them), not silently dropped as Fastify's default Ajv does.
  const app = Fastify({ logger: false, bodyLimit: 5 * 1024 * 1024, ajv: { customOptions: { removeAdditional: false } } });
  // Before every route: it collects them, schemas and all, for /openapi.json.
  app.register(swagger, openApiOptions());

  // Outside /api (webhook, metrics): a 4xx keeps its message, anything else is logged with its stack.
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    log.error({ err, route: req.routeOptions.url, method: req.method }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  // Everything under /api: one scope with the bearer auth, the strict input checks and the error policy.
  app.register(
    async (api) => {
      api.addHook('onRequest', bearerAuth(deps.apiToken));
      api.addHook('preValidation', strictInput);
      api.setErrorHandler(apiErrorHandler(log));
      api.register(crmRoutes, { sql, config, log, postsQueue });
      api.register(feedbackRoutes, { sql, log });
      api.register(webhookRoutes, { sql, log });
      api.register(rulesRoutes, { sql, config, log });
    },
    { prefix: '/api' },
  );
  app.register(consoleRoutes, { sql, config, apiToken: deps.apiToken, log: log.child({ component: 'console' }), pollQueue: deps.pollQueue });

  app.register(async (scope) => {
    scope.get('/openapi.json', { schema: { summary: 'This document' } }, async () => app.swagger());
    const renderMetrics = createMetricsRenderer({ sql, postsQueue, config });
    scope.get('/metrics', { schema: { summary: 'Prometheus metrics' } }, async (_req, reply) => reply.type(METRICS_CONTENT_TYPE).send(await renderMetrics()));
  });
  // Route patterns, not URLs, as labels: ids in paths would make a series per record.
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.apiRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.apiDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.get('/healthz', { schema: { summary: 'The process answers', response: { 200: Health } } }, async () => ({ status: 'ok' as const }));

    // Says which database server this is and, when embedded, whether it is being restarted or is down
    // for good (the process then exits non-zero for its supervisor).
    scope.get(
      '/readyz',
      { schema: { summary: 'The database and the queue answer; which database server, and its state', response: { 200: Ready, 503: NotReady } } },
      async (_req, reply) => {
        const database = deps.databaseHealth?.() ?? { mode: 'external', state: 'up', restarts: 0 };
        if (database.state !== 'up') {
          const error = database.state === 'restarting' ? 'the embedded PostgreSQL died and is being restarted' : 'the embedded PostgreSQL is down; exiting';
          return reply.code(503).send({ status: 'not ready' as const, database, error });
        }
        try {
          await sql`select 1`;
          await postsQueue.count();
          return { status: 'ready' as const, database };
        } catch (err) {
          return reply.code(503).send({ status: 'not ready' as const, database, error: (err as Error).message });
        }
      },
    );

    // https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
    scope.get(
      '/webhooks/facebook',
      {
        schema: {
          summary: 'Facebook webhook verification: answers hub.challenge when hub.verify_token is right',
          // Described, not restricted: Meta may add parameters.
          querystring: Type.Object({
            'hub.mode': Type.Optional(Type.String()),
            'hub.verify_token': Type.Optional(Type.String()),
            'hub.challenge': Type.Optional(Type.String()),
          }),
          response: { 200: { description: 'hub.challenge', content: { 'text/plain': { schema: Type.String() } } }, 403: ErrorBody },
        },
      },
      async (req, reply) => {
        const q = req.query;
        const token = config.secrets?.facebookVerifyToken;
        if (q['hub.mode'] === 'subscribe' && token && typeof q['hub.verify_token'] === 'string' && sameSecret(q['hub.verify_token'], token)) {
          return reply.type('text/plain').send(q['hub.challenge'] ?? '');
        }
        log.warn({ mode: q['hub.mode'] }, 'facebook webhook verification refused');
        return reply.code(403).send({ error: 'verification refused' });
      },
    );
  });

  app.register(async (scope) => {
    // The signature covers the bytes as sent: keep them raw, parse only after the check.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    // https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications
    const signed = scope.withTypeProvider<TypeBoxTypeProvider>();
    signed.post(
      '/webhooks/facebook',
      {
        schema: {
          summary: 'Facebook Page webhook: changes signed with X-Hub-Signature-256, stored and queued for capture',
          response: { 200: FacebookWebhookResult, 400: ErrorBody, 401: ErrorBody },
        },
      },
      async (req, reply) => {
        const secret = config.secrets?.facebookAppSecret;
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const header = req.headers['x-hub-signature-256'];
        if (!secret || !validWebhookSignature(raw, typeof header === 'string' ? header : undefined, secret)) {
          metrics.webhookRequests.inc({ platform: 'facebook', result: 'refused' });
          log.warn({ signed: typeof header === 'string', secretSet: Boolean(secret) }, 'facebook webhook refused: bad or missing signature');
          return reply.code(401).send({ error: secret ? 'invalid signature' : 'FACEBOOK_APP_SECRET is not set: webhooks cannot be verified' });
        }
        let payload: unknown;
        try {
          payload = JSON.parse(raw.toString('utf8'));
        } catch {
          metrics.webhookRequests.inc({ platform: 'facebook', result: 'bad' });
          return reply.code(400).send({ error: 'body is not JSON' });
        }
        const { posts, rejected, ignored } = mapFbWebhook(payload);
        for (const r of rejected) log.warn({ id: r.id, reason: r.reason }, 'facebook webhook item skipped: malformed');
        // Meta delivers more than once and out of order: the inbox's unique key makes that harmless.
        const stored = await ingestPosts(sql, postsQueue, FACEBOOK_WEBHOOK_SOURCE, posts, null, config.capture.attempts);
        metrics.webhookRequests.inc({ platform: 'facebook', result: 'stored' });
        if (stored.inserted.length > 0) log.info({ received: posts.length, new: stored.inserted.length, ignored }, 'facebook webhook stored');
        return { received: posts.length, new: stored.inserted.length, ignored, rejected: rejected.length };
      },
    );
  });

  return app;
}
