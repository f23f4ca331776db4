import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRuleset } from '../../src/classifier/index.js';
import { waitFor } from '../support/services.js';
import { openBrowser, post, SCREENSHOTS, startService, type ImportPost, type RunningService, type Watch } from './support.js';

const V1 = `name: console-test
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buying, label: lead, weight: 2, any: ["how much", "price", "demo"] }
  - { id: outage, label: case, weight: 2, any: ["not working", "outage"], priority: high }
  - { id: refund, label: case, weight: 2, any: ["refund", "charged twice"] }
`;
// The draft ops edit: the refund rule goes, an upgrade rule (lead) comes.
const V2 = `name: console-test
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buying, label: lead, weight: 2, any: ["how much", "price", "demo"] }
  - { id: outage, label: case, weight: 2, any: ["not working", "outage"], priority: high }
  - { id: upgrade, label: lead, weight: 2, any: ["upgrade my plan"] }
`;
const V1_VERSION = parseRuleset(V1).version;
const V2_VERSION = parseRuleset(V2).version;

const HOSTILE = {
  script: post('<script>window.__pwned = 1; alert("xss")</script> how much is it', { id: '3001', handle: 'hostile_script' }),
  img: post('<img src="https://evil.example/p.png" onerror="window.__pwned = 1; alert(1)"> price please', { id: '3002', handle: 'hostile_img' }),
  rtl: post('how much for the invoice \u202Egnp.exe\u202C today', { id: '3003', handle: 'hostile_rtl' }),
  huge: post(`how much ${'A'.repeat(1_000_000)}`, { id: '3004', handle: 'hostile_huge' }),
};
const LEAD_A = post('how much is the pro plan for 20 seats?', { id: '1001', handle: 'lena_buys', name: 'Lena Buyer' });
const LEAD_B = post('can I get a demo next week', { id: '1002', handle: 'otto_demo', name: 'Otto Demo' });
const CASE_C = post('my router is not working since monday', { id: '1003', handle: 'sam_same', name: 'Sam Same' });
const CASE_D = post('refund please, I was charged twice', { id: '2003', handle: 'sam_same', name: 'Sam S.' }, 'facebook');

