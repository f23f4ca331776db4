import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Sql } from '../db/client.js';
import { addPostFeedback, addRecordFeedback, rulesReport, type FeedbackInput } from '../db/feedback.repo.js';
import { NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface FeedbackRoutesOptions {
  sql: Sql;
  /** The bearer token every `/api` request must carry. */
  apiToken: string;
  log: Logger;
}

const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } as const;
const ERROR = { type: 'object', properties: { error: { type: 'string' } } } as const;
const FEEDBACK_BODY = {
  type: 'object',
  required: ['label'],
  additionalProperties: false,
  properties: { label: { type: 'string', enum: ['lead', 'case', 'none'] }, note: { type: 'string', maxLength: 2000 } },
} as const;
/** Who made the correction: the `X-Actor` header (a console sends the signed-in agent), else `api`. */
const ACTOR_HEADERS = { type: 'object', properties: { 'x-actor': { type: 'string', minLength: 1, maxLength: 200 } } } as const;

type FeedbackRequest = { Params: { id: number }; Body: { label: FeedbackInput['label']; note?: string }; Headers: { 'x-actor'?: string } };

const input = (req: FastifyRequest<FeedbackRequest>): FeedbackInput => ({
  label: req.body.label,
  note: req.body.note,
  actor: req.headers['x-actor'] ?? 'api',
});

/** Ajv's message for an unknown field does not name it ("body must NOT have additional properties"): add the name. */
/**
 * Label feedback under `/api`: corrections of a post, or of the posts behind a lead or a case (201 with what was
 * stored), and the per-rule report against them. Bearer auth like the CRM routes; 400 naming the field for a bad
 * body, 404 naming `id` for an unknown record.
 */
export async function feedbackRoutes(app: FastifyInstance, opts: FeedbackRoutesOptions): Promise<void> {
  const { sql, apiToken, log } = opts;

  const schema = (summary: string, many: boolean) => ({
    summary,
    params: ID_PARAMS,
    body: FEEDBACK_BODY,
    headers: ACTOR_HEADERS,
    response: { 201: many ? { type: 'array', items: { type: 'object', additionalProperties: true } } : { type: 'object', additionalProperties: true }, 400: ERROR, 401: ERROR, 404: ERROR },
  });

  app.post<FeedbackRequest>('/posts/:id/feedback', { schema: schema('Correct the label of a post', false) }, async (req, reply) =>
    reply.code(201).send(await addPostFeedback(sql, req.params.id, input(req))),
  );
  app.post<FeedbackRequest>('/leads/:id/feedback', { schema: schema('Correct the label of the posts that made a lead', true) }, async (req, reply) =>
    reply.code(201).send(await addRecordFeedback(sql, 'lead', req.params.id, input(req))),
  );
  app.post<FeedbackRequest>('/cases/:id/feedback', { schema: schema('Correct the label of the posts that made a case', true) }, async (req, reply) =>
    reply.code(201).send(await addRecordFeedback(sql, 'case', req.params.id, input(req))),
  );
  app.get<{ Querystring: { limit: number } }>(
    '/rules/report',
    {
      schema: {
        summary: 'Per rule: times fired, precision against corrections, the corrected posts it got wrong',
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 20 } } },
        response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } }, 401: ERROR },
      },
    },
    async (req) => rulesReport(sql, { wrongLimit: req.query.limit }),
  );
}
