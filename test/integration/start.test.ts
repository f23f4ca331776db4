import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, REDIS_URL, usesRedisPrefix, waitFor } from '../support/services.js';

const BIN = join(import.meta.dirname, '../../bin/capture.js');

/** `capture …` as a second terminal would run it; returns exit code, stdout, stderr. */
function capture(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

type Mode = 'embedded PostgreSQL and the PostgreSQL queue backend' | 'DATABASE_URL and REDIS_URL';
const MODES: Mode[] = ['embedded PostgreSQL and the PostgreSQL queue backend', 'DATABASE_URL and REDIS_URL'];

describe.each(MODES)('npm start with %s', (mode) => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let dropDb: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'capture-start-'));
    chmodSync(dir, 0o755); // the embedded server runs as the `postgres` user when we are root
    const prefix = usesRedisPrefix(`start_${process.pid}_${Date.now()}`);
    writeFileSync(
      join(dir, 'capture.config.yaml'),
      `sources:
  - { id: sbx-x, platform: twitter, kind: sandbox, posts_per_poll: 10, every: 300ms }
  - { id: sim-x, platform: twitter, kind: search, query: '@acme', every: 500ms }
  - { id: sim-fb, platform: facebook, kind: page, page_id: "1122334455", every: 500ms }
rules: ${join(import.meta.dirname, '../../rules/default.yaml')}
queue: { prefix: ${prefix} }
`,
    );
    const { DATABASE_URL: _d, REDIS_URL: _r, ...base } = process.env;
    env = { ...base, CAPTURE_CONFIG: join(dir, 'capture.config.yaml'), CAPTURE_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'info', PORT: '0' };
    if (mode === 'DATABASE_URL and REDIS_URL') {
      const db = await createTestDatabase('start');
      await db.database.close();
      dropDb = db.drop;
      env = { ...env, DATABASE_URL: db.url, REDIS_URL };
    }
  });
  afterAll(async () => {
    await dropDb?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates leads and cases from the sandbox, visible from a second process, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += String(d)));
    child.stderr!.on('data', (d) => (out += String(d)));
    let code: number | null | undefined;
    const exited = exitOf(child).then((c) => (code = c));
    try {
      await waitFor(
        () => {
          if (code !== undefined) throw new Error(`capture start exited with ${code}: ${out}`);
          return out.includes('"case created"') && out.includes('"lead created"');
        },
        { what: 'a lead and a case logged', timeoutMs: 45_000 },
      );
      const leads = capture(['leads', '--json'], env);
      expect(leads.code).toBe(0);
      const rows = JSON.parse(leads.stdout) as { id: number; text: string; rules: { id: string }[] }[];
      expect(rows.length).toBeGreaterThan(0);
      expect(rows[0]!.rules.length).toBeGreaterThan(0);
      const cases = JSON.parse(capture(['cases', '--json'], env).stdout) as { id: number; priority: string }[];
      expect(cases.length).toBeGreaterThan(0);
      // without tokens the X and Facebook sources poll the in-process simulators through the real connectors
      expect(out).toContain('polling the built-in simulators through the real connectors');
      const sources = await waitFor(
        () => {
          const rows = JSON.parse(capture(['sources', '--json'], env).stdout) as { id: string; healthy: boolean; postsFetched: number }[];
          return rows.length === 3 && rows.every((s) => s.postsFetched > 0) ? rows : null;
        },
        { what: 'posts from the sandbox and both simulators', intervalMs: 1000, timeoutMs: 30_000 },
      );
      expect(sources!.map((s) => s.id).sort()).toEqual(['sbx-x', 'sim-fb', 'sim-x']);
      expect(sources!.every((s) => s.healthy)).toBe(true);
      const m1 = capture(['migrate', '--json'], env);
      const m2 = capture(['migrate', '--json'], env);
      expect([m1.code, m2.code]).toEqual([0, 0]);
      expect(JSON.parse(m2.stdout)).toEqual(JSON.parse(m1.stdout));
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('stopped cleanly');
    expect(out).not.toMatch(/\n\s+at /); // no stack trace anywhere
  }, 120_000); // two processes, an embedded PostgreSQL and two simulators: slow on a busy 2-core machine
});

describe('npm start under a supervisor', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let dropDb: () => Promise<void>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'capture-npm-start-'));
    const prefix = usesRedisPrefix(`npmstart_${process.pid}_${Date.now()}`);
    writeFileSync(
      join(dir, 'capture.config.yaml'),
      `sources:
  - { id: sbx-x, platform: twitter, kind: sandbox, posts_per_poll: 10, every: 300ms }
rules: ${join(import.meta.dirname, '../../rules/default.yaml')}
queue: { prefix: ${prefix} }
`,
    );
    const db = await createTestDatabase('npm_start');
    await db.database.close();
    dropDb = db.drop;
    env = { ...process.env, CAPTURE_CONFIG: join(dir, 'capture.config.yaml'), DATABASE_URL: db.url, REDIS_URL, LOG_LEVEL: 'info', PORT: '0' };
  });
  afterAll(async () => {
    await dropDb?.();
    rmSync(dir, { recursive: true, force: true });
  });

  // To npm itself, as a supervisor that signals its child does (docker, Kubernetes); and to npm's whole process
  // group, as systemd's default control-group kill, `timeout` or a terminal's Ctrl-C do: then the service gets
  // the signal twice (directly, and forwarded by npm) and must still drain rather than take it as "force".
  it.each([
    ['the npm process a supervisor started', async (pid: number) => process.kill(pid, 'SIGTERM')],
    [
      'the process group of npm start, the forwarded copy arriving late',
      // npm forwards its copy a few milliseconds after the kernel delivers the service's own, later under
      // load; signalling the group again 20 ms on makes "later" certain while the service is still draining
      async (pid: number) => {
        process.kill(-pid, 'SIGTERM');
        await new Promise((r) => setTimeout(r, 20));
        process.kill(-pid, 'SIGTERM');
      },
    ],
  ])(
    'drains and stops when SIGTERM is sent to %s',
    async (_to, signal) => {
      // its own process group, so that a service npm failed to stop can be found and killed afterwards
      const npm = spawn('npm', ['start'], { cwd: join(import.meta.dirname, '../..'), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let out = '';
      npm.stdout!.on('data', (d) => (out += String(d)));
      npm.stderr!.on('data', (d) => (out += String(d)));
      let code: number | null | undefined;
      const exited = exitOf(npm).then((c) => (code = c));
      try {
        await waitFor(
          () => {
            if (code !== undefined) throw new Error(`npm start exited with ${code}: ${out}`);
            return out.includes('"source polled"');
          },
          { what: 'the service polling', timeoutMs: 45_000 },
        );
        await signal(npm.pid!);
        expect(await exited).toBe(0);
        // the service itself received the signal, drained and stopped (an orphaned service never logs this)
        await waitFor(() => out.includes('"stopped cleanly"'), { what: 'the service to stop cleanly', timeoutMs: 20_000 });
        expect(out).not.toContain('exiting without draining');
      } finally {
        try {
          process.kill(-npm.pid!, 'SIGKILL');
        } catch {
          // the group is gone: nothing was left running
        }
      }
    },
    90_000,
  );
});
