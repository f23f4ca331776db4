import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApiServer } from '../../src/api/server.js';
import { isAlive, openDatabaseUrl, type DatabaseHandle } from '../../src/db/embedded.js';
import { silentLogger } from '../../src/logger.js';
import { closeTransport, openQueue, POSTS_QUEUE, type CaptureJobData } from '../../src/workers/queues.js';
import { createTestTransport, testConfig, waitFor } from '../support/services.js';

/** SIGKILL the embedded server and its backends, as the OOM killer would. */
function killServer(pgDir: string): void {
  const pid = Number(readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  spawnSync('pkill', ['-9', '-P', String(pid)]);
  process.kill(pid, 'SIGKILL');
}

/** Issue 17, item 8: the embedded PostgreSQL dying under a running service is restarted, or the service gives up (exit non-zero); /readyz says which. */
describe('embedded PostgreSQL supervision', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capture-embedded-'));
  chmodSync(dir, 0o755); // as root, the server runs as the `postgres` user
  let handle: DatabaseHandle | undefined;
  afterAll(async () => {
    await handle?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('restarts a killed server; when it cannot, gives up; /readyz reports each', async () => {
    handle = await openDatabaseUrl(undefined, dir, silentLogger);
    const gaveUp: unknown[] = [];
    handle.supervise(silentLogger, (err) => gaveUp.push(err), 100);
    const transport = createTestTransport('redis', 'postgres://unused', 'embedded_sup');
    const queue = openQueue<CaptureJobData>(transport, POSTS_QUEUE);
    const sql = postgres(handle.url, { max: 1, onnotice: () => {} });
    const app = buildApiServer({ sql, postsQueue: queue, config: testConfig(), log: silentLogger, apiToken: 't', databaseHealth: () => handle!.health() });
    const readyz = async () => {
      const r = await app.inject({ method: 'GET', url: '/readyz' });
      return { status: r.statusCode, body: r.json() as { database: { mode: string; state: string; restarts: number } } };
    };
    try {
      expect((await readyz()).body.database).toEqual({ mode: 'embedded', state: 'up', restarts: 0 });

      killServer(join(dir, 'pg'));
      await waitFor(() => handle!.health().restarts === 1 && handle!.health().state === 'up', { what: 'the server restarted', timeoutMs: 60_000 });
      await waitFor(async () => (await sql`select 1 as one`.catch(() => null))?.[0]?.one === 1, { what: 'queries answered again', timeoutMs: 30_000 });
      const after = await readyz();
      expect(after.status).toBe(200);
      expect(after.body.database).toEqual({ mode: 'embedded', state: 'up', restarts: 1 });

      // Now it cannot come back: its data directory is gone.
      const pid = Number(readFileSync(join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      killServer(join(dir, 'pg'));
      await waitFor(() => !isAlive(pid), { what: 'the server gone' });
      renameSync(join(dir, 'pg'), join(dir, 'pg-lost'));
      await waitFor(() => gaveUp.length === 1, { what: 'the supervisor gave up', timeoutMs: 60_000 });
      const down = await readyz();
      expect(down.status).toBe(503);
      expect(down.body.database).toMatchObject({ mode: 'embedded', state: 'down' });
      renameSync(join(dir, 'pg-lost'), join(dir, 'pg'));
    } finally {
      await app.close();
      await sql.end({ timeout: 1 });
      await queue.close();
      await closeTransport(transport);
    }
  }, 180_000);
});
