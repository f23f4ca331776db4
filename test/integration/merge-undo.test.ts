import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiServer } from '../../src/api/server.js';
import { forgetPerson } from '../../src/db/crm.repo.js';
import { silentLogger } from '../../src/logger.js';
import { closeTransport, openQueue, POSTS_QUEUE, type CaptureJobData, type Transport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport, testConfig } from '../support/services.js';

const TOKEN = 'merge-undo-token';

/** Issue 17, item 3: undoing merges out of order must refuse (409 naming the later merge), never claim success and move nothing. */
describe('merge undo out of order', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let app: ReturnType<typeof buildApiServer>;
  let seq = 0;

  beforeAll(async () => {
    db = await createTestDatabase('merge_undo');
    transport = createTestTransport('redis', db.url, 'merge_undo');
    const postsQueue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    app = buildApiServer({ sql: db.database.sql, postsQueue, config: { ...testConfig(), secrets: { apiToken: TOKEN } }, log: silentLogger, apiToken: TOKEN });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
  });

  const call = async (method: 'POST', url: string, payload?: object) => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() as Record<string, any> };
  };

  /** A person: a contact with one identity, one post and one open case. */
  async function person() {
    const sql = db.database.sql;
    const userId = `4${process.pid}${++seq}`;
    const [k] = await sql<{ id: number }[]>`insert into contacts (name) values (${`person ${seq}`}) returning id`;
    const [i] = await sql<{ id: number }[]>`
      insert into identities (platform, external_user_id, handle, contact_id) values ('twitter', ${userId}, ${`p${seq}`}, ${k!.id}) returning id`;
    const [c] = await sql<{ id: number }[]>`
      insert into cases (contact_id, title, origin, resolve_by, ruleset_version, rules) values (${k!.id}, 'broken', 'twitter', now() + interval '1 day', 't', '[]') returning id`;
    await sql`
      insert into social_posts (platform, external_id, source_id, identity_id, author_external_id, text, payload, status, contact_id, case_id)
      values ('twitter', ${`9${process.pid}${seq}`}, 'test', ${i!.id}, ${userId}, 'broken', '{}', 'processed', ${k!.id}, ${c!.id})`;
    return { contactId: k!.id, identityId: i!.id, caseId: c!.id, userId };
  }

  const ownerOf = async (table: 'identities' | 'cases', id: number) => {
    const [r] = await db.database.sql<{ c: number }[]>`select contact_id as c from ${db.database.sql(table)} where id = ${id}`;
    return r!.c;
  };

  it('merge 9 into 7, then 7 into 11: undoing the first is 409 naming the second; in order, both undo exactly', async () => {
    const p7 = await person();
    const p9 = await person();
    const p11 = await person();
    const first = await call('POST', '/api/merges', { survivorId: p7.contactId, mergedId: p9.contactId });
    expect(first.status).toBe(200);
    const second = await call('POST', '/api/merges', { survivorId: p11.contactId, mergedId: p7.contactId });
    expect(second.status).toBe(200);
    expect(await ownerOf('identities', p9.identityId)).toBe(p11.contactId);

    const refused = await call('POST', `/api/merges/${first.body.mergeId}/undo`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toContain(`undo merge ${second.body.mergeId} first`);
    // nothing moved and the merge is still in force
    expect(await ownerOf('identities', p9.identityId)).toBe(p11.contactId);
    const [m] = await db.database.sql<{ undone: boolean }[]>`select undone_at is not null as undone from contact_merges where id = ${first.body.mergeId}`;
    expect(m!.undone).toBe(false);

    expect((await call('POST', `/api/merges/${second.body.mergeId}/undo`)).status).toBe(200);
    expect((await call('POST', `/api/merges/${first.body.mergeId}/undo`)).status).toBe(200);
    for (const p of [p7, p9, p11]) {
      expect(await ownerOf('identities', p.identityId)).toBe(p.contactId);
      expect(await ownerOf('cases', p.caseId)).toBe(p.contactId);
    }
    // erasing person 9 now erases person 9 only
    await forgetPerson(db.database.sql, 'twitter', p9.userId, 'anonymize');
    const live = await db.database.sql<
      { id: number }[]
    >`select id from contacts where erased_at is null and id = any(${[p7.contactId, p9.contactId, p11.contactId]}) order by id`;
    expect(live.map((r) => r.id)).toEqual([p7.contactId, p11.contactId]);
  });

  it('refuses when a moved row left the survivor by other means', async () => {
    const a = await person();
    const b = await person();
    const other = await person();
    const m = await call('POST', '/api/merges', { survivorId: a.contactId, mergedId: b.contactId });
    await db.database.sql`update cases set contact_id = ${other.contactId} where id = ${b.caseId}`;
    const refused = await call('POST', `/api/merges/${m.body.mergeId}/undo`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/1 of the cases it moved no longer belong/);
    expect(await ownerOf('identities', b.identityId)).toBe(a.contactId);
  });
});