/** A stand-in X API that refuses every token: the source it feeds goes unhealthy. */
function refusingXApi(): Promise<Server> {
  const srv = createServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' }));
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

describe('the web console in a real browser', () => {
  let svc: RunningService;
  let xApi: Server;
  let browser: Awaited<ReturnType<typeof openBrowser>>;
  let page: Page;
  let watch: Watch;

  const sql = () => svc.database.sql;
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
  const api = async (path: string, body?: unknown) => {
    const res = await fetch(`${svc.base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${svc.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  /** Import posts and wait until capture decided every one. */
  const capture = async (...posts: ImportPost[]) => {
    svc.importPosts(posts);
    const decided = await waitFor(
      async () => {
        const rows = await sql()<
          {
            externalId: string;
            id: number;
            status: string;
            label: string | null;
            leadId: number | null;
            caseId: number | null;
            contactId: number | null;
            rulesetVersion: string | null;
          }[]
        >`
          select external_id as "externalId", id, status, label, lead_id as "leadId", case_id as "caseId", contact_id as "contactId", ruleset_version as "rulesetVersion"
          from social_posts where external_id = any(${posts.map((p) => p.id)})`;
        return rows.length === posts.length && rows.every((r) => r.status === 'processed') ? new Map(rows.map((r) => [r.externalId, r])) : null;
      },
      { what: 'posts decided', timeoutMs: 30_000 },
    );
    return decided!;
  };
  const flash = async (text: string | RegExp) => {
    const el = page.locator('.flash').filter({ hasText: text });
    await el.waitFor({ timeout: 15_000 });
    return el.textContent();
  };
  const rulesReloadedTo = (version: string) =>
    waitFor(
      () =>
        svc
          .log()
          .split('\n')
          .some((l) => l.includes('"rules reloaded"') && l.includes(`"to":"${version}"`)),
      { what: `rules reloaded to ${version}` },
    );

  beforeAll(async () => {
    xApi = await refusingXApi();
    svc = await startService({
      rules: V1,
      config: `sources:\n  - { id: x-search, platform: twitter, kind: search, query: 'acme', every: 1h }`,
      env: { TWITTER_BEARER_TOKEN: 'not-a-real-token', TWITTER_API_BASE_URL: `http://127.0.0.1:${(xApi.address() as AddressInfo).port}` },
    });
    await capture(LEAD_A, LEAD_B, CASE_C, CASE_D, ...Object.values(HOSTILE));
    browser = await openBrowser(svc.base);
    page = browser.page;
    watch = browser.watch;
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
    xApi?.close();
  });

  it('signs in with the API token in a form, into an HttpOnly SameSite=Strict session, under a CSP without inline scripts', async () => {
    const first = await page.goto(`${svc.base}/`);
    expect(page.url()).toBe(`${svc.base}/login`);
    expect(first!.headers()['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    await shot('sign-in');
    await page.getByLabel('API token').fill('wrong token');
    await page.getByLabel('Your name').fill('Anna Ops');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not right' }).waitFor();
    expect(await browser.context.cookies()).not.toContainEqual(expect.objectContaining({ name: 'capture_session' }));

    await page.getByLabel('API token').fill(svc.token);
    await page.getByLabel('Your name').fill('Anna Ops');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Leads' }).waitFor();
    expect(page.url()).not.toContain(svc.token);
    const session = (await browser.context.cookies()).find((c) => c.name === 'capture_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // Every page by its navigation link, heading of the same name.
    for (const name of ['Cases', 'Contacts', 'Rules', 'Sources', 'Activity', 'Leads']) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
      await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
    }
    // A state-changing request without the CSRF token is refused, whatever the cookie.
    const forged = await page.evaluate(
      async () =>
        (await fetch('/leads/1/disqualify', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'reason=junk' })).status,
    );
    expect(forged).toBe(403);
  });

  it('qualifies a lead from the list (B2B, estimated value) and the opportunity appears over the API', async () => {
    const posts = await capture(LEAD_A);
    const leadId = posts.get(LEAD_A.id)!.leadId!;
    await page.goto(`${svc.base}/leads`);
    await shot('leads');
    const card = page.locator(`#lead-${leadId}`);
    expect(await card.locator('mark').first().textContent()).toBe('how much');
    expect(await card.getByRole('link', { name: '@lena_buys' }).getAttribute('href')).toBe(`https://x.com/lena_buys/status/${LEAD_A.id}`);
    await card.getByLabel('Customer type').selectOption('b2b');
    await card.getByLabel('Company (B2B)').fill('Lena Widgets Ltd');
    await card.getByLabel('Estimated value').fill('5000');
    await card.getByRole('button', { name: 'Qualify', exact: true }).click();
    await flash(`Lead ${leadId} qualified`);
    const opps = await api('/api/opportunities');
    expect(opps.body).toContainEqual(expect.objectContaining({ leadId, estimatedValue: 5000, status: 'open' }));
    const [row] = await sql()<{ status: string; account: string }[]>`
      select l.status, a.name as account from leads l join accounts a on a.id = l.account_id where l.id = ${leadId}`;
    expect(row).toEqual({ status: 'qualified', account: 'Lena Widgets Ltd' });
    expect(await page.locator(`#lead-${leadId}`).count()).toBe(0);
  });

  it('disqualifies a lead from its detail page, with a reason', async () => {
    const leadId = (await capture(LEAD_B)).get(LEAD_B.id)!.leadId!;
    await page.goto(`${svc.base}/leads/${leadId}`);
    await page.getByRole('heading', { level: 1, name: `Lead ${leadId}` }).waitFor();
    await shot('lead');
    await page.getByLabel('Reason').selectOption('no_fit');
    await page.getByRole('button', { name: 'Disqualify' }).click();
    await flash(`Lead ${leadId} disqualified`);
    const [row] = await sql()<{ status: string; reason: string }[]>`select status, disqualify_reason as reason from leads where id = ${leadId}`;
    expect(row).toEqual({ status: 'disqualified', reason: 'no_fit' });
  });

  it('resolves a case from the queue and reopens it from its page', async () => {
    const caseId = (await capture(CASE_C)).get(CASE_C.id)!.caseId!;
    await page.goto(`${svc.base}/cases`);
    await shot('cases');
    const row = page.locator(`#case-${caseId}`);
    expect(await row.textContent()).toContain('left');
    await row.getByRole('button', { name: 'Resolve' }).click();
    await flash(`Case ${caseId} is now resolved`);
    const status = async () => (await sql()<{ status: string }[]>`select status from cases where id = ${caseId}`)[0]!.status;
    expect(await status()).toBe('resolved');
    await page.goto(`${svc.base}/cases/${caseId}`);
    await page.getByRole('heading', { level: 1, name: `Case ${caseId}` }).waitFor();
    await shot('case');
    await page.getByRole('button', { name: 'Reopen' }).click();
    await flash(`Case ${caseId} is now in progress`);
    expect(await status()).toBe('in_progress');
  });

  it('merges two contacts from a suggestion and undoes the merge', async () => {
    const posts = await capture(CASE_C, CASE_D);
    const [a, b] = [posts.get(CASE_C.id)!.contactId!, posts.get(CASE_D.id)!.contactId!].sort((x, y) => x - y) as [number, number];
    await page.goto(`${svc.base}/contacts`);
    await shot('contacts');
    await page.locator(`#suggestion-${a}-${b}`).getByRole('button', { name: 'Merge' }).click();
    await flash(`Contact ${b} merged into contact ${a}`);
    const [merge] = await sql()<
      { id: number; undone: boolean }[]
    >`select id, undone_at is not null as undone from contact_merges where survivor_id = ${a} and merged_id = ${b}`;
    expect(merge!.undone).toBe(false);
    const mergedInto = async () => (await sql()<{ m: number | null }[]>`select merged_into_id as m from contacts where id = ${b}`)[0]!.m;
    expect(await mergedInto()).toBe(a);
    await page.locator(`#merge-${merge!.id}`).getByRole('button', { name: 'Undo' }).click();
    await flash(`Merge ${merge!.id} undone`);
    expect(await mergedInto()).toBeNull();
    const [after] = await sql()<{ undone: boolean }[]>`select undone_at is not null as undone from contact_merges where id = ${merge!.id}`;
    expect(after!.undone).toBe(true);
  });

  it('edits a rule with errors shown as typed, tries a text, backtests, publishes (the next post is decided by it) and rolls back', async () => {
    await page.goto(`${svc.base}/rules`);
    const editor = page.getByLabel('Ruleset (YAML)');
    await editor.fill(V2.replace('weight: 2, any: ["upgrade my plan"]', 'weight: heavy, any: ["upgrade my plan"]'));
    await page.locator('#problems li').filter({ hasText: 'rule "upgrade" (#3) · field "weight"' }).waitFor();
    await editor.fill(V2);
    await page
      .locator('#problems')
      .filter({ hasText: `valid: version ${V2_VERSION}` })
      .waitFor();

    await page.getByLabel('Try a text with the draft').fill('please upgrade my plan today');
    await page.getByRole('button', { name: 'Try' }).click();
    await page.getByRole('heading', { name: 'Decision trace' }).waitFor();
    expect(await page.locator('#trace-h + p').textContent()).toContain('Label lead');

    await page.getByLabel('Days of stored posts').fill('7');
    await page.getByRole('button', { name: 'Backtest' }).click();
    await page.getByRole('heading', { name: 'Backtest', exact: true }).waitFor();
    const expected = await api('/api/rules/backtest', { yaml: V2, days: 7 });
    expect(expected.body.changed).toBeGreaterThan(0);
    expect(await page.locator('#bt-summary strong').textContent()).toBe(String(expected.body.changed));
    const changed = page.locator('tr', { hasText: 'charged twice' });
    expect(await changed.locator('td').nth(1).textContent()).toBe('case → none');
    expect(await changed.locator('code.gone').textContent()).toBe('refund');
    await shot('rules');

    await page.getByRole('button', { name: 'Publish' }).click();
    await flash(`Published ${V2_VERSION}`);
    const [published] = await sql()<{ version: string; by: string }[]>`select version, published_by as by from ruleset_versions order by id desc limit 1`;
    expect(published).toEqual({ version: V2_VERSION, by: 'Anna Ops' });
    await rulesReloadedTo(V2_VERSION);
    const next = post('time to upgrade my plan', { id: '4001', handle: 'upgrader' });
    expect((await capture(next)).get(next.id)).toMatchObject({ label: 'lead', rulesetVersion: V2_VERSION });

    await page.locator('tr', { hasText: V1_VERSION }).getByRole('button', { name: 'Roll back' }).click();
    await flash(`Rolled back to ${V1_VERSION}`);
    const [rolled] = await sql()<{ version: string }[]>`select version from ruleset_versions order by id desc limit 1`;
    expect(rolled!.version).toBe(V1_VERSION);
    await rulesReloadedTo(V1_VERSION);
    const after = post('will upgrade my plan later', { id: '4002', handle: 'upgrader2' });
    expect((await capture(after)).get(after.id)).toMatchObject({ label: 'none', rulesetVersion: V1_VERSION });
    // The decision links to the version that made it.
    const leadId = (await capture(next)).get(next.id)!.leadId!;
    await page.goto(`${svc.base}/leads/${leadId}`);
    await page.getByRole('link', { name: V2_VERSION }).first().click();
    await page.getByRole('heading', { level: 1, name: `Ruleset ${V2_VERSION}` }).waitFor();
    expect(await page.locator('pre.yaml').textContent()).toBe(V2);
  });

  it('marks a wrong label on a post and the feedback row is stored, naming who', async () => {
    const p = (await capture(CASE_D)).get(CASE_D.id)!;
    await page.goto(`${svc.base}/cases/${p.caseId}`);
    const card = page.getByRole('article', { name: `Post ${p.id}` });
    await card.getByLabel('Correct label').selectOption('none');
    await card.getByLabel('Note').fill('a joke, not a refund request');
    await card.getByRole('button', { name: 'Wrong label' }).click();
    await flash(`post ${p.id} should be none`);
    const rows = await sql()<{ label: string; note: string; actor: string }[]>`select label::text, note, actor from label_feedback where post_id = ${p.id}`;
    expect(rows).toEqual([{ label: 'none', note: 'a joke, not a refund request', actor: 'Anna Ops' }]);
  });

  it('shows the sources with their health and retries a failing one now', async () => {
    const lastError = async () =>
      (
        await sql()<{ at: string | null }[]>`select to_char(last_error_at, 'YYYY-MM-DD HH24:MI:SS.US') as at from source_cursors where source_id = 'x-search'`
      )[0]?.at ?? null;
    const before = await waitFor(lastError, { what: 'the first failed poll' });
    await page.goto(`${svc.base}/sources`);
    await shot('sources');
    const row = page.locator('#source-x-search');
    expect(await row.textContent()).toContain('unhealthy');
    await row.getByRole('button', { name: 'Retry now' }).click();
    await flash('x-search: polling now');
    await waitFor(async () => ((await lastError()) ?? '') > before!, { what: 'a new poll of x-search' });
  });

  it('streams decisions as they happen and charts the last 7 days per hour', async () => {
    await page.goto(`${svc.base}/activity`);
    await page.locator('#live-state').filter({ hasText: 'Live' }).waitFor();
    const live = post('the outage is back again', { id: '5001', handle: 'live_one' });
    await capture(live);
    await page.locator('#live li').filter({ hasText: 'the outage is back again' }).waitFor({ timeout: 15_000 });
    await page.reload();
    const caption = await page.locator('figcaption', { hasText: 'twitter · case' }).textContent();
    const [n] = await sql()<
      { n: number }[]
    >`select count(*)::int as n from social_posts where platform = 'twitter' and label = 'case' and processed_at > now() - interval '7 days'`;
    expect(caption).toContain(`twitter · case: ${n!.n} in 7 days`);
    await shot('activity');
  });

  describe('hostile post text renders as inert text', () => {
    const inert = async (path: string) => {
      watch.dialogs.length = 0;
      watch.foreignRequests.length = 0;
      await page.goto(`${svc.base}${path}`);
      await page.waitForLoadState('load');
      expect(watch.dialogs).toEqual([]);
      expect(watch.foreignRequests).toEqual([]);
      expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    };
    const leadOf = async (p: ImportPost) => (await capture(p)).get(p.id)!.leadId!;

    it('<script>: shown as text, never run', async () => {
      const id = await leadOf(HOSTILE.script);
      for (const path of ['/leads', `/leads/${id}`]) {
        await inert(path);
        expect(
          await page
            .locator(`${path === '/leads' ? `#lead-${id}` : 'main'} .post`)
            .first()
            .textContent(),
        ).toContain('<script>window.__pwned = 1; alert("xss")</script>');
        expect(await page.locator('main script').count()).toBe(0);
      }
    });

    it('<img onerror>: shown as text, no image requested', async () => {
      const id = await leadOf(HOSTILE.img);
      await inert('/leads');
      expect(await page.locator(`#lead-${id} .post`).textContent()).toContain('<img src=');
      expect(await page.locator('main img').count()).toBe(0);
      await inert(`/leads/${id}`);
      expect(await page.locator('main .post').first().textContent()).toContain('<img src="https://evil.example/p.png" onerror="window.__pwned = 1; alert(1)">');
      expect(await page.locator('main img').count()).toBe(0);
    });

    it('right-to-left override: shown as a visible mark inside an isolated span', async () => {
      const id = await leadOf(HOSTILE.rtl);
      await inert(`/leads/${id}`);
      const text = page.locator('main .post bdi.post-text').first();
      expect(await text.textContent()).toContain('[U+202E]gnp.exe[U+202C]');
      expect(await text.textContent()).not.toContain('\u202E');
      // what follows the post is laid out left to right as usual
      expect(
        await page
          .locator('main')
          .evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { direction: string } }).getComputedStyle(el).direction),
      ).toBe('ltr');
    });

    it('1 MB of text: cut in the list, the page stays usable', async () => {
      const id = await leadOf(HOSTILE.huge);
      await inert('/leads');
      expect(await page.locator(`#lead-${id} .more`).textContent()).toMatch(/more characters/);
      await inert(`/leads/${id}`);
      await page.getByRole('button', { name: 'Qualify', exact: true }).waitFor();
      const shown = await page.locator('main .post').first().textContent();
      expect(shown!.length).toBeLessThan(200_000);
      expect(shown).toContain('more characters');
    });
  });
});
