import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type Static, type TSchema, Type } from 'typebox';
import type { Sql } from '../db/client.js';
import { addPostFeedback, addRecordFeedback, rulesReport, type FeedbackInput } from '../db/feedback.repo.js';
import type { Logger } from '../logger.js';
import { ErrorBody, Feedback, IdParams, Label, RuleReport } from './schemas.js';

export interface FeedbackRoutesOptions {
  sql: Sql;
  log: Logger;
}

const FeedbackBody = Type.Object({ label: Label, note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false });
/** Who made the correction: the `X-Actor` header (a console sends the signed-in agent), else `api`. */
const ActorHeaders = Type.Object({ 'x-actor': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) });

const input = (body: Static<typeof FeedbackBody>, headers: Static<typeof ActorHeaders>): FeedbackInput => ({
  label: body.label,
  note: body.note,
  actor: headers['x-actor'] ?? 'api',
});

/** Ajv's message for an unknown field does not name it ("body must NOT have additional properties"): add the name. */
/**
 * Label feedback under `/api`: corrections of a post, or of the posts behind a lead or a case (201 with what was
 * stored), and the per-rule report against them. Bearer auth like the CRM routes; 400 naming the field for a bad
 * body, 404 naming `id` for an unknown record.
 */
export async function feedbackRoutes(app: FastifyInstance, opts: FeedbackRoutesOptions): Promise<void> {
  const { sql } = opts;

  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const schema = <T extends TSchema>(summary: string, created: T) => ({
    summary,
    params: IdParams,
    body: FeedbackBody,
    headers: ActorHeaders,
    response: { 201: created, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
  });

  r.post('/posts/:id/feedback', { schema: schema('Correct the label of a post', Feedback) }, async (req, reply) =>
    reply.code(201).send(await addPostFeedback(sql, req.params.id, input(req.body, req.headers))),
  );
  r.post('/leads/:id/feedback', { schema: schema('Correct the label of the posts that made a lead', Type.Array(Feedback)) }, async (req, reply) =>
    reply.code(201).send(await addRecordFeedback(sql, 'lead', req.params.id, input(req.body, req.headers))),
  );
  r.post('/cases/:id/feedback', { schema: schema('Correct the label of the posts that made a case', Type.Array(Feedback)) }, async (req, reply) =>
    reply.code(201).send(await addRecordFeedback(sql, 'case', req.params.id, input(req.body, req.headers))),
  );
  r.get(
    '/rules/report',
    {
      schema: {
        summary: 'Per rule: times fired, precision against corrections, the corrected posts it got wrong',
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 20 })) }, { additionalProperties: false }),
        response: { 200: Type.Array(RuleReport), 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => rulesReport(sql, { wrongLimit: req.query.limit }),
  );
}
