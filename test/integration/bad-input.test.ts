import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACEBOOK_WEBHOOK_SOURCE } from '../../src/api/server.js';
import { createLogger } from '../../src/logger.js';
import { fbWebhookSignature } from '../../src/sandbox/facebook.simulator.js';
import { startService, type Service } from '../../src/service.js';
import { closeTransport, type Transport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig } from '../support/services.js';

const TOKEN = 'bad-input-token';
const SECRET = 'bad-input-secret';
/** 2^64 as JSON text: JSON.stringify cannot write it exactly, so bodies are built as text. */
const TWO_64 = '18446744073709551616';

type Json = { status: number; body: Record<string, any> | null };

/** Issue 17, item 4: bad input is a 400 naming the field (or, in a webhook batch, a rejected item), never a 500. */
describe('bad input', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service;
  let base: string;
  let leadId: number;
  const logLines: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('bad_input');
    transport = createTestTransport('redis', db.url, 'bad_input');
    const sink = new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) });
    const config = { ...testConfig(), port: 0, secrets: { apiToken: TOKEN, facebookAppSecret: SECRET } };
    service = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: createLogger({ destination: sink }), role: 'api' });
    base = service.api!.url.replace('0.0.0.0', '127.0.0.1');
    const sql = db.database.sql;
    const [k] = await sql<{ id: number }[]>`insert into contacts (name) values ('Pat') returning id`;
    const [l] = await sql<{ id: number }[]>`
      insert into leads (contact_id, source, subject, score, ruleset_version, rules) values (${k!.id}, 'twitter', 'price?', 2, 't', '[]') returning id`;
    leadId = l!.id;
  });
  afterAll(async () => {
    await service?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
  });

  async function send(method: string, path: string, rawBody?: string, headers: Record<string, string> = {}): Promise<Json> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(rawBody !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(rawBody !== undefined ? { body: rawBody } : {}),
    });
    const text = await res.text();
    let body: Json['body'] = null;
    try {
      body = text ? (JSON.parse(text) as Record<string, any>) : null;
    } catch {
      body = { text };
    }
    return { status: res.status, body };
  }

  it.each([
    ['an id of 2^64 in the path', 'GET', `/api/leads/${TWO_64}`, undefined, /id/],
    ['a hex id in the path', 'GET', '/api/cases/0x10', undefined, /params\/id/],
    ['an id with an exponent in the path', 'POST', '/api/cases/1e3/start', undefined, /params\/id/],
    ['a hex id in the query', 'GET', '/api/leads?contactId=0x10', undefined, /contactId/],
    ['an id of 2^64 in the query', 'GET', `/api/cases?contactId=${TWO_64}`, undefined, /contactId/],
    ['a limit beyond any integer', 'GET', '/api/posts?limit=99999999999999999999', undefined, /limit/],
    ['an id of 2^64 in a body', 'POST', '/api/merges', `{"survivorId":${TWO_64},"mergedId":2}`, /survivorId/],
    ['an id given as a string', 'POST', '/api/merges', '{"survivorId":"5","mergedId":2}', /survivorId/],
    ['an id given as hex text', 'PUT', '/api/contacts/1/account', '{"accountId":"0x10"}', /accountId/],
    ['a NUL byte in a body string', 'POST', '/api/accounts', '{"name":"Acme\\u0000Corp"}', /name.*NUL/],
    ['a NUL byte in a query string', 'GET', '/api/posts?status=pen%00ding', undefined, /status.*NUL/],
    ['a NUL byte in a nested string', 'POST', `/api/leads/{lead}/qualify`, '{"contact":{"name":"A\\u0000B"}}', /contact\/name.*NUL/],
    ['an estimated value that overflows numeric(14,2)', 'POST', `/api/leads/{lead}/qualify`, '{"opportunity":{"estimatedValue":1e15}}', /estimatedValue/],
    ['an actual value that overflows', 'POST', '/api/opportunities/1/win', '{"actualValue":1e300}', /actualValue/],
  ])('%s: 400 naming the field', async (_what, method, path, body, names) => {
    const res = await send(method, path.replace('{lead}', String(leadId)), body);
    expect(res.status).toBe(400);
    expect(res.body!.error).toMatch(names);
  });

  it('nothing of the refused requests reached the database', async () => {
    const [r] = await db.database.sql<{ accounts: number; opps: number; status: string }[]>`
      select (select count(*)::int from accounts) as accounts, (select count(*)::int from opportunities) as opps,
             (select status::text from leads where id = ${leadId}) as status`;
    expect(r).toEqual({ accounts: 0, opps: 0, status: 'open' });
  });

  it('a Facebook webhook batch with one item dated 1e300: that item is rejected, the good ones are stored', async () => {
    const item = (id: string, created: number) => ({
      id: '1122334455',
      time: 1_790_000_000,
      changes: [
        {
          field: 'feed',
          value: {
            item: 'status',
            verb: 'add',
            post_id: id,
            created_time: created,
            from: { id: `66${id.slice(-3)}`, name: 'Visitor' },
            message: 'how much is it',
          },
        },
      ],
    });
    const raw = JSON.stringify({
      object: 'page',
      entry: [item('1122334455_900001', 1_790_000_000), item('1122334455_900002', 1e300), item('1122334455_900003', 1_790_000_100)],
    });
    const res = await send('POST', '/webhooks/facebook', raw, { 'x-hub-signature-256': fbWebhookSignature(SECRET, raw) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ received: 2, new: 2, rejected: 1 });
    const stored = await db.database.sql<{ externalId: string }[]>`
      select external_id as "externalId" from social_posts where source_id = ${FACEBOOK_WEBHOOK_SOURCE} order by external_id`;
    expect(stored.map((r) => r.externalId)).toEqual(['1122334455_900001', '1122334455_900003']);
  });

  it('a 500 is logged with its stack', async () => {
    const sql = db.database.sql;
    await sql`alter table accounts rename to accounts_away`;
    try {
      expect((await send('GET', '/api/accounts')).status).toBe(500);
    } finally {
      await sql`alter table accounts_away rename to accounts`;
    }
    const line = logLines.map((l) => JSON.parse(l) as { msg: string; err?: { stack?: string } }).findLast((l) => l.msg === 'api request failed');
    expect(line?.err?.stack).toMatch(/accounts/);
    expect(line?.err?.stack).toMatch(/\n\s+at /);
  });

  /** Each bad-input class into every field of every route the OpenAPI document lists: not one 500. */
  it('a sweep of every route with every bad-input class gives no response >= 500', async () => {
    const doc = (await send('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { parameters: { name: string; in: string }[]; requestBody?: any }>>;
    };
    const BAD = [TWO_64, '"0x10"', '"16"', '"a\\u0000b"', '1e15', '1e300', '-1', '1.5', 'null', '"2026-02-30T25:61:00Z"', '[]', '{}'];
    const BAD_TEXT = [TWO_64, '0x10', '-1', '1e3', '1.5', 'a%00b', '%00', '99999999999999999999', ''];
    const requests: [string, string, string | undefined][] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (path === '/webhooks/facebook') continue; // signed: its batches are checked above
      for (const [method, op] of Object.entries(methods)) {
        const m = method.toUpperCase();
        const fill = (p: string, v: string) => p.replace(/\{[^}]+\}/g, v);
        const ok = fill(path, String(leadId));
        const body = op.requestBody ? '{}' : undefined;
        for (const v of BAD_TEXT) requests.push([m, fill(path, v), body]);
        for (const q of op.parameters.filter((p) => p.in === 'query')) for (const v of BAD_TEXT) requests.push([m, `${ok}?${q.name}=${v}`, body]);
        if (!op.requestBody) continue;
        const schema = op.requestBody.content['application/json'].schema as { properties?: Record<string, { properties?: Record<string, unknown> }> };
        const fields: string[][] = [];
        for (const [k, s] of Object.entries(schema.properties ?? {})) {
          fields.push([k]);
          for (const inner of Object.keys(s.properties ?? {})) fields.push([k, inner]);
        }
        for (const v of [...BAD, '"x"']) requests.push([m, ok, v]);
        for (const f of fields) {
          for (const v of BAD) requests.push([m, ok, f.length === 1 ? `{"${f[0]}":${v}}` : `{"${f[0]}":{"${f[1]}":${v}}}`]);
        }
      }
    }
    const fivehundreds: string[] = [];
    for (const [m, path, body] of requests) {
      const res = await send(m, path, body);
      if (res.status >= 500) fivehundreds.push(`${m} ${path} ${body ?? ''} → ${res.status}`);
    }
    expect(requests.length).toBeGreaterThan(500);
    expect(fivehundreds).toEqual([]);
    process.stderr.write(`bad-input sweep: ${requests.length} requests, ${fivehundreds.length} answered >= 500\n`);
  });
});
