import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { decisionsPerHour, decisionsSince, maxPostId, type DecisionCursor } from '../db/console.repo.js';
import type { ConsoleKit } from './kit.js';
import { activityPage } from './views/activity.js';

/** How often an activity stream looks for new decisions. */
const POLL_MS = 1000;
/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** Posts older (by id) than the newest minus this are not looked at by a stream. */
const FLOOR_WINDOW = 100_000;

/** Activity: the page, and its stream of decisions as server-sent events. */
export function activityRoutes(app: FastifyInstance, kit: ConsoleKit): void {
  const { sql } = kit;
  const streams = new Set<ServerResponse>();
  // Open streams would keep the server from closing.
  app.addHook('preClose', async () => {
    for (const s of streams) s.end();
  });

  app.get('/activity', async (req, reply) => kit.send(reply, activityPage(kit.context(req, reply), await decisionsPerHour(sql, 7), Date.now())));

  app.get('/activity/stream', async (req, reply) => {
    const floor = Math.max(0, (await maxPostId(sql)) - FLOOR_WINDOW);
    const [{ now } = { now: new Date().toISOString() }] = await sql<
      { now: string }[]
    >`select to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as now`;
    let cursor: DecisionCursor = { processedAt: now, id: 0 };
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 3000\n\n');
    streams.add(res);
    let busy = false;
    const tick = setInterval(() => {
      if (busy) return;
      busy = true;
      decisionsSince(sql, cursor, floor)
        .then((rows) => {
          for (const d of rows) res.write(`event: decision\nid: ${d.id}\ndata: ${JSON.stringify(d)}\n\n`);
          const last = rows[rows.length - 1];
          if (last) cursor = { processedAt: last.processedAt, id: last.id };
        })
        .catch((err: unknown) => kit.log.warn({ err }, 'activity stream read failed'))
        .finally(() => (busy = false));
    }, POLL_MS);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    res.on('close', () => {
      clearInterval(tick);
      clearInterval(heartbeat);
      streams.delete(res);
    });
  });
}
