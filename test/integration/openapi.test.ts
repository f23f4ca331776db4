import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiServer } from '../../src/api/server.js';
import { parseConfigFile } from '../../src/config.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { silentLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import type { SocialPost } from '../../src/types.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport, type Transport } from '../../src/workers/queues.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig, waitFor } from '../support/services.js';

const TOKEN = 'openapi-token';
const VERIFY = 'openapi-verify';
// ajv-formats is CommonJS: under ESM its default import is `module.exports`, whose `default` is the plugin.
const addFormats = addFormatsModule.default;

type Schema = Record<string, unknown>;
type Operation = { responses: Record<string, { content?: Record<string, { schema: Schema }> }> };
type OpenApi = { openapi: string; paths: Record<string, Record<string, Operation>>; webhooks: Record<string, unknown> };

/** The schema with every object that lists its properties closed (`additionalProperties: false`): a field the document lacks fails. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [
      k,
      k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, closed(s)])) : closed(v),
    ]),
  );
  if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

/**
 * Issue 18, item 4: `/openapi.json` is the contract. Every GET route answers, on a seeded database, with a body its
 * documented response schema accepts, closed to fields it does not name, and the serializer drops or coerces nothing
 * the handler returned (the body equals the handler's own value).
 */
describe('the OpenAPI document against real responses', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let worker: Service;
  let app: FastifyInstance;
  let doc: OpenApi;
  /** What the last handler returned, before serialization, as JSON would carry it. */
  let handed: unknown;
  const ids: Record<string, number> = {};
  /** The live ruleset's version, for `/api/rules/versions/{version}`. */
  let liveVersion = '';
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);

  /** The writes that seeded the database, each with its path as the document names it, for the last test. */
  const writes: { method: 'post'; path: string; status: number; body: unknown; handed: unknown }[] = [];

  /** POST as a client would, and keep the answer to check against the document. */
  async function write(path: string, values: Record<string, number>, body: unknown) {
    handed = undefined;
    const res = await api(
      'POST',
      path.replace(/\{(\w+)\}/g, (_m, k: string) => String(values[k])),
      body,
    );
    writes.push({ method: 'post', path, status: res.status, body: res.json(), handed });
    return res;
  }

  async function api(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, ...(body !== undefined ? { payload: body as object } : {}) });
    return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), text: res.body, json: () => JSON.parse(res.body) as any };
  }

  async function capture(...posts: SocialPost[]) {
    const stored = await storePage(db.database.sql, 'openapi-search', posts, null);
    await enqueuePosts(worker.postsQueue, stored.inserted, 3);
    return waitFor(
      async () => {
        const rows = await db.database.sql<{ id: number; leadId: number | null; caseId: number | null; contactId: number | null; status: string }[]>`
          select id, lead_id as "leadId", case_id as "caseId", contact_id as "contactId", status from social_posts where external_id = any(${posts.map((p) => p.id)})`;
        return rows.length === posts.length && rows.every((r) => r.status !== 'pending') ? rows : null;
      },
      { what: 'posts decided' },
    );
  }

  beforeAll(async () => {
    db = await createTestDatabase('openapi');
    transport = createTestTransport('redis', db.url, 'openapi');
    const { sources } = parseConfigFile(
      'sources:\n  - { id: openapi-search, platform: twitter, kind: search, query: "q", budget: { posts_per_month: 1000 } }\n',
      '(test)',
    );
    const config = { ...testConfig(), sources, secrets: { apiToken: TOKEN, facebookVerifyToken: VERIFY } };
    // The capture worker only: no poller, no webhook relay (the endpoint below is never called).
    worker = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: silentLogger, role: 'worker' });
    app = buildApiServer({ sql: db.database.sql, postsQueue: worker.postsQueue, config, log: silentLogger, apiToken: TOKEN });
    app.addHook('preSerialization', async (_req, _reply, payload) => {
      handed = JSON.parse(JSON.stringify(payload));
      return payload;
    });
    await app.ready();
    doc = (await api('GET', '/openapi.json')).json();
    liveVersion = (await api('GET', '/api/rules')).json().live.version;

    const sql = db.database.sql;
    const [lead] = (await capture(makePost({ text: 'how much is the enterprise plan for 40 seats?', handle: 'pat_openapi' })))!;
    const [kase] = (await capture(makePost({ text: 'my internet is not working again' })))!;
    expect(lead!.leadId).not.toBeNull();
    expect(kase!.caseId).not.toBeNull();
    const qualified = await write(
      '/api/leads/{id}/qualify',
      { id: lead!.leadId! },
      { account: { name: 'Openapi Corp' }, opportunity: { estimatedValue: 1200 } },
    );
    expect(qualified.status).toBe(200);
    expect((await write('/api/entitlements', {}, { contactId: kase!.contactId, name: 'Gold support' })).status).toBe(201);
    expect((await write('/api/posts/{id}/feedback', { id: lead!.id }, { label: 'none', note: 'a joke' })).status).toBe(201);
    expect((await write('/api/cases/{id}/feedback', { id: kase!.caseId! }, { label: 'case' })).status).toBe(201);
    const endpoint = await write('/api/webhooks', {}, { url: 'https://crm.example/openapi', description: 'never called' });
    expect(endpoint.status).toBe(201);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    expect((await write('/api/webhooks/{id}/replay', { id: endpoint.json().id }, { since })).status).toBe(200);
    // One failed attempt, so that a delivery's attempt list has an entry to check.
    const [delivery] = await sql<{ id: number }[]>`select id from webhook_deliveries order by id limit 1`;
    await sql`insert into webhook_attempts (delivery_id, status_code, latency_ms, error) values (${delivery!.id}, 503, 12, 'unavailable')`;
    // Another person with the lead author's handle on Facebook: a merge suggestion.
    const [other] = await sql<{ id: number }[]>`insert into contacts (name) values (null) returning id`;
    await sql`insert into identities (platform, external_user_id, handle, contact_id) values ('facebook', '4242', 'Pat_Openapi', ${other!.id})`;

    Object.assign(ids, {
      leads: lead!.leadId!,
      cases: kase!.caseId!,
      contacts: kase!.contactId!,
      opportunities: qualified.json().opportunity.id,
      accounts: qualified.json().accountId,
      webhooks: endpoint.json().id,
    });
  });
  afterAll(async () => {
    await app?.close();
    await worker?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
  });

  /** The closed JSON schema the document gives for this operation and status. */
  function validator(path: string, status: number, method = 'get'): ValidateFunction {
    const schema = doc.paths[path]?.[method]?.responses[String(status)]?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`/openapi.json describes no ${status} JSON response of ${method.toUpperCase()} ${path}`);
    return ajv.compile(closed(schema) as Schema);
  }

  function expectValid(validate: ValidateFunction, body: unknown, what: string) {
    const ok = validate(body);
    expect(ok, `${what}: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`).toBe(true);
  }

  /** A GET path of the document with its `{id}` filled from the seeded records. */
  const url = (path: string, id?: number) =>
    path.replace('{version}', id === undefined ? liveVersion : `none@${id}`).replace(/\{id\}/, () => {
      const resource = path.split('/')[2]!;
      const value = id ?? ids[resource];
      if (value === undefined) throw new Error(`no seeded record for ${path}: seed one`);
      return String(value);
    });

  const jsonGets = () =>
    Object.entries(doc.paths)
      .filter(([path, ops]) => ops.get && !['/openapi.json', '/metrics', '/webhooks/facebook'].includes(path))
      .map(([path]) => path);

  it('is OpenAPI 3.1 with the event webhooks and a bearer scheme on /api', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.webhooks).length).toBeGreaterThan(0);
    expect(jsonGets()).toEqual(expect.arrayContaining(['/api/leads', '/api/cases/{id}', '/api/webhooks/deliveries', '/api/events', '/healthz', '/readyz']));
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops) as { security?: unknown }[]) expect(op.security !== undefined, path).toBe(path.startsWith('/api/'));
    }
  });

  it('every GET answers with a body its schema accepts, and the serializer keeps every field the handler returned', async () => {
    const checked: string[] = [];
    for (const path of jsonGets()) {
      handed = undefined;
      const res = await api('GET', url(path));
      expect(res.status, `GET ${path}: ${res.text}`).toBe(200);
      const body = res.json();
      const validate = validator(path, 200);
      expectValid(validate, handed, `GET ${path} as the handler returned it`);
      expectValid(validate, body, `GET ${path} as sent`);
      expect(body, `GET ${path}: the body differs from what the handler returned`).toEqual(handed);
      // An empty listing would check no record: the seed gives each one at least one.
      const list = Array.isArray(body) ? body : path === '/api/events' ? body.events : undefined;
      if (list !== undefined) expect(list.length, `GET ${path} listed nothing`).toBeGreaterThan(0);
      checked.push(path);
    }
    expect(checked.length).toBeGreaterThanOrEqual(18);
  });

  it('a record that is not there is a 404 with the documented error body', async () => {
    for (const path of jsonGets().filter((p) => p.includes('{id}'))) {
      const res = await api('GET', url(path, 987_654_321));
      expect(res.status, path).toBe(404);
      expectValid(validator(path, 404), res.json(), `GET ${path} 404`);
    }
  });

  it('the writes that seeded the database answered as documented, nothing dropped', () => {
    expect(writes.map((w) => w.path)).toHaveLength(6);
    for (const w of writes) {
      const what = `POST ${w.path} ${w.status}`;
      expectValid(validator(w.path, w.status, w.method), w.handed, `${what} as the handler returned it`);
      expectValid(validator(w.path, w.status, w.method), w.body, `${what} as sent`);
      expect(w.body, `${what}: the body differs from what the handler returned`).toEqual(w.handed);
    }
  });

  it('the Facebook verification answers the challenge as text/plain, as documented', async () => {
    const res = await api('GET', `/webhooks/facebook?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=1158201444`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
    expect(res.text).toBe('1158201444');
    expect(doc.paths['/webhooks/facebook']!.get!.responses['200']!.content!['text/plain']!.schema).toEqual({ type: 'string' });
  });
});
