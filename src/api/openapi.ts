import type { RouteOptions } from 'fastify';
import { eventWebhooks } from './event-schemas.js';

type Schema = Record<string, unknown>;

/** `/api/leads/:id/qualify` → `/api/leads/{id}/qualify`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Parameters of one location (`path`, `query`) from the route's JSON schema of that part. */
function parameters(schema: Schema | undefined, where: 'path' | 'query') {
  const props = (schema?.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema?.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: s }));
}

/**
 * An OpenAPI 3.1 document generated from the routes as registered, so the document and the
 * validation are one source. Routes under `/api` carry the bearer scheme.
 */
export function openApiDocument(routes: readonly RouteOptions[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const methods = (Array.isArray(r.method) ? r.method : [r.method]).map((m) => m.toLowerCase()).filter((m) => m !== 'head');
    const schema = (r.schema ?? {}) as Schema;
    if (schema.hide === true) continue; // not part of the API (the web console's pages)
    const path = openApiPath(r.url);
    for (const method of methods) {
      const responses: Record<string, unknown> = Object.fromEntries(
        Object.entries((schema.response ?? { 200: {} }) as Record<string, Schema>).map(([code, s]) => [
          code,
          { description: code.startsWith('2') ? 'OK' : 'error', content: { 'application/json': { schema: s } } },
        ]),
      );
      if (path.startsWith('/api/') && schema.body) responses['400'] ??= { description: 'validation error naming the field' };
      paths[path] ??= {};
      paths[path]![method] = {
        ...(schema.summary ? { summary: schema.summary } : {}),
        parameters: [...parameters(schema.params as Schema | undefined, 'path'), ...parameters(schema.querystring as Schema | undefined, 'query')],
        ...(schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema.body } } } } : {}),
        responses,
        ...(path.startsWith('/api/') ? { security: [{ bearer: [] }] } : {}),
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'social capture', version: '1', description: 'Leads, opportunities, cases and contacts made from social posts.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'CAPTURE_API_TOKEN' } } },
    paths,
    webhooks: eventWebhooks(),
  };
}
