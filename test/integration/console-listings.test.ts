import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import type { Transport } from '../../src/workers/queues.js';
import { closeTransport, createTestDatabase, createTestTransport, TEST_RULES, testConfig } from '../support/services.js';

const TOKEN = 'console-listings-token';
/** More records than a page shows and than the console ever read before filtering (500). */
const MANY = 620;

/**
 * The console's lead and case lists filter and order over ALL the records, in the database, not over
 * the newest few hundred in memory: the lead that matches a filter and the most urgent case are shown
 * however old they are. Records are written by SQL; the pages are read over HTTP as a person's browser does.
 */
describe('console listings over more records than a page', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service;
  let base: string;
  let session: string;
  let oldLeads: number[];
  let urgentCaseId: number;

  async function page(path: string): Promise<string> {
    const res = await fetch(`${base}${path}`, { headers: { cookie: session }, redirect: 'manual' });
    expect(res.status).toBe(200);
    return res.text();
  }
  const ids = (html: string, kind: 'leads' | 'cases') =>
    [...html.matchAll(kind === 'leads' ? /<h2 id="lead-(\d+)-h">/g : /<th scope="row"><a href="\/cases\/(\d+)">/g)].map((m) => Number(m[1]));

  beforeAll(async () => {
    db = await createTestDatabase('console_listings');
    transport = createTestTransport('redis', db.url, 'console_listings');
    const config = { ...testConfig(), port: 0, secrets: { apiToken: TOKEN } };
    service = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: silentLogger, role: 'api' });
    base = service.api!.url.replace('0.0.0.0', '127.0.0.1');
    const sql = db.database.sql;
    // One contact per record (one open lead per contact); the three OLDEST leads are the only ones scored 7
    // with the rule `price-question`, and their first post came from the source `old-src`.
    await sql`insert into contacts (name) select 'person ' || g from generate_series(1, ${MANY}) g`;
    const contacts = (await sql<{ id: number }[]>`select id from contacts order by id`).map((r) => r.id);
    const leads = await sql<{ id: number }[]>`
      insert into leads (contact_id, source, subject, score, ruleset_version, rules)
      select c, 'twitter', 'lead of ' || c, case when n <= 3 then 7 else 1 end, 'test@1',
             case when n <= 3 then '[{"id": "price-question", "label": "lead", "weight": 1, "terms": []}]'::jsonb else '[]'::jsonb end
      from unnest(${sql.array(contacts)}::bigint[]) with ordinality as u(c, n)
      order by n
      returning id`;
    oldLeads = leads.map((r) => r.id).slice(0, 3);
    await sql`
      insert into social_posts (platform, external_id, source_id, text, payload, status, lead_id)
      select 'twitter', 'lp-' || l.id, case when l.score = 7 then 'old-src' else 'new-src' end, 'how much is it', '{}'::jsonb, 'processed', l.id
      from leads l`;
    // Cases: every one low priority, new, except the OLDEST, which is urgent.
    const cases = await sql<{ id: number }[]>`
      insert into cases (contact_id, title, origin, priority, resolve_by, ruleset_version, rules)
      select c, 'case of ' || c, 'twitter', (case when n = 1 then 'urgent' else 'low' end)::case_priority,
             now() + (case when n = 1 then interval '4 hours' else interval '7 days' end) + n * interval '1 second', 'test@1', '[]'::jsonb
      from unnest(${sql.array(contacts)}::bigint[]) with ordinality as u(c, n)
      order by n
      returning id`;
    urgentCaseId = cases[0]!.id;
    // Sign in as a person does: the form's nonce cookie, then the token in the POST body.
    const login = await fetch(`${base}/login`);
    const nonceCookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const nonce = nonceCookie.split('=')[1]!;
    const signIn = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: nonceCookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _login: nonce, name: 'Tester', token: TOKEN }).toString(),
    });
    expect(signIn.status).toBe(303);
    session = signIn.headers.getSetCookie()[0]!.split(';')[0]!;
  });

  afterAll(async () => {
    await service?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
  });

  it('a lead filter finds the matching leads however old they are (score, rule, source)', async () => {
    const truth = await db.database.sql<{ id: number }[]>`select id from leads where status = 'open' and score >= 5 order by id desc`;
    expect(truth.map((r) => r.id).sort()).toEqual([...oldLeads].sort());
    expect(ids(await page('/leads?minScore=5'), 'leads')).toEqual(truth.map((r) => r.id));
    expect(ids(await page('/leads?rule=price-question'), 'leads')).toEqual(truth.map((r) => r.id));
    expect(ids(await page('/leads?source=old-src'), 'leads')).toEqual(truth.map((r) => r.id));
    // unfiltered: a page of the newest, no more
    const all = ids(await page('/leads'), 'leads');
    expect(all).toHaveLength(100);
    expect(all[0]).toBe(Math.max(...(await db.database.sql<{ id: number }[]>`select id from leads`).map((r) => r.id)));
  });

  it('the case queue starts with the most urgent case, even the oldest of hundreds', async () => {
    const shown = ids(await page('/cases'), 'cases');
    expect(shown).toHaveLength(100);
    expect(shown[0]).toBe(urgentCaseId);
    // the rest in the queue's order: earliest resolve-by first, as the database orders them
    const truth = await db.database.sql<{ id: number }[]>`
      select id from cases where status in ('new', 'in_progress') order by priority desc, resolve_by, id limit 100`;
    expect(shown).toEqual(truth.map((r) => r.id));
  });
});
