import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import { bodyProblem, stringPartProblem } from './strict-input.js';

/**
 * What every route under `/api` shares, stated once: bearer auth, the strict input checks, and the error
 * policy (a 4xx naming the field, 404, 409; anything else a 500 logged with its stack). server.ts installs the
 * hooks on the `/api` scope, so a route module cannot forget them.
 */

/** Same token, in time that does not depend on where they differ (hashes first: equal lengths always). */
export function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** onRequest hook: 401 unless `Authorization: Bearer <token>` carries the API token. */
export function bearerAuth(apiToken: string) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m || !sameToken(m[1]!, apiToken)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: m ? 'invalid bearer token' : 'missing bearer token (Authorization: Bearer <CAPTURE_API_TOKEN>)' });
    }
  };
}

/** preValidation hook: the checks Ajv's coercion lets through (ids as decimal within 2^53, JSON numbers, no NUL). */
export async function strictInput(req: FastifyRequest, reply: FastifyReply) {
  const schema = req.routeOptions.schema as Record<string, Parameters<typeof bodyProblem>[0]> | undefined;
  const problem =
    stringPartProblem('params', schema?.params, req.params) ??
    stringPartProblem('querystring', schema?.querystring, req.query) ??
    bodyProblem(schema?.body, req.body);
  if (problem) return reply.code(400).send({ error: problem });
}

type ApiError = Error & { validation?: unknown; validationContext?: string; statusCode?: number };

/** Ajv's message, or for an unknown field one that names it (`body: unknown field "x"`). */
function validationMessage(err: ApiError): string {
  const first = (err.validation as { keyword?: string; params?: { additionalProperty?: string } }[])[0];
  const extra = first?.keyword === 'additionalProperties' ? first.params?.additionalProperty : undefined;
  return extra === undefined ? err.message : `${err.validationContext ?? 'body'}: unknown field "${extra}"`;
}

/** A route module's own errors mapped to a status and body, before the shared policy applies. */
export type OwnErrors = (err: Error) => { status: number; body: Record<string, unknown> } | undefined;

/** The error handler of `/api` (and of a route module that maps errors of its own through `own`). */
export function apiErrorHandler(log: Logger, own?: OwnErrors) {
  return (err: ApiError, req: FastifyRequest, reply: FastifyReply) => {
    const mine = own?.(err);
    if (mine) return reply.code(mine.status).send(mine.body);
    if (err.validation) return reply.code(400).send({ error: validationMessage(err) });
    if (err instanceof NotFoundError) return reply.code(404).send({ error: err.message });
    if (err instanceof ConflictError) return reply.code(409).send({ error: err.message });
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    log.error({ err, route: req.routeOptions.url, method: req.method }, 'api request failed');
    return reply.code(500).send({ error: 'internal error' });
  };
}
