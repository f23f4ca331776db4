import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classify, parseRuleset, type Ruleset } from '../../src/classifier/index.js';
import type { Database } from '../../src/db/client.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { enqueuePosts } from '../../src/workers/ingest.js';
import { startService, type Service } from '../../src/service.js';
import { closeTransport, type Transport } from '../../src/workers/queues.js';
import { watchRuleset, type RulesetWatcher } from '../../src/workers/ruleset-watcher.js';
import type { SocialPost } from '../../src/types.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, createTestTransport, testConfig, TRANSPORTS, waitFor } from '../support/services.js';

const RULES_A = `name: live
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buying, label: lead, weight: 2, any: ["how much", "demo"] }
  - { id: refund, label: case, weight: 2, any: ["refund"] }
`;
// B also makes "broken" a case and "demo" no longer a lead: the two versions decide some posts differently.
const RULES_B = `name: live
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buying, label: lead, weight: 2, any: ["how much"] }
  - { id: refund, label: case, weight: 2, any: ["refund", "broken"] }
`;
const RULES_INVALID = `name: live
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buying, label: lead, weight: "heavy", any: ["how much"] }
`;

const TEXTS = ['how much is the pro plan?', 'refund me now', 'the app is broken', 'can I get a demo', 'nice weather today'];

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe.each(TRANSPORTS)('live reload of the rules file on the %s transport', (kind) => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let database: Database;
  let transport: Transport;
  let service: Service | undefined;
  let watcher: RulesetWatcher | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'capture-rules-'));
  const rulesPath = join(dir, 'rules.yaml');

  beforeAll(async () => {
    db = await createTestDatabase(`reload_${kind}`);
    database = db.database;
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    watcher?.close();
    await service?.close();
    service = undefined;
    if (transport) await closeTransport(transport);
  });

  /** Replace the file as editors do: write a temporary file, then rename it over the old one. */
  function writeRules(text: string) {
    const tmp = `${rulesPath}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, rulesPath);
  }

  it('swaps versions under load: every post decided exactly once, by one of the versions; an invalid file is refused', async () => {
    writeRules(RULES_A);
    const versions = new Map<string, Ruleset>([RULES_A, RULES_B].map((t) => [parseRuleset(t).version, parseRuleset(t)]));
    const [vA, vB] = [...versions.keys()];
    const a = versions.get(vA!)!;
    transport = createTestTransport(kind, db.url, 'reload');
    service = await startService({ config: testConfig({ concurrency: 8 }), database, transport, ruleset: a, log: pino({ level: 'silent' }), role: 'worker' });
    const svc = service;
    const { log, lines } = capturingLogger();
    const applied: string[] = [];
    watcher = watchRuleset({
      path: rulesPath,
      current: a,
      apply: (r) => {
        applied.push(r.version);
        svc.setRuleset(r);
      },
      log,
      debounceMs: 20,
    });

    const posts: SocialPost[] = [];
    const ingest = async (n: number) => {
      const batch = Array.from({ length: n }, (_, i) => makePost({ text: `${TEXTS[(posts.length + i) % TEXTS.length]} #${posts.length + i}` }));
      posts.push(...batch);
      const stored = await storePage(database.sql, 'test', batch, null);
      await enqueuePosts(svc.postsQueue, stored.inserted, 3);
      return batch.map((p) => p.id);
    };
    const decidedOf = async (ids: readonly string[]) => {
      const [row] = await database.sql<{ n: number }[]>`
        select count(*)::int as n from social_posts where external_id = any(${ids as string[]}) and status <> 'pending'`;
      return row!.n;
    };
    const logged = (msg: string, n: number) => waitFor(() => lines.filter((l) => l.msg === msg).length >= n, { what: `${n}× "${msg}"` });

    // Batches go in while the previous ones are still being decided; the file changes between them.
    const steps: [string, string, number][] = [
      [RULES_B, 'rules reloaded', 1],
      [RULES_INVALID, 'rules file refused', 1],
      [RULES_A, 'rules reloaded', 2],
      [RULES_B, 'rules reloaded', 3],
      [RULES_INVALID, 'rules file refused', 2],
    ];
    let batch = await ingest(60);
    for (const [text, msg, n] of steps) {
      // The file changes while the last batch is still being decided, once capture has begun on it: so each
      // version in force decides posts (a capture slow to start would otherwise decide them all under the last).
      await waitFor(async () => (await decidedOf(batch)) > 0, { what: 'a post of the batch decided', timeoutMs: 30_000 });
      writeRules(text);
      await logged(msg, n);
      batch = await ingest(60);
    }
    await waitFor(async () => (await decidedOf(posts.map((p) => p.id))) === posts.length, { what: `${posts.length} posts decided`, timeoutMs: 60_000 });

    // The invalid file was refused with the rule and field named, and the version in force stayed B.
    const refused = lines.filter((l) => l.msg === 'rules file refused');
    expect(refused[0]).toMatchObject({ keeping: vB, problems: [`${rulesPath}: rule "buying" (#1): field "weight": must be a number`] });
    expect(applied).toEqual([vB, vA, vB]);

    const rows = await database.sql<
      {
        externalId: string;
        text: string;
        status: string;
        attempts: number;
        label: string;
        version: string;
        decision: { rulesetVersion: string; label: string };
        leadId: number | null;
        caseId: number | null;
      }[]
    >`select external_id as "externalId", text, status, attempts, label, ruleset_version as version, decision,
             lead_id as "leadId", case_id as "caseId"
      from social_posts where external_id = any(${posts.map((p) => p.id)})`;
    expect(rows).toHaveLength(posts.length);
    for (const row of rows) {
      expect(row).toMatchObject({ status: 'processed', attempts: 1 });
      expect([vA, vB]).toContain(row.version);
      // The stored decision is exactly the one its version gives: not a mix of two rulesets.
      const expected = classify({ text: row.text, platform: 'twitter', isReply: false }, versions.get(row.version)!);
      expect(row.decision).toEqual(JSON.parse(JSON.stringify(expected)));
      expect(row.label).toBe(expected.label);
    }
    // Both versions decided posts, and the posts that differ between them show it.
    const byVersion = new Set(rows.map((r) => r.version));
    expect(byVersion).toEqual(new Set([vA, vB]));
    // One lead or case per lead or case post (each has its own author): no effect applied twice.
    const leadPosts = rows.filter((r) => r.label === 'lead');
    const casePosts = rows.filter((r) => r.label === 'case');
    expect(new Set(leadPosts.map((r) => r.leadId)).size).toBe(leadPosts.length);
    expect(new Set(casePosts.map((r) => r.caseId)).size).toBe(casePosts.length);
    const [fx] = await database.sql<{ leads: number; cases: number }[]>`
      select (select count(*)::int from leads) as leads, (select count(*)::int from cases) as cases`;
    expect(fx).toEqual({ leads: leadPosts.length, cases: casePosts.length });
  });

  it('reload() on an unchanged file keeps the version and applies nothing', async () => {
    writeRules(RULES_A);
    const a = parseRuleset(RULES_A, rulesPath);
    const applied: string[] = [];
    const { log, lines } = capturingLogger();
    watcher = watchRuleset({ path: rulesPath, current: a, apply: (r) => applied.push(r.version), log, debounceMs: 20 });
    expect(watcher.reload().version).toBe(a.version);
    expect(applied).toEqual([]);
    expect(lines).toEqual([]);
  });
});
