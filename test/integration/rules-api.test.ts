import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRuleset } from '../../src/classifier/index.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { silentLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport, type Transport } from '../../src/workers/queues.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, createTestTransport, testConfig, waitFor } from '../support/services.js';

const TOKEN = 'rules-api-token';
const V1 = `name: shop
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buying, label: lead, weight: 2, any: ["how much"] }
  - { id: outage, label: case, weight: 2, any: ["not working"] }
`;
// v2 drops the outage rule and adds a refund rule: "not working" posts stop being cases.
const V2 = `name: shop
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buying, label: lead, weight: 2, any: ["how much"] }
  - { id: refund, label: case, weight: 2, any: ["refund"] }
`;

describe('the rules API', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service;
  let base: string;
  let dir: string;
  let rulesPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rules-api-'));
    rulesPath = join(dir, 'rules.yaml');
    writeFileSync(rulesPath, V1);
    db = await createTestDatabase('rules_api');
    transport = createTestTransport('redis', db.url, 'rules_api');
    const config = { ...testConfig(), rulesPath, port: 0, secrets: { apiToken: TOKEN } };
    service = await startService({ config, database: db.database, transport, ruleset: parseRuleset(V1), log: silentLogger, role: 'all' });
    base = service.api!.url.replace('0.0.0.0', '127.0.0.1');
    const posts = [makePost({ text: 'my router is not working' }), makePost({ text: 'how much is the pro plan' }), makePost({ text: 'nice weather' })];
    const stored = await storePage(db.database.sql, 'rules-test', posts, null);
    await enqueuePosts(service.postsQueue, stored.inserted, 3);
    await waitFor(
      async () => {
        const [r] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where status = 'processed'`;
        return r!.n === 3;
      },
      { what: 'posts decided' },
    );
  });
  afterAll(async () => {
    await service?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function api(method: string, path: string, body?: unknown, token: string | null = TOKEN) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  it('refuses a request without the bearer token', async () => {
    expect((await api('GET', '/api/rules', undefined, null)).status).toBe(401);
    expect((await api('POST', '/api/rules/publish', { yaml: V2 }, 'wrong')).status).toBe(401);
    expect(readFileSync(rulesPath, 'utf8')).toBe(V1);
  });

  it('validates a draft and places each problem at its rule and field', async () => {
    const ok = await api('POST', '/api/rules/validate', { yaml: V2 });
    expect(ok.body).toMatchObject({ valid: true, version: parseRuleset(V2).version, problems: [] });
    const bad = await api('POST', '/api/rules/validate', { yaml: V2.replace('weight: 2, any: ["refund"]', 'weight: "heavy", any: ["refund"]') });
    expect(bad.status).toBe(200);
    expect(bad.body.valid).toBe(false);
    expect(bad.body.problems).toContainEqual(expect.objectContaining({ rule: 'rule "refund" (#2)', field: 'weight' }));
    const noBody = await api('POST', '/api/rules/validate', {});
    expect(noBody.status).toBe(400);
    expect(noBody.body.error).toMatch(/yaml/);
  });

  it('tries a text with the live ruleset or a draft and returns the decision trace', async () => {
    const live = await api('POST', '/api/rules/try', { text: 'my phone is not working' });
    expect(live.body).toMatchObject({ label: 'case', rulesetVersion: parseRuleset(V1).version });
    expect(live.body.rules[0]).toMatchObject({ id: 'outage', terms: [{ term: 'not working' }] });
    const draft = await api('POST', '/api/rules/try', { text: 'my phone is not working', yaml: V2 });
    expect(draft.body).toMatchObject({ label: 'none', rules: [] });
  });

  it('backtests a draft on the stored posts: the changed decisions with the rules before and after', async () => {
    const r = await api('POST', '/api/rules/backtest', { yaml: V2, days: 7 });
    expect(r.status).toBe(200);
    const [stored] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where status = 'processed' and label is not null`;
    expect(r.body.posts).toBe(stored!.n);
    expect(r.body.changed).toBe(1);
    expect(r.body.examples).toEqual([expect.objectContaining({ from: 'case', to: 'none', rules: [], storedRules: ['outage'] })]);
    const bad = await api('POST', '/api/rules/backtest', { yaml: V2, days: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/days/);
  });

  it('publishes a draft over the rules file, records it with the version before it, and rolls back', async () => {
    const invalid = await api('POST', '/api/rules/publish', {
      yaml: 'name: x\nthresholds: { lead: 1, case: 1 }\nrules:\n  - { id: a, label: lead, weight: 1 }\n',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.problems).toContainEqual(expect.objectContaining({ rule: 'rule "a" (#1)', field: 'any' }));
    expect(readFileSync(rulesPath, 'utf8')).toBe(V1);

    const pub = await api('POST', '/api/rules/publish', { yaml: V2, by: 'ops-anna' });
    expect(pub.status).toBe(201);
    expect(readFileSync(rulesPath, 'utf8')).toBe(V2);
    const rows = await db.database.sql<{ version: string; yaml: string; publishedBy: string }[]>`
      select version, yaml, published_by as "publishedBy" from ruleset_versions order by id`;
    expect(rows).toEqual([
      { version: parseRuleset(V1).version, yaml: V1, publishedBy: '(rules file)' },
      { version: parseRuleset(V2).version, yaml: V2, publishedBy: 'ops-anna' },
    ]);
    const listed = await api('GET', '/api/rules');
    expect(listed.body.live.version).toBe(parseRuleset(V2).version);
    expect(listed.body.history.map((h: { version: string }) => h.version)).toEqual(rows.map((r) => r.version).reverse());

    expect((await api('POST', '/api/rules/rollback', { version: 'nope@123' })).status).toBe(404);
    const back = await api('POST', '/api/rules/rollback', { version: parseRuleset(V1).version, by: 'ops-ben' });
    expect(back.status).toBe(201);
    expect(readFileSync(rulesPath, 'utf8')).toBe(V1);
    const [last] = await db.database.sql<{ version: string; publishedBy: string }[]>`
      select version, published_by as "publishedBy" from ruleset_versions order by id desc limit 1`;
    expect(last).toEqual({ version: parseRuleset(V1).version, publishedBy: 'ops-ben' });
  });
});
