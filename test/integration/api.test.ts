import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storePage } from '../../src/db/inbox.repo.js';
import { silentLogger } from '../../src/logger.js';
import type { SocialPost } from '../../src/types.js';
import { startService, type Service } from '../../src/service.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport, type Transport } from '../../src/workers/queues.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig, waitFor } from '../support/services.js';

const TOKEN = 'test-api-token-7';

describe('the CRM API over HTTP', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase('api');
    transport = createTestTransport('redis', db.url, 'api');
    const config = {
      ...testConfig(),
      port: 0,
      secrets: { apiToken: TOKEN },
      ownAccounts: { twitter: ['@AcmeSupport', 'acme'], facebook: ['1122334455'] },
    };
    service = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: silentLogger, role: 'all' });
    base = service.api!.url.replace('0.0.0.0', '127.0.0.1');
  });
  afterAll(async () => {
    await service?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
  });

  async function api(method: string, path: string, body?: unknown, token: string | null = TOKEN) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
  }

  /** Store posts as a poll would, enqueue them and wait until capture decided them. */
  async function capture(...posts: SocialPost[]) {
    const stored = await storePage(db.database.sql, 'api-test', posts, null);
    await enqueuePosts(service.postsQueue, stored.inserted, 3);
    const rows = await waitFor(
      async () => {
        const rows = await db.database.sql<{ externalId: string; leadId: number | null; caseId: number | null; contactId: number | null; status: string }[]>`
          select external_id as "externalId", lead_id as "leadId", case_id as "caseId", contact_id as "contactId", status
          from social_posts where external_id = any(${posts.map((p) => p.id)})`;
        return rows.length === posts.length && rows.every((r) => r.status !== 'pending') ? rows : null;
      },
      { what: 'posts decided' },
    );
    return rows!;
  }

  let authorSeq = 0;
  /** A fresh author id: each test's people are its own. */
  const newAuthor = () => `55${process.pid}${String(++authorSeq).padStart(6, '0')}`;

  async function leadFrom(text: string, authorId?: string) {
    const [row] = await capture(makePost({ text, ...(authorId ? { authorId } : {}) }));
    expect(row!.leadId).not.toBeNull();
    return { leadId: row!.leadId!, contactId: row!.contactId! };
  }

  async function caseFrom(text: string, authorId?: string) {
    const [row] = await capture(makePost({ text, ...(authorId ? { authorId } : {}) }));
    expect(row!.caseId).not.toBeNull();
    return { caseId: row!.caseId!, contactId: row!.contactId! };
  }

  describe('auth', () => {
    it.each([
      ['no token', null],
      ['a wrong token', 'not-the-token'],
      ['a token one character short', TOKEN.slice(0, -1)],
    ])('refuses /api with %s (401)', async (_label, token) => {
      const res = await api('GET', '/api/leads', undefined, token);
      expect(res.status).toBe(401);
      expect(res.body!.error).toMatch(/token/);
    });

    it('serves /healthz, /metrics and /openapi.json without a token', async () => {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/# TYPE capture_posts_decided_total counter/);
      const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.paths['/api/leads/{id}/qualify']?.post).toBeDefined();
      expect(doc.paths['/api/cases/{id}/resolve']?.post).toBeDefined();
    });
  });

  describe('leads', () => {
    it('qualifies a B2B lead: account created and linked, contact linked, opportunity created; a second qualify is 409', async () => {
      const { leadId, contactId } = await leadFrom('how much is the enterprise plan for 40 seats?');
      const q = await api('POST', `/api/leads/${leadId}/qualify`, { account: { name: 'Globex Corp' }, opportunity: { estimatedValue: 12000 } });
      expect(q.status).toBe(200);
      expect(q.body!.status).toBe('qualified');
      expect(q.body!.contactId).toBe(contactId);
      expect(q.body!.opportunity).toMatchObject({ leadId, contactId, status: 'open', estimatedValue: 12000 });
      const account = (await api('GET', `/api/accounts/${q.body!.accountId}`)).body!;
      expect(account).toMatchObject({ name: 'Globex Corp', relationship: 'prospect' });
      expect((await api('GET', `/api/contacts/${contactId}`)).body!.accountId).toBe(account.id);
      expect((await api('GET', `/api/leads/${leadId}`)).body).toMatchObject({ status: 'qualified', source: 'twitter', opportunityId: q.body!.opportunity.id });

      const again = await api('POST', `/api/leads/${leadId}/qualify`, {});
      expect(again.status).toBe(409);
      expect(again.body!.error).toBe(`lead ${leadId} is qualified: only an open lead can be qualified`);
      const dq = await api('POST', `/api/leads/${leadId}/disqualify`, { reason: 'junk' });
      expect(dq.status).toBe(409);
    });

    it('links an existing account by name (any case) instead of creating a second one', async () => {
      const first = await leadFrom('can I get a demo next week?');
      const second = await leadFrom('price for the pro plan please');
      const a = await api('POST', `/api/leads/${first.leadId}/qualify`, { account: { name: 'Initech' } });
      const b = await api('POST', `/api/leads/${second.leadId}/qualify`, { account: { name: 'INITECH' } });
      expect(a.status).toBe(200);
      expect(b.body!.accountId).toBe(a.body!.accountId);
    });

    it('qualifies a B2C lead with a contact and an opportunity only, and links an existing contact by e-mail', async () => {
      const known = await leadFrom('how much does shipping cost?');
      await api('POST', `/api/leads/${known.leadId}/qualify`, { contact: { email: 'pat@example.com' } });
      const { leadId } = await leadFrom('thinking to switch to you, price?');
      const q = await api('POST', `/api/leads/${leadId}/qualify`, { contact: { email: 'PAT@example.com' } });
      expect(q.status).toBe(200);
      expect(q.body!.accountId).toBeNull();
      expect(q.body!.contactId).toBe(known.contactId);
      expect(q.body!.opportunity.accountId).toBeNull();
      const [n] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from contacts where lower(email) = 'pat@example.com'`;
      expect(n!.n).toBe(1);
    });

    it('disqualifies an open lead with a reason; qualifying it afterwards is 409', async () => {
      const { leadId } = await leadFrom('demo for my team?');
      const dq = await api('POST', `/api/leads/${leadId}/disqualify`, { reason: 'no_fit' });
      expect(dq.status).toBe(200);
      expect((await api('GET', `/api/leads/${leadId}`)).body).toMatchObject({ status: 'disqualified', disqualifyReason: 'no_fit' });
      const q = await api('POST', `/api/leads/${leadId}/qualify`, {});
      expect(q.status).toBe(409);
      expect(q.body!.error).toMatch(/is disqualified/);
    });

    it.each([
      ['a missing reason', {}, /reason/],
      ['an unknown reason', { reason: 'bored' }, /reason/],
      ['an unknown field', { reason: 'junk', because: 'x' }, /because|additional/],
    ])('rejects a disqualify with %s (400 naming the field)', async (_label, body, field) => {
      const { leadId } = await leadFrom('how much for 3 licenses?');
      const res = await api('POST', `/api/leads/${leadId}/disqualify`, body);
      expect(res.status).toBe(400);
      expect(res.body!.error).toMatch(field);
    });

    it('rejects a bad id and a bad e-mail with 400, and an unknown lead with 404', async () => {
      expect((await api('GET', '/api/leads/abc')).status).toBe(400);
      const bad = await api('POST', '/api/leads/1/qualify', { contact: { email: 'not an email' } });
      expect(bad.status).toBe(400);
      expect(bad.body!.error).toMatch(/email/);
      expect((await api('POST', '/api/leads/999999/qualify', {})).status).toBe(404);
    });

    it('two concurrent qualifies of one lead produce one opportunity', async () => {
      for (let round = 0; round < 5; round++) {
        const { leadId } = await leadFrom(`what is the price for ${round + 2} seats?`);
        const results = await Promise.all(Array.from({ length: 2 }, () => api('POST', `/api/leads/${leadId}/qualify`, { account: { name: `Race ${round}` } })));
        expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
        const [n] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from opportunities where lead_id = ${leadId}`;
        expect(n!.n).toBe(1);
      }
    });
  });

  describe('opportunities', () => {
    async function opportunity(account: string) {
      const { leadId } = await leadFrom('how much for the annual plan?');
      const q = await api('POST', `/api/leads/${leadId}/qualify`, { account: { name: account }, opportunity: { estimatedValue: 500 } });
      return { oppId: q.body!.opportunity.id as number, accountId: q.body!.accountId as number };
    }

    it('winning makes a prospect account a customer; winning or losing again is 409', async () => {
      const { oppId, accountId } = await opportunity('Umbrella');
      const won = await api('POST', `/api/opportunities/${oppId}/win`, { actualValue: 650 });
      expect(won.status).toBe(200);
      expect(won.body).toMatchObject({ status: 'won', estimatedValue: 650 });
      expect((await api('GET', `/api/accounts/${accountId}`)).body!.relationship).toBe('customer');
      for (const action of ['win', 'lose']) {
        const again = await api('POST', `/api/opportunities/${oppId}/${action}`, {});
        expect(again.status).toBe(409);
        expect(again.body!.error).toBe(`opportunity ${oppId} is already won: only an open opportunity can be won or lost`);
      }
    });

    it('losing records the reason and leaves the account a prospect', async () => {
      const { oppId, accountId } = await opportunity('Hooli');
      const lost = await api('POST', `/api/opportunities/${oppId}/lose`, { reason: 'went with a competitor' });
      expect(lost.body).toMatchObject({ status: 'lost', closeReason: 'went with a competitor' });
      expect((await api('GET', `/api/accounts/${accountId}`)).body!.relationship).toBe('prospect');
      expect((await api('POST', `/api/opportunities/${oppId}/win`, {})).status).toBe(409);
    });

    it('winning leaves a partner a partner', async () => {
      const { oppId, accountId } = await opportunity('Partner Co');
      await api('PUT', `/api/accounts/${accountId}/relationship`, { relationship: 'partner' });
      await api('POST', `/api/opportunities/${oppId}/win`, {});
      expect((await api('GET', `/api/accounts/${accountId}`)).body!.relationship).toBe('partner');
    });
  });

  describe('cases', () => {
    it.each([
      ['start', 'new', 200, 'in_progress'],
      ['resolve', 'new', 200, 'resolved'],
      ['cancel', 'new', 200, 'cancelled'],
      ['resolve', 'in_progress', 200, 'resolved'],
      ['cancel', 'in_progress', 200, 'cancelled'],
      ['start', 'in_progress', 409, /case \d+ is in_progress: only a new case can be started/],
      ['start', 'resolved', 409, /is resolved: only a new case can be started/],
      ['resolve', 'resolved', 409, /is resolved: only a new or in-progress case can be resolved/],
      ['cancel', 'resolved', 409, /is resolved: only a new or in-progress case can be cancelled/],
      ['start', 'cancelled', 409, /is cancelled/],
      ['resolve', 'cancelled', 409, /is cancelled/],
      ['cancel', 'cancelled', 409, /is cancelled/],
    ] as const)('%s on a %s case → %s', async (action, from, status, expected) => {
      const { caseId } = await caseFrom('my internet is not working again');
      const path: Record<string, string[]> = { new: [], in_progress: ['start'], resolved: ['resolve'], cancelled: ['cancel'] };
      for (const step of path[from]!) expect((await api('POST', `/api/cases/${caseId}/${step}`)).status).toBe(200);
      const res = await api('POST', `/api/cases/${caseId}/${action}`);
      expect(res.status).toBe(status);
      if (status === 200) {
        expect(res.body!.status).toBe(expected);
        if (expected === 'resolved') expect(new Date(res.body!.resolvedAt).toISOString()).toBe(res.body!.resolvedAt.replace(/(\.\d{3})\d*Z$/, '$1Z'));
      } else expect(res.body!.error).toMatch(expected);
    });

    it("shows a case with its origin, posts, time left and the customer's other recent cases", async () => {
      const author = '777000000000000001';
      const first = await caseFrom('I was charged twice this month', author);
      await api('POST', `/api/cases/${first.caseId}/cancel`);
      const [row] = await capture(makePost({ text: 'the app is down again', authorId: author }));
      const res = await api('GET', `/api/cases/${row!.caseId}`);
      expect(res.body).toMatchObject({ origin: 'twitter', status: 'new' });
      expect(res.body!.msToResolveBy).toBeGreaterThan(0);
      expect(res.body!.postList).toHaveLength(1);
      expect(res.body!.postList[0].decision.rules[0].id).toBe('outage');
      expect(res.body!.otherRecentCases.map((c: { id: number }) => c.id)).toEqual([first.caseId]);
    });

    it('lists cases and posts by filter', async () => {
      await caseFrom('refund please, charged twice');
      const cases = await api('GET', '/api/cases?status=new&origin=twitter&limit=5');
      expect(cases.status).toBe(200);
      expect(cases.body!.length).toBeGreaterThan(0);
      expect((cases.body as unknown as { status: string }[]).every((c) => c.status === 'new')).toBe(true);
      const posts = await api('GET', '/api/posts?label=case&limit=3');
      expect((posts.body as unknown as { label: string; decision: unknown }[]).every((p) => p.label === 'case' && p.decision)).toBe(true);
      expect((await api('GET', '/api/cases?status=open')).status).toBe(400);
    });
  });

  describe('capture: reopen window, priority at creation, suppression', () => {
    const caseOf = async (id: number) => (await api('GET', `/api/cases/${id}`)).body!;

    it('reopens a case resolved within the reopen window; after the window a new case opens', async () => {
      const author = newAuthor();
      const { caseId } = await caseFrom('my router is not working', author);
      expect((await api('POST', `/api/cases/${caseId}/resolve`)).status).toBe(200);

      const [again] = await capture(makePost({ text: 'it is down again, not working', authorId: author }));
      expect(again!.caseId).toBe(caseId);
      expect(await caseOf(caseId)).toMatchObject({ status: 'in_progress', reopenCount: 1, resolvedAt: null, posts: 2 });

      expect((await api('POST', `/api/cases/${caseId}/resolve`)).status).toBe(200);
      // Four days ago, past the three-day window of testConfig.
      await db.database.sql`update cases set resolved_at = now() - interval '4 days' where id = ${caseId}`;
      const [later] = await capture(makePost({ text: 'refund please, charged twice', authorId: author }));
      expect(later!.caseId).not.toBe(caseId);
      expect((await caseOf(caseId)).status).toBe('resolved');
      expect((await caseOf(later!.caseId!)).status).toBe('new');
    });

    it('never reopens a cancelled case', async () => {
      const author = newAuthor();
      const { caseId } = await caseFrom('outage at our office', author);
      await api('POST', `/api/cases/${caseId}/cancel`);
      const [again] = await capture(makePost({ text: 'outage again', authorId: author }));
      expect(again!.caseId).not.toBe(caseId);
    });

    /** A contact (made by a lead post), optionally under an account with a relationship and an entitlement. */
    async function customer(relationship: 'prospect' | 'customer' | 'partner' | null, entitlement: 'account' | 'contact' | 'expired' | null) {
      const author = newAuthor();
      const { contactId } = await leadFrom('can I see a demo?', author);
      if (relationship) {
        const acct = await api('POST', '/api/accounts', { name: `Acct ${author}`, relationship });
        expect(acct.status).toBe(201);
        expect((await api('PUT', `/api/contacts/${contactId}/account`, { accountId: acct.body!.id })).status).toBe(200);
        if (entitlement === 'account') expect((await api('POST', '/api/entitlements', { accountId: acct.body!.id, name: 'Gold' })).status).toBe(201);
      }
      if (entitlement === 'contact') await api('POST', '/api/entitlements', { contactId, name: 'Premier' });
      if (entitlement === 'expired')
        await api('POST', '/api/entitlements', { contactId, name: 'Old', endsAt: new Date(Date.now() - 86_400_000).toISOString() });
      return author;
    }

    it.each([
      ['no account', null, null, 'refund please', 'normal', /^default priority: normal$/],
      ['a prospect', 'prospect', null, 'refund please', 'normal', /^default priority: normal$/],
      ['a customer', 'customer', null, 'refund please', 'high', /customer account \+1 → high/],
      ['a partner', 'partner', null, 'refund please', 'high', /partner account \+1/],
      ['a prospect with an account entitlement', 'prospect', 'account', 'refund please', 'high', /entitlement "Gold" \+1/],
      ['a contact entitlement', null, 'contact', 'refund please', 'high', /entitlement "Premier" \+1/],
      ['an expired entitlement', null, 'expired', 'refund please', 'normal', /^default priority: normal$/],
      ['a customer with an entitlement', 'customer', 'account', 'refund please', 'urgent', /customer account \+1; entitlement "Gold" \+1 → urgent/],
      ['a customer, high rule', 'customer', null, 'the service is not working', 'urgent', /^rule outage: high; customer account \+1 → urgent$/],
    ] as const)('sets the priority of a new case from %s', async (_label, relationship, entitlement, text, priority, reason) => {
      const author = await customer(relationship, entitlement);
      const { caseId } = await caseFrom(text, author);
      const c = await caseOf(caseId);
      expect(c.priority).toBe(priority);
      expect(c.priorityReason).toMatch(reason);
      expect(c.entitlements.length).toBe(entitlement === 'account' || entitlement === 'contact' ? 1 : 0);
    });

    it('raises the priority of a contact with two other cases open', async () => {
      const author = newAuthor();
      const first = await caseFrom('refund please', author);
      // Another open case on Facebook needs the contact to own a Facebook identity: merge it in.
      const [fb] = await capture(makePost({ platform: 'facebook', id: `${Date.now()}1`, text: 'charged twice', authorId: `9${author}` }));
      await api('POST', '/api/merges', { survivorId: first.contactId, mergedId: fb!.contactId });
      // Past the attach window, so the next problem post opens a third case rather than joining the first.
      await db.database.sql`update cases set last_activity_at = now() - interval '8 days' where id = ${first.caseId}`;
      const { caseId } = await caseFrom('refund please', author);
      expect(caseId).not.toBe(first.caseId);
      const c = await caseOf(caseId);
      expect(c).toMatchObject({ priority: 'high' });
      expect(c.priorityReason).toMatch(/2 other open cases \+1/);
    });

    it.each([
      ['an own handle, any case, with @', makePost({ text: 'our service is not working, we are on it', handle: 'acmesupport' }), 'own account'],
      ['an own handle', makePost({ text: 'price drop! how much? see the demo', handle: 'ACME' }), 'own account'],
      ['the own Page id', makePost({ platform: 'facebook', id: `${Date.now()}2`, text: 'outage notice: not working', authorId: '1122334455' }), 'own account'],
      ['a retweet', makePost({ text: 'RT @someone: my app is not working', retweet_of: '1800000000000000001' }), 'retweet'],
    ])('never makes a lead or case of a post by %s', async (_label, post, why) => {
      const [row] = await capture(post);
      expect(row).toMatchObject({ status: 'processed', leadId: null, caseId: null, contactId: null });
      const [p] = await db.database.sql<{ label: string; decision: { suppressed?: string } }[]>`
        select label, decision from social_posts where external_id = ${post.id}`;
      expect(p!.label).toBe('none');
      expect(p!.decision.suppressed).toBe(why);
    });
  });

  describe('identity: merge, undo, suggestions', () => {
    it('merges a contact into a chosen survivor (identities, posts, leads, cases move) and undoes it', async () => {
      const handle = `sam${newAuthor()}`;
      const [x] = await capture(makePost({ text: 'my app is not working', handle, authorId: newAuthor() }));
      const fbAuthor = newAuthor();
      const [fb] = await capture(makePost({ platform: 'facebook', id: `${Date.now()}3`, text: 'demo for my shop?', handle, authorId: fbAuthor }));
      const survivor = x!.contactId!;
      const merged = fb!.contactId!;
      expect(survivor).not.toBe(merged);

      const suggestions = (await api('GET', '/api/merge-suggestions')).body as unknown as { contactId: number; otherContactId: number; reason: string }[];
      expect(suggestions).toContainEqual(
        expect.objectContaining({ contactId: Math.min(survivor, merged), otherContactId: Math.max(survivor, merged), reason: 'same handle on two platforms' }),
      );
      // Listed, never applied: both contacts are still there.
      expect((await api('GET', `/api/contacts/${merged}`)).status).toBe(200);

      const m = await api('POST', '/api/merges', { survivorId: survivor, mergedId: merged });
      expect(m.status).toBe(200);
      const after = (await api('GET', `/api/contacts/${survivor}`)).body!;
      expect(after.identities.map((i: { platform: string }) => i.platform).sort()).toEqual(['facebook', 'twitter']);
      expect(after).toMatchObject({ openLeads: 1, openCases: 1 });
      expect((await api('GET', `/api/leads/${fb!.leadId}`)).body!.contactId).toBe(survivor);
      const [moved] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where contact_id = ${merged}`;
      expect(moved!.n).toBe(0);
      expect((await api('GET', '/api/contacts')).body!.map((c: { id: number }) => c.id)).not.toContain(merged);
      expect(
        (await api('GET', '/api/merge-suggestions')).body!.some(
          (g: { contactId: number; otherContactId: number }) => g.contactId === Math.min(survivor, merged) && g.otherContactId === Math.max(survivor, merged),
        ),
      ).toBe(false);
      // A new post by the merged identity lands on the survivor.
      const [next] = await capture(makePost({ platform: 'facebook', id: `${Date.now()}4`, text: 'refund please', handle, authorId: fbAuthor }));
      expect(next!.contactId).toBe(survivor);

      const again = await api('POST', '/api/merges', { survivorId: survivor, mergedId: merged });
      expect(again.status).toBe(409);
      expect(again.body!.error).toMatch(/already merged into contact/);

      const undo = await api('POST', `/api/merges/${m.body!.mergeId}/undo`);
      expect(undo.status).toBe(200);
      expect((await api('GET', `/api/contacts/${survivor}`)).body!.identities.map((i: { platform: string }) => i.platform)).toEqual(['twitter']);
      // The case the merged identity opened while merged stays with the survivor; what moved goes back.
      expect((await api('GET', `/api/contacts/${merged}`)).body).toMatchObject({ mergedIntoId: null, openLeads: 1 });
      expect((await api('GET', `/api/leads/${fb!.leadId}`)).body!.contactId).toBe(merged);
      expect((await api('GET', `/api/cases/${x!.caseId}`)).body!.contactId).toBe(survivor);
      expect((await api('POST', `/api/merges/${m.body!.mergeId}/undo`)).status).toBe(409);
    });

    it('refuses to merge a contact into itself, or two contacts that both have an open lead (409)', async () => {
      const a = await leadFrom('demo please');
      const b = await leadFrom('how much is it?');
      expect((await api('POST', '/api/merges', { survivorId: a.contactId, mergedId: a.contactId })).status).toBe(409);
      const both = await api('POST', '/api/merges', { survivorId: a.contactId, mergedId: b.contactId });
      expect(both.status).toBe(409);
      expect(both.body!.error).toMatch(/both have an open lead/);
      expect((await api('POST', '/api/merges', { survivorId: a.contactId })).body!.error).toMatch(/mergedId/);
    });

    it('suggests contacts with one e-mail (an imported author e-mail matching a known contact)', async () => {
      const known = await leadFrom('price list?');
      await api('POST', `/api/leads/${known.leadId}/qualify`, { contact: { email: `lee${known.contactId}@example.com` } });
      const post = makePost({ text: 'my order is not working' });
      const [row] = await capture({ ...post, author: { ...post.author, email: `other${known.contactId}@example.com` } });
      await db.database
        .sql`update social_posts set payload = jsonb_set(payload, '{author,email}', ${JSON.stringify(`LEE${known.contactId}@example.com`)}::jsonb) where external_id = ${post.id}`;
      const suggestions = (await api('GET', '/api/merge-suggestions')).body as unknown as { contactId: number; otherContactId: number; reason: string }[];
      expect(suggestions).toContainEqual(expect.objectContaining({ contactId: Math.min(known.contactId, row!.contactId!), reason: 'same e-mail' }));
    });
  });

  describe('erasure', () => {
    /** Every row of every table, as text: where a trace of the person would show. */
    async function everything(): Promise<string> {
      const tables = await db.database.sql<{ t: string }[]>`select table_name as t from information_schema.tables where table_schema = 'public'`;
      const dumps = await Promise.all(tables.map(({ t }) => db.database.sql<{ r: string }[]>`select row_to_json(x)::text as r from ${db.database.sql(t)} x`));
      return dumps
        .flat()
        .map((d) => d.r)
        .join('\n');
    }

    /** A person with a handle, a name, an e-mail, a case, a qualified lead and a reply from someone else on the case. */
    async function person(tag: string) {
      const authorId = newAuthor();
      const handle = `erase_me_${tag}_${authorId}`;
      const name = `Zelda Quux ${tag}`;
      const email = `zelda.${tag}.${authorId}@example.com`;
      const complaint = makePost({ text: `zq-${tag} my modem is not working`, authorId, handle });
      complaint.author.name = name;
      const [c] = await capture(complaint);
      const reply = makePost({ text: 'we are looking into it', in_reply_to: complaint.id, conversation_id: complaint.id });
      await capture(reply);
      const buying = makePost({ text: `zq-${tag} how much for the pro plan?`, authorId, handle });
      buying.author.name = name;
      const [l] = await capture(buying);
      await api('POST', `/api/leads/${l!.leadId}/qualify`, { contact: { email }, account: { name: `Erase Co ${tag}` } });
      const before = await everything();
      for (const trace of [handle, name, email, authorId, `zq-${tag}`]) expect(before).toContain(trace);
      return {
        authorId,
        handle,
        name,
        email,
        caseId: c!.caseId!,
        leadId: l!.leadId!,
        contactId: c!.contactId!,
        reply,
        traces: [handle, name, email, authorId, `zq-${tag}`],
      };
    }

    it('anonymizes: no trace of the person anywhere, their lead and case kept without them', async () => {
      const p = await person('anon');
      const res = await api('POST', '/api/erasures', { platform: 'twitter', userId: p.authorId, mode: 'anonymize' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ mode: 'anonymize', contacts: 1, identities: 1, posts: 2, leads: 1, cases: 1, opportunities: 1 });
      const after = await everything();
      for (const trace of p.traces) expect(after).not.toContain(trace);
      expect((await api('GET', `/api/cases/${p.caseId}`)).body).toMatchObject({ title: '(erased)', posts: 0, status: 'new' });
      expect((await api('GET', `/api/leads/${p.leadId}`)).body).toMatchObject({ subject: '(erased)', status: 'qualified' });
      expect((await api('GET', `/api/contacts/${p.contactId}`)).status).toBe(404);
      // The brand's reply is someone else's post: it stays.
      const [reply] = await db.database.sql`select id from social_posts where external_id = ${p.reply.id}`;
      expect(reply).toBeDefined();
      expect((await api('POST', '/api/erasures', { platform: 'twitter', userId: p.authorId })).status).toBe(404);
    });

    it('deletes: the lead, case and opportunity go too', async () => {
      const p = await person('del');
      const res = await api('POST', '/api/erasures', { platform: 'twitter', userId: p.authorId, mode: 'delete' });
      expect(res.body).toMatchObject({ mode: 'delete', contacts: 1, leads: 1, cases: 1 });
      const after = await everything();
      for (const trace of p.traces) expect(after).not.toContain(trace);
      expect((await api('GET', `/api/cases/${p.caseId}`)).status).toBe(404);
      expect((await api('GET', `/api/leads/${p.leadId}`)).status).toBe(404);
    });

    it('erases from the CLI: capture forget --platform --user-id --json, exit 0; 1 for nobody; 2 for bad usage', async () => {
      const p = await person('cli');
      const bin = join(import.meta.dirname, '../../bin/capture.js');
      const { DATABASE_URL: _d, ...env } = process.env;
      const run = (args: string[]) =>
        spawnSync(process.execPath, [bin, ...args], { env: { ...env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000 });
      const ok = run(['forget', '--platform', 'twitter', '--user-id', p.authorId, '--json']);
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ platform: 'twitter', posts: 2, identities: 1, contacts: 1 });
      const after = await everything();
      for (const trace of p.traces) expect(after).not.toContain(trace);
      const nobody = run(['forget', '--platform', 'twitter', '--user-id', p.authorId, '--json']);
      expect(nobody.status).toBe(1);
      expect(JSON.parse(nobody.stderr).error).toMatch(/no identity/);
      expect(run(['forget', '--platform', 'myspace', '--user-id', '1']).status).toBe(2);
    });
  });

  it('exposes per-source and per-label counts, queue depth and lag on /metrics', async () => {
    await caseFrom('the checkout is not working');
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const [counts] = await db.database.sql<{ processed: number; cases: number }[]>`
      select count(*) filter (where status = 'processed')::int as processed, count(*) filter (where label = 'case')::int as cases
      from social_posts where source_id = 'api-test'`;
    // Counters of this process's decisions: erased posts leave the inbox but stay counted.
    expect(value('capture_posts_decided_total{label="case"}')).toBeGreaterThanOrEqual(counts!.cases);
    expect(value('capture_posts_pending{source="api-test"}') || 0).toBe(0);
    expect(value('capture_queue_jobs{state="waiting"}')).toBe(0);
    expect(value('capture_lag_seconds')).toBe(0);
  });
});
