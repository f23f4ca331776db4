import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { eventWebhooks } from './event-schemas.js';

type Operation = { parameters?: unknown[]; security?: unknown[] };

/**
 * @fastify/swagger's options: an OpenAPI 3.1 document generated from the routes as registered (their TypeBox
 * schemas are the validation and the types too), with the events a webhook endpoint receives under `webhooks`.
 * Routes under `/api` carry the bearer scheme.
 */
export function openApiOptions(): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'social capture', version: '1', description: 'Leads, opportunities, cases and contacts made from social posts.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'CAPTURE_API_TOKEN' } } },
      webhooks: eventWebhooks(),
    },
    transform: ({ schema, url }) => ({ schema: url.startsWith('/api/') ? { ...schema, security: [{ bearer: [] }] } : schema, url }),
    // Every operation lists its parameters, none as `[]`: clients (and the bad-input sweep) read the list without a guard.
    transformObject: (doc) => {
      if (!('openapiObject' in doc)) return doc.swaggerObject;
      for (const ops of Object.values(doc.openapiObject.paths ?? {})) {
        for (const op of Object.values(ops as Record<string, Operation>)) op.parameters ??= [];
      }
      return doc.openapiObject;
    },
  };
}
