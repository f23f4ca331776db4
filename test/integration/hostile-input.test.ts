import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseImportLines } from '../../src/connectors/import.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { silentLogger } from '../../src/logger.js';
import { startService } from '../../src/service.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { closeTransport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport, testConfig, waitFor } from '../support/services.js';
import { parseRuleset } from '../../src/classifier/index.js';
import { readFileSync } from 'node:fs';

/**
 * 10,000 hostile import lines through the real path (import parser → inbox → queue → capture
 * worker → Postgres): no crash, every line either refused with its line number, or stored and then
 * processed or quarantined with a reason, and the counts add up.
 */
const N = 10_000;
let seq = 0;

/** `{"d":{"d":…"bottom"…}}` nested `depth` deep, as text (JSON.stringify itself would overflow). */
function nested(depth: number): string {
  return `${'{"d":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;
}

/** One hostile line: a valid post carrying something nasty, or a malformed one. */
function hostileLine(i: number): string {
  seq += 1;
  const id = (1_795_000_000_000_000_000n + BigInt(seq)).toString();
  const base = { platform: 'twitter', id, created_at: '2026-11-20T10:00:00Z', author: { id: `7${i % 500}`, handle: `h${i % 500}`, name: 'Hostile' } };
  switch (i % 16) {
    case 0:
      return JSON.stringify({ ...base, text: '' });
    case 1:
      return JSON.stringify({ ...base, text: i % 1600 === 1 ? 'refund '.repeat(150_000) : 'x'.repeat(5_000) }); // some of ~1 MB
    case 2:
      return JSON.stringify({ ...base, text: 'broken \ud800 surrogate and \udc00 too, not working' });
    case 3:
      return JSON.stringify({ ...base, text: 'nul\u0000byte in the middle of my refund request', author: { ...base.author, name: 'A\u0000B' } });
    case 4:
      return `${JSON.stringify({ ...base, text: 'deep' }).slice(0, -1)},"raw":${nested(i % 64 === 4 ? 100_000 : 50)}}`;
    case 5:
      return JSON.stringify({ ...base, author: undefined, text: 'no author here' }); // refused
    case 6:
      return `{"platform":"twitter","id":${id},"text":"numeric id","created_at":"2026-11-20T10:00:00Z","author":{"id":"1"}}`; // refused: id > 2^53 as a number
    case 7:
      return JSON.stringify({ ...base, text: `<script>alert('x')</script><img src=x onerror=alert(1)> how much?` });
    case 8:
      return JSON.stringify({ ...base, text: `'; DROP TABLE social_posts; -- my order never arrived` });
    case 9:
      return JSON.stringify({ ...base, text: '\u202Eتطبيقكم لا يعمل\u202C \u200B\u200C\u200D\uFEFF price?' });
    case 10:
      return '{"platform": "twitter", "id": "1", "text": '; // truncated JSON: refused
    case 11:
      return JSON.stringify({ ...base, platform: 'myspace', text: 'wrong platform' }); // refused
    case 12:
      return JSON.stringify({ ...base, created_at: 'yesterday', text: 'bad date' }); // refused
    case 13:
      return JSON.stringify({
        ...base,
        in_reply_to: '1795000000000000001',
        conversation_id: '1795000000000000001',
        text: 'reply into a thread: still not working',
      });
    case 14:
      return JSON.stringify({ ...base, text: '💥🔥😡 r3fund n0w!!! sooooo baaaad #NotWorking @brand' });
    default:
      return JSON.stringify(['an', 'array', 'not', 'a', 'post']); // refused
  }
}

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase('hostile');
});
afterAll(async () => {
  await db.drop();
});

it('10,000 hostile lines: no crash, each refused with its line, or processed or failed with a reason, and the counts add up', {
  timeout: 180_000,
}, async () => {
  const content = Array.from({ length: N }, (_, i) => hostileLine(i)).join('\n');
  const parsed = parseImportLines(content);
  expect(parsed.posts.length + parsed.errors.length).toBe(N);
  for (const e of parsed.errors) {
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.reason.length).toBeGreaterThan(0);
  }
  expect(parsed.errors.length).toBeGreaterThanOrEqual(5 * Math.floor(N / 16)); // cases 5, 6, 10, 11, 12, 15 are refused

  const transport = createTestTransport('redis', db.url, 'hostile');
  const service = await startService({
    config: testConfig({ concurrency: 64, batchSize: 32 }),
    database: db.database,
    transport,
    ruleset: parseRuleset(readFileSync('rules/default.yaml', 'utf8'), 'rules/default.yaml'),
    log: silentLogger,
    role: 'worker',
  });
  try {
    let stored = 0;
    for (let i = 0; i < parsed.posts.length; i += 500) {
      const page = parsed.posts.slice(i, i + 500).map((p) => p.post);
      const r = await storePage(db.database.sql, 'hostile', page, null);
      stored += r.inserted.length;
      await enqueuePosts(service.postsQueue, r.inserted, 2);
    }
    expect(stored).toBe(parsed.posts.length);
    const final = await waitFor(
      async () => {
        const [c] = await db.database.sql<{ processed: number; failed: number; pending: number; failedWithoutReason: number }[]>`
          select (count(*) filter (where status = 'processed'))::int as processed,
                 (count(*) filter (where status = 'failed'))::int as failed,
                 (count(*) filter (where status = 'pending'))::int as pending,
                 (count(*) filter (where status = 'failed' and (error is null or error = '')))::int as "failedWithoutReason"
          from social_posts`;
        return c!.pending === 0 ? c! : null;
      },
      { what: 'every stored post decided', timeoutMs: 120_000, intervalMs: 200 },
    );
    expect(final!.processed + final!.failed).toBe(stored);
    expect(final!.failedWithoutReason).toBe(0);
    expect(parsed.errors.length + final!.processed + final!.failed).toBe(N);
    // what was stored is what Postgres can hold: no NUL, lone surrogates replaced
    const [odd] = await db.database.sql<{ n: number }[]>`
      select count(*)::int as n from social_posts where text like ${'%\uFFFD%'}`;
    expect(odd!.n).toBeGreaterThan(0);
  } finally {
    await service.close();
    await closeTransport(transport);
  }
});
