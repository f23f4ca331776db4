import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makePost } from '../support/posts.js';
import { createTestDatabase } from '../support/services.js';

const BIN = join(import.meta.dirname, '../../bin/capture.js');
const COMMANDS = ['start', 'migrate', 'import', 'posts', 'leads', 'cases', 'contacts', 'sources', 'classify', 'eval', 'diff', 'backtest', 'forget', 'verify'];

/** Issue 17, item 7: a CLI a script can use. */
describe('the CLI for scripts', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const dir = mkdtempSync(join(tmpdir(), 'capture-cli-'));
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    db = await createTestDatabase('cli');
    writeFileSync(
      join(dir, 'capture.config.yaml'),
      `sources:\n  - { id: x-search, platform: twitter, kind: search, query: acme, every: 60s }\n  - { id: fb-page, platform: facebook, kind: page, page_id: "1122334455", every: 120s }\n`,
    );
    env = { DATABASE_URL: db.url, REDIS_URL: undefined, CAPTURE_CONFIG: join(dir, 'capture.config.yaml') };
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(COMMANDS)('capture %s --help prints its usage and exits 0', async (command) => {
    const r = await runCli(env, command, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: capture ${command}`));
  });

  it('a bad flag exits 2 with the usage; a bad --limit names it, never a SQL error', async () => {
    const bad = await runCli(env, 'leads', '--bogus');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bogus/);
    expect(bad.stderr).toMatch(/usage: capture leads/);
    for (const limit of ['99999999999999999999', '0', '-3', '1e3', '0x10', 'ten']) {
      const r = await runCli(env, 'posts', '--limit', limit);
      expect({ limit, code: r.code }).toEqual({ limit, code: 2 });
      expect(r.stderr).toMatch(/--limit/);
      expect(r.stderr).not.toMatch(/out of range|syntax|bigint/i);
    }
    expect((await runCli(env, 'cases', '--priority', 'huge')).code).toBe(2);
  });

  it('capture sources says which platform and kind each source is', async () => {
    const r = await runCli(env, 'sources', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { id: string; platform: string; kind: string }[];
    expect(rows.map((s) => [s.id, s.platform, s.kind])).toEqual([
      ['fb-page', 'facebook', 'page'],
      ['x-search', 'twitter', 'search'],
    ]);
  });

  it('capture import exits 1 when lines were rejected, and still stores the good ones', async () => {
    const good = makePost({ text: 'how much is it' });
    const file = join(dir, 'posts.jsonl');
    writeFileSync(file, `${JSON.stringify(good)}\n{"platform":"myspace"}\n`);
    const r = await runCli(env, 'import', file, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ posts: 1, new: 1, invalid: 1 });
    const [row] = await db.database.sql<{ n: number }[]>`select count(*)::int as n from social_posts where external_id = ${good.id}`;
    expect(row!.n).toBe(1);
    const clean = join(dir, 'clean.jsonl');
    writeFileSync(clean, `${JSON.stringify(makePost({ text: 'hello' }))}\n`);
    expect((await runCli(env, 'import', clean, '--json')).code).toBe(0);
  });

  it('with the embedded PostgreSQL, --json output is JSON alone: the start-up log goes to stderr', () => {
    const data = mkdtempSync(join(tmpdir(), 'capture-cli-pg-'));
    chmodSync(data, 0o755); // as root, the server runs as the `postgres` user
    try {
      const { DATABASE_URL: _d, REDIS_URL: _r, ...base } = process.env;
      const r = spawnSync(process.execPath, [BIN, 'posts', '--json'], {
        env: { ...base, CAPTURE_DATA_DIR: data, CAPTURE_CONFIG: join(dir, 'capture.config.yaml'), LOG_LEVEL: 'info' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([]);
      expect(r.stderr).toMatch(/embedded PostgreSQL started/);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  }, 150_000);
});
