import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { PollJobData } from '../workers/queues.js';
import type { Html } from './html.js';
import { cookie, FLASH_COOKIE, parseCookies, type Session, type Sessions } from './session.js';
import type { PageContext } from './views/layout.js';

/** What the console is built from. */
export interface ConsoleOptions {
  sql: Sql;
  config: Config;
  /** The API's bearer token: the sign-in secret, and what the console's own calls to `/api` carry. */
  apiToken: string;
  log: Logger;
  /** The poll queue, for "Retry now" on a source (absent: retry only lifts the source's block). */
  pollQueue?: Queue<PollJobData> | undefined;
}

/** An `/api` answer, as the console reads it. */
export interface ApiAnswer {
  status: number;
  body: any;
}

/** The shared pieces every console route uses. */
export interface ConsoleKit extends ConsoleOptions {
  sessions: Sessions;
  /**
   * Call the REST API in-process (same validation, same transactions as for the outside world); `actor` is sent as
   * `X-Actor`, the signed-in person the record names.
   */
  callApi(method: 'GET' | 'POST', url: string, body?: unknown, actor?: string): Promise<ApiAnswer>;
  /** The signed-in session of a request (the auth hook guarantees one on every page). */
  session(req: FastifyRequest): Session;
  /** Render context of a page: who, the CSRF token, the message of the last action (read once). */
  context(req: FastifyRequest, reply: FastifyReply): PageContext;
  /** Send a page. */
  send(reply: FastifyReply, body: Html, status?: number): FastifyReply;
  /** After an action: keep its outcome for the next page and go back where the form was. */
  done(req: FastifyRequest, reply: FastifyReply, outcome: ApiAnswer, ok: (body: any) => string): FastifyReply;
}

/** A form's `back` field, if it is a path on this site; else `fallback`. */
export function backOf(req: FastifyRequest, fallback = '/leads'): string {
  const back = (req.body as Record<string, unknown> | undefined)?.back;
  // A path, never another origin ("//evil", "/\\evil").
  return typeof back === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(back) ? back : fallback;
}

export function createKit(app: FastifyInstance, opts: ConsoleOptions, sessions: Sessions, sessionOf: WeakMap<FastifyRequest, Session>): ConsoleKit {
  const secure = (req: FastifyRequest) => req.protocol === 'https';
  return {
    ...opts,
    sessions,
    async callApi(method, url, body, actor) {
      const res = await app.inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${opts.apiToken}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(actor !== undefined ? { 'x-actor': actor } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      let parsed: unknown = null;
      try {
        parsed = res.body ? JSON.parse(res.body) : null;
      } catch {
        parsed = { error: res.body };
      }
      return { status: res.statusCode, body: parsed };
    },
    session(req) {
      const s = sessionOf.get(req);
      if (!s) throw new Error('console route without a session: the auth hook did not run');
      return s;
    },
    context(req, reply) {
      const s = this.session(req);
      let flash: PageContext['flash'] = null;
      const raw = parseCookies(req.headers.cookie)[FLASH_COOKIE];
      if (raw) {
        try {
          const f = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as PageContext['flash'];
          if (f && (f.kind === 'ok' || f.kind === 'error') && typeof f.text === 'string') flash = f;
        } catch {
          // a mangled flash cookie shows nothing
        }
        reply.header('set-cookie', cookie(FLASH_COOKIE, '', { maxAgeS: 0, secure: secure(req) }));
      }
      // A page rendered by a POST (a backtest, a try) sends its forms back to its section's GET page.
      const here = req.method === 'GET' ? req.url : `/${req.url.split(/[/?]/)[1] ?? ''}`;
      return { user: s.name, csrf: sessions.csrf(s), here, flash };
    },
    send(reply, body, status = 200) {
      return reply.code(status).type('text/html; charset=utf-8').send(body.value);
    },
    done(req, reply, outcome, ok) {
      const good = outcome.status >= 200 && outcome.status < 300;
      const text = good ? ok(outcome.body) : String(outcome.body?.error ?? `failed (HTTP ${outcome.status})`);
      const value = Buffer.from(JSON.stringify({ kind: good ? 'ok' : 'error', text: text.slice(0, 1000) })).toString('base64url');
      reply.header('set-cookie', cookie(FLASH_COOKIE, value, { maxAgeS: 60, secure: secure(req) }));
      return reply.redirect(backOf(req), 303);
    },
  };
}
