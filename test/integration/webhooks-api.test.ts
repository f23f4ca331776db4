import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { buildApiServer } from '../../src/api/server.js';
import { appendEvents, EVENT_TYPES } from '../../src/db/outbox.repo.js';
import { silentLogger } from '../../src/logger.js';
import { closeTransport, openQueue, POSTS_QUEUE, type Transport } from '../../src/workers/queues.js';
import { createTestDatabase, createTestTransport, testConfig } from '../support/services.js';

const TOKEN = 'webhooks-api-token';
const BIN = join(import.meta.dirname, '../../bin/capture.js');

describe('webhooks and the event feed over HTTP and the CLI', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let transport: Transport;
  let app: FastifyInstance;
  let closeQueue: () => Promise<void>;

  beforeAll(async () => {
    db = await createTestDatabase('webhooks_api');
    transport = createTestTransport('redis', db.url, 'webhooks_api');
    const postsQueue = openQueue<never>(transport, POSTS_QUEUE);
    closeQueue = () => postsQueue.close();
    app = buildApiServer({ sql: db.database.sql, postsQueue, config: testConfig(), log: silentLogger, apiToken: TOKEN });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await closeQueue?.();
    await closeTransport(transport);
    await db?.drop();
  });

  async function api(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, token: string | null = TOKEN) {
    const res = await app.inject({
      method,
      url,
      ...(body !== undefined ? { payload: body as object } : {}),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as any) : null };
  }

  /** The CLI as a process: exit code and streams as a shell sees them. */
  function cliProcess(...args: string[]) {
    const { REDIS_URL: _r, ...env } = process.env;
    const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...env, DATABASE_URL: db.url, LOG_LEVEL: 'warn' }, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** The same CLI entry point in this process (a process start per call would take most of the test). */
  async function cli(...args: string[]) {
    const saved = { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL };
    process.env.DATABASE_URL = db.url;
    delete process.env.REDIS_URL;
    let stdout = '';
    let stderr = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
    try {
      const code = await main(args);
      return { code, stdout, stderr };
    } finally {
      out.mockRestore();
      err.mockRestore();
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  }

  it('manages endpoints under /api/webhooks, refusing bad input with a 400 naming the field', async () => {
    expect((await api('GET', '/api/webhooks', undefined, null)).status).toBe(401);
    expect(await api('POST', '/api/webhooks', { url: 'ftp://x' })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^url:/) } });
    expect(await api('POST', '/api/webhooks', { url: 'https://crm.example/hook', events: ['case.nope'] })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^events:.*case\.nope/) },
    });
    expect((await api('POST', '/api/webhooks', { url: 'https://crm.example/hook', colour: 'red' })).status).toBe(400);

    const created = await api('POST', '/api/webhooks', { url: 'https://crm.example/hook', events: ['case.*', 'lead.created'], description: 'helpdesk' });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const [row] = await db.database.sql`select url, event_types, secret, status from webhook_endpoints where id = ${created.body.id}`;
    expect(row).toEqual({ url: 'https://crm.example/hook', event_types: ['case.*', 'lead.created'], secret: created.body.secret, status: 'enabled' });

    const list = await api('GET', '/api/webhooks');
    expect(list.body.map((e: { id: number }) => e.id)).toEqual([created.body.id]);
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);

    expect((await api('POST', `/api/webhooks/${created.body.id}/disable`)).body.status).toBe('disabled');
    expect((await db.database.sql`select status from webhook_endpoints where id = ${created.body.id}`)[0]!.status).toBe('disabled');
    expect((await api('POST', `/api/webhooks/${created.body.id}/enable`)).body.status).toBe('enabled');
    const rotated = await api('POST', `/api/webhooks/${created.body.id}/rotate-secret`);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect((await db.database.sql`select secret from webhook_endpoints where id = ${created.body.id}`)[0]!.secret).toBe(rotated.body.secret);
    expect((await api('POST', `/api/webhooks/${created.body.id}/replay`, { since: 'yesterday' })).status).toBe(400);
    expect((await api('GET', '/api/webhooks/deliveries?failed=true')).body).toEqual([]);
    expect((await api('DELETE', `/api/webhooks/${created.body.id}`)).status).toBe(200);
    expect((await api('GET', `/api/webhooks/${created.body.id}`)).status).toBe(404);
  });

  it('serves /api/events in commit order with a cursor, as the table holds them', async () => {
    await db.database.sql.begin((tx) =>
      appendEvents(tx, [
        { type: 'case.created', aggregateId: 5001, data: { id: 5001 } },
        { type: 'lead.created', aggregateId: 6001, data: { id: 6001 } },
        { type: 'case.status_changed', aggregateId: 5001, data: { id: 5001 }, change: { from: 'new', to: 'in_progress', action: 'started' } },
      ]),
    );
    const page1 = await api('GET', '/api/events?limit=2');
    expect(page1.body.events.map((e: { type: string }) => e.type)).toEqual(['case.created', 'lead.created']);
    const page2 = await api('GET', `/api/events?after=${page1.body.next}`);
    expect(page2.body.events.map((e: { type: string; aggregate: { sequence: number } }) => [e.type, e.aggregate.sequence])).toEqual([
      ['case.status_changed', 2],
    ]);
    const rows = await db.database.sql`select id from events order by feed_position`;
    expect([...page1.body.events, ...page2.body.events].map((e: { id: string }) => e.id)).toEqual(rows.map((r) => r.id));
    expect((await api('GET', '/api/events?types=case.*')).body.events).toHaveLength(2);
    expect(await api('GET', '/api/events?types=nope')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^types:/) } });
    expect((await api('GET', '/api/events?after=abc')).status).toBe(400);
    // events past their retention were pruned up to page 1's first event: a cursor before it is gone, not served with a gap
    const first = page1.body.events[0].cursor as string;
    await db.database.sql`insert into capture_settings (key, value) values ('events_pruned_through', ${first})`;
    expect(await api('GET', '/api/events?after=0')).toMatchObject({ status: 410, body: { error: expect.stringMatching(/^after: events up to cursor/) } });
    expect((await api('GET', `/api/events?after=${first}`)).status).toBe(200);
    await db.database.sql`delete from capture_settings where key = 'events_pruned_through'`;
  });

  it('describes every event type under the OpenAPI 3.1 webhooks', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.webhooks).sort()).toEqual(Object.keys(EVENT_TYPES).sort());
    expect(doc.paths['/api/events'].get).toBeDefined();
    expect(doc.webhooks['case.status_changed'].post.requestBody.content['application/json'].schema.properties.type).toEqual({ const: 'case.status_changed' });
  });

  it('the CLI adds, lists, disables, rotates, replays and removes, with --json and exit codes', async () => {
    const bad = cliProcess('webhooks', 'add', 'not a url', '--json');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/url:/);
    const added = await cli('webhooks', 'add', 'https://crm.example/cli', '--events', 'case.*', '--description', 'cli', '--json');
    expect(added.code, added.stderr).toBe(0);
    const ep = JSON.parse(added.stdout);
    expect(ep).toMatchObject({ url: 'https://crm.example/cli', events: ['case.*'], status: 'enabled', secret: expect.stringMatching(/^whsec_/) });
    const listed = JSON.parse((await cli('webhooks', 'list', '--json')).stdout);
    expect(listed.map((e: { id: number }) => e.id)).toContain(ep.id);
    expect(JSON.parse((await cli('webhooks', 'disable', String(ep.id), '--json')).stdout).status).toBe('disabled');
    expect(JSON.parse((await cli('webhooks', 'rotate-secret', String(ep.id), '--json')).stdout).secret).not.toBe(ep.secret);
    const replay = await cli('events', 'replay', '--endpoint', String(ep.id), '--since', '1h', '--json');
    expect(replay.code, replay.stderr).toBe(0);
    // the two case events of the hour, though older than the endpoint: a replay reaches back
    expect(JSON.parse(replay.stdout)).toEqual({ endpointId: ep.id, replayed: 2 });
    const owed = await db.database
      .sql`select e.type from webhook_deliveries d join events e on e.id = d.event_id where d.endpoint_id = ${ep.id} and d.status = 'pending'`;
    expect(owed.map((r) => r.type).sort()).toEqual(['case.created', 'case.status_changed']);
    expect((await cli('events', 'replay', '--endpoint', String(ep.id), '--since', 'soon')).code).toBe(2);
    const feed = JSON.parse((await cli('events', '--types', 'lead.*', '--json')).stdout);
    expect(feed.map((e: { type: string }) => e.type)).toEqual(['lead.created']);
    expect(JSON.parse((await cli('webhooks', 'deliveries', '--failed', '--json')).stdout)).toEqual([]);
    expect((await cli('webhooks', 'remove', String(ep.id), '--json')).code).toBe(0);
    expect((await cli('webhooks', 'remove', String(ep.id), '--json')).code).toBe(1);
    expect((await cli('webhooks', '--help')).code).toBe(0);
  });
});
