import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify, parseRuleset } from '../../src/classifier/index.js';
import { backtest } from '../../src/db/backtest.repo.js';
import { capturePost } from '../../src/db/capture.repo.js';
import { storePage } from '../../src/db/inbox.repo.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase, TEST_RULES, testConfig } from '../support/services.js';

describe('backtest: re-decide stored posts without writing', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  // Under TEST_RULES "how much" is a lead and "refund" a case; the candidate drops the first and adds "broken".
  const candidate = parseRuleset(`
name: candidate
thresholds: { lead: 1, case: 1 }
rules:
  - { id: refund, label: case, weight: 2, any: [refund] }
  - { id: broken, label: case, weight: 2, any: [broken] }
  - { id: demo, label: lead, weight: 2, any: [demo] }
`);

  const posts = [
    makePost({ text: 'how much is it?' }), // lead → none
    makePost({ text: 'how much for a broken one?' }), // lead → case
    makePost({ text: 'refund please' }), // case → case
    makePost({ text: 'my screen is broken' }), // none → case
    makePost({ text: 'can I get a demo' }), // lead → lead
    makePost({ text: 'nice weather' }), // none → none
  ];
  const old = makePost({ text: 'the screen is broken, old post' }); // none → case, but received 10 days ago
  const pending = makePost({ text: 'refund me, not processed yet' });

  beforeAll(async () => {
    db = await createTestDatabase('backtest');
    await storePage(db.database.sql, 'test', [...posts, old, pending], null);
    for (const p of [...posts, old]) {
      await capturePost(db.database.sql, { platform: 'twitter', externalId: p.id }, (i) => classify(i, TEST_RULES), {
        caseWindowMs: 0,
        slaMs: testConfig().capture.slaMs,
      });
    }
    await db.database.sql`update social_posts set received_at = now() - interval '10 days' where external_id = ${old.id}`;
  });
  afterAll(async () => {
    await db.drop();
  });

  async function snapshot() {
    const sql = db.database.sql;
    return {
      posts: await sql`select id, status, label, decision, ruleset_version, lead_id, case_id from social_posts order by id`,
      leads: await sql`select * from leads order by id`,
      cases: await sql`select * from cases order by id`,
    };
  }

  it('counts what would appear and disappear within the window, and writes nothing', async () => {
    const before = await snapshot();
    const report = await backtest(db.database.sql, candidate, { sinceMs: 7 * 86_400_000 });
    expect(report).toMatchObject({
      posts: 6,
      rulesetVersion: candidate.version,
      stored: { lead: 3, case: 1, none: 2 },
      now: { lead: 1, case: 3, none: 2 },
      leads: { appear: 0, disappear: 2 },
      cases: { appear: 2, disappear: 0 },
      changed: 3,
      transitions: { 'lead→none': 1, 'lead→case': 1, 'none→case': 1 },
      storedVersions: { [TEST_RULES.version]: 6 },
    });
    expect(report.examples.map((e) => [e.id, e.from, e.to, e.rules])).toEqual([
      [`x-${posts[0]!.id}`, 'lead', 'none', []],
      [`x-${posts[1]!.id}`, 'lead', 'case', ['broken']],
      [`x-${posts[3]!.id}`, 'none', 'case', ['broken']],
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it('reads every processed post with no window, in batches, reporting progress', async () => {
    const progress: [number, number][] = [];
    const report = await backtest(db.database.sql, candidate, { sinceMs: null, batch: 2, onProgress: (d, t) => progress.push([d, t]) });
    expect(report.posts).toBe(7);
    expect(report.cases.appear).toBe(3);
    expect(progress).toEqual([
      [2, 7],
      [4, 7],
      [6, 7],
      [7, 7],
    ]);
  });
});
