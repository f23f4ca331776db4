import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Database } from '../../src/db/client.js';
import { freePort } from '../../src/util/free-port.js';
import { createTestDatabase, REDIS_URL, usesRedisPrefix, waitFor } from '../support/services.js';

const BIN = join(import.meta.dirname, '../../bin/capture.js');
/** Debian's chromium package (installed by scripts/chromium.sh); override with CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(import.meta.dirname, '../../docs/screenshots');

/** The service as `npm start` runs it, on a free port, a fresh database and its own Redis prefix. */
export interface RunningService {
  base: string;
  token: string;
  env: NodeJS.ProcessEnv;
  database: Database;
  rulesPath: string;
  /** Everything the process logged so far. */
  log(): string;
  /** `capture import` a list of posts (JSON Lines) as a second terminal would. */
  importPosts(posts: object[]): void;
  stop(): Promise<void>;
}

export async function startService(opts: { rules: string; config?: string; env?: NodeJS.ProcessEnv }): Promise<RunningService> {
  const dir = mkdtempSync(join(tmpdir(), 'capture-console-'));
  const rulesPath = join(dir, 'rules.yaml');
  writeFileSync(rulesPath, opts.rules);
  const prefix = usesRedisPrefix(`console_${process.pid}_${Date.now()}`);
  writeFileSync(join(dir, 'capture.config.yaml'), `${opts.config ?? 'sources: []'}\nrules: ${rulesPath}\nqueue: { prefix: ${prefix} }\n`);
  const db = await createTestDatabase('console');
  const port = await freePort();
  const token = 'console-test-token-0123456789';
  const { DATABASE_URL: _d, REDIS_URL: _r, CAPTURE_API_TOKEN: _t, ...base } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...base,
    ...opts.env,
    CAPTURE_CONFIG: join(dir, 'capture.config.yaml'),
    DATABASE_URL: db.url,
    REDIS_URL,
    CAPTURE_API_TOKEN: token,
    PORT: String(port),
    LOG_LEVEL: 'info',
  };
  // As `npm start` runs it.
  const child: ChildProcess = spawn(process.execPath, ['--max-semi-space-size=32', BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (exited !== undefined) throw new Error(`capture start exited with ${exited}: ${out}`);
      return fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    { what: 'the service to be ready', timeoutMs: 45_000, intervalMs: 200 },
  );
  let file = 0;
  return {
    base: url,
    token,
    env,
    database: db.database,
    rulesPath,
    log: () => out,
    importPosts(posts) {
      const path = join(dir, `import-${++file}.jsonl`);
      writeFileSync(path, `${posts.map((p) => JSON.stringify(p)).join('\n')}\n`);
      const r = spawnSync(process.execPath, [BIN, 'import', path, '--json'], { env, encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) throw new Error(`capture import failed (${r.status}): ${r.stderr}`);
    },
    async stop() {
      if (exited === undefined) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await gone;
      }
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a page did that it must not: dialogs opened, requests to anywhere but the service. */
export interface Watch {
  dialogs: string[];
  foreignRequests: string[];
}

/** Headless Debian chromium with a fresh profile; requests leaving the service's origin are recorded and refused. */
export async function openBrowser(base: string): Promise<{ context: BrowserContext; page: Page; watch: Watch; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'capture-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  const watch: Watch = { dialogs: [], foreignRequests: [] };
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(`${base}/`) || u === base) return route.continue();
    watch.foreignRequests.push(u);
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (d) => {
    watch.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return {
    context,
    page,
    watch,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

let seq = 0;
export interface ImportPost {
  platform: 'twitter' | 'facebook';
  id: string;
  text: string;
  created_at: string;
  author: { id: string; handle: string; name: string };
}

/** A post in the import format; ids unique per call. */
export function post(text: string, author: { id: string; handle: string; name?: string }, platform: 'twitter' | 'facebook' = 'twitter'): ImportPost {
  seq += 1;
  const id = platform === 'twitter' ? `18${String(process.pid).padStart(7, '0')}${String(seq).padStart(10, '0')}` : `1122334455_${process.pid}${seq}`;
  return { platform, id, text, created_at: new Date().toISOString(), author: { name: 'Test Person', ...author } };
}
