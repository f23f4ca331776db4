import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetPerson, mergeContacts } from '../../src/db/crm.repo.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { silentLogger } from '../../src/logger.js';
import type { SocialPost } from '../../src/types.js';
import { startService, type Service } from '../../src/service.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport, type Transport } from '../../src/workers/queues.js';
import { runCli } from '../support/cli.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, createTestTransport, TEST_RULES, testConfig, TRANSPORTS, waitFor } from '../support/services.js';

const TOKEN = 'read-model-token';

/**
 * Every listing, on both transports: the CLI's `--json` and the API's answer are the same records,
 * and both agree with a direct SQL query over the tables (issue 17, item 1).
 */
describe.each(TRANSPORTS)('listings agree with the database (%s transport)', (kind) => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let service: Service;
  let base: string;
  const cli = (...argv: string[]) => runCli({ DATABASE_URL: db.url, CAPTURE_CONFIG: 'capture.config.yaml' }, ...argv, '--json');

  async function api(path: string) {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>[];
  }

  async function capture(posts: SocialPost[]) {
    const stored = await storePage(db.database.sql, 'read-model-test', posts, null);
    await enqueuePosts(service.postsQueue, stored.inserted, 3);
    await waitFor(
      async () => {
        const [r] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where status = 'pending'`;
        return r!.n === 0;
      },
      { what: 'posts decided' },
    );
  }

  beforeAll(async () => {
    db = await createTestDatabase(`read_${kind}`);
    transport = createTestTransport(kind, db.url, `read_${kind}`);
    const config = { ...testConfig(), port: 0, secrets: { apiToken: TOKEN } };
    service = await startService({ config, database: db.database, transport, ruleset: TEST_RULES, log: silentLogger, role: 'all' });
    base = service.api!.url.replace('0.0.0.0', '127.0.0.1');
    // Eight people: leads, cases, both, chatter; then a merge and an erasure hide two contacts.
    const people = Array.from({ length: 8 }, (_, i) => `77${process.pid}${kind.length}${String(i).padStart(4, '0')}`);
    const posts = people.flatMap((authorId, i) => [
      makePost({ authorId, text: i % 2 === 0 ? 'how much is the pro plan' : 'the app is not working again' }),
      ...(i % 3 === 0 ? [makePost({ authorId, text: 'charged twice, I want a refund' })] : []),
      makePost({ authorId, text: 'nice weather today' }),
    ]);
    await capture(posts);
    const contactOf = async (authorId: string) => {
      const [r] = await db.database.sql<{ c: number }[]>`select contact_id as c from identities where external_user_id = ${authorId}`;
      return r!.c;
    };
    // person 1 has a case only, person 2 a lead only: they can merge.
    await mergeContacts(db.database.sql, await contactOf(people[2]!), await contactOf(people[1]!));
    await forgetPerson(db.database.sql, 'twitter', people[5]!, 'anonymize');
  });
  afterAll(async () => {
    await service?.close();
    if (transport) await closeTransport(transport);
    await db?.drop();
  });

  it('contacts: CLI = API = SQL; erased and merged contacts are hidden, identities and open counts are their own', async () => {
    const fromCli = await cli('contacts');
    expect(fromCli.code).toBe(0);
    const cliRows = JSON.parse(fromCli.stdout) as Record<string, unknown>[];
    const apiRows = await api('/api/contacts');
    expect(cliRows).toEqual(apiRows);
    const truth = await db.database.sql<{ id: number; identities: number[]; openLeads: number; openCases: number }[]>`
      select k.id,
             array(select i.id from identities i where i.contact_id = k.id order by i.id)::int[] as identities,
             (select count(*) from leads l where l.contact_id = k.id and l.status = 'open')::int as "openLeads",
             (select count(*) from cases c where c.contact_id = k.id and c.status in ('new', 'in_progress'))::int as "openCases"
      from contacts k where k.erased_at is null and k.merged_into_id is null order by k.id desc`;
    expect(truth.length).toBe(6); // eight people, one merged away, one erased
    expect(
      cliRows.map((r) => ({
        id: r.id,
        identities: (r.identities as { id: number }[]).map((i) => i.id),
        openLeads: r.openLeads,
        openCases: r.openCases,
      })),
    ).toEqual(truth.map((t) => ({ ...t })));
    // the survivor of the merge carries both people's identities
    expect(truth.some((t) => t.identities.length === 2)).toBe(true);

    const merged = JSON.parse((await cli('contacts', '--include-merged')).stdout) as { id: number; mergedIntoId: number | null }[];
    expect(merged).toEqual(await api('/api/contacts?includeMerged=true'));
    const [n] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from contacts where erased_at is null`;
    expect(merged.length).toBe(n!.n);
  });

  it('leads: CLI = API = SQL, with filters', async () => {
    for (const [flags, query, where] of [
      [[], '', db.database.sql`true`],
      [['--status', 'open'], '?status=open', db.database.sql`l.status = 'open'`],
    ] as const) {
      const cliRows = JSON.parse((await cli('leads', ...flags)).stdout) as Record<string, unknown>[];
      expect(cliRows).toEqual(await api(`/api/leads${query}`));
      const truth = await db.database.sql<{ id: number; contactId: number; posts: number }[]>`
        select l.id, l.contact_id as "contactId", (select count(*) from social_posts p where p.lead_id = l.id)::int as posts
        from leads l where ${where} order by l.id desc`;
      expect(truth.length).toBeGreaterThan(0);
      expect(cliRows.map((r) => ({ id: r.id, contactId: r.contactId, posts: r.posts }))).toEqual(truth.map((t) => ({ ...t })));
    }
  });

  it('cases: CLI = API = SQL, with filters', async () => {
    for (const [flags, query, where] of [
      [[], '', db.database.sql`true`],
      [['--priority', 'high'], '?priority=high', db.database.sql`c.priority = 'high'`],
    ] as const) {
      const cliRows = JSON.parse((await cli('cases', ...flags)).stdout) as Record<string, unknown>[];
      expect(cliRows).toEqual(await api(`/api/cases${query}`));
      const truth = await db.database.sql<{ id: number; contactId: number; posts: number; priority: string }[]>`
        select c.id, c.contact_id as "contactId", (select count(*) from social_posts p where p.case_id = c.id)::int as posts, c.priority::text
        from cases c where ${where} order by c.id desc`;
      expect(truth.length).toBeGreaterThan(0);
      expect(cliRows.map((r) => ({ id: r.id, contactId: r.contactId, posts: r.posts, priority: r.priority }))).toEqual(truth.map((t) => ({ ...t })));
    }
  });

  it('posts: CLI = API = SQL, with filters and a limit', async () => {
    for (const [flags, query, where, limit] of [
      [['--limit', '5'], '?limit=5', db.database.sql`true`, 5],
      [['--label', 'lead'], '?label=lead', db.database.sql`p.label = 'lead'`, 50],
    ] as const) {
      const cliRows = JSON.parse((await cli('posts', ...flags)).stdout) as Record<string, unknown>[];
      expect(cliRows).toEqual(await api(`/api/posts${query}`));
      const truth = await db.database.sql<{ id: number; status: string; label: string | null }[]>`
        select p.id, p.status::text, p.label::text from social_posts p where ${where} order by p.id desc limit ${limit}`;
      expect(truth.length).toBeGreaterThan(0);
      expect(cliRows.map((r) => ({ id: r.id, status: r.status, label: r.label }))).toEqual(truth.map((t) => ({ ...t })));
    }
  });
});
