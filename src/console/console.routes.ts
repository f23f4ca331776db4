import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sameToken } from '../api/api-scope.js';
import { NotFoundError } from '../errors.js';
import { activityRoutes } from './activity.routes.js';
import { CONSOLE_CSS } from './assets/console.css.js';
import { CONSOLE_JS } from './assets/console.js.js';
import { contactsRoutes } from './contacts.routes.js';
import { html } from './html.js';
import { createKit, type ConsoleKit, type ConsoleOptions } from './kit.js';
import { rulesConsoleRoutes } from './rules.console.js';
import { workRoutes } from './work.routes.js';
import { cookie, LOGIN_COOKIE, parseCookies, SESSION_COOKIE, Sessions, type Session } from './session.js';
import { loginPage, page } from './views/layout.js';

export type { ConsoleOptions } from './kit.js';

/**
 * The browser may load scripts, styles and images only from this origin, and no inline script at all: post text
 * that slipped through escaping still could not run. Frames, plugins and foreign form targets are refused.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const ASSETS: Record<string, { type: string; body: string }> = {
  'console.css': { type: 'text/css; charset=utf-8', body: CONSOLE_CSS },
  'console.js': { type: 'text/javascript; charset=utf-8', body: CONSOLE_JS },
};

/** Paths served without a session. */
const PUBLIC = /^\/(?:login|assets\/[a-z.]+)(?:\?|$)/;

/**
 * The web console, served by the api role: server-rendered pages for leads, cases, contacts, rules, sources and
 * activity. Every state-changing request is a POST with the session's CSRF token, and goes through the REST API
 * in-process, so the console cannot do anything the API would refuse.
 */
export async function consoleRoutes(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const sessions = new Sessions(opts.apiToken);
  const sessionOf = new WeakMap<FastifyRequest, Session>();
  const kit = createKit(app, opts, sessions, sessionOf);

  // Pages and form posts, not API: kept out of /openapi.json.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true } as typeof route.schema;
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 2 * 1024 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.headers({
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      // same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on form posts.
      'referrer-policy': 'same-origin',
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
    });
    if (PUBLIC.test(req.url)) return;
    const session = sessions.read(parseCookies(req.headers.cookie)[SESSION_COOKIE]);
    if (!session) {
      if (req.method === 'GET') return reply.redirect('/login', 303);
      return reply.code(401).type('text/plain; charset=utf-8').send('sign in first');
    }
    sessionOf.set(req, session);
  });

  // After the body is parsed: a state-changing request must carry the session's CSRF token (form field or header)
  // and, when the browser says where it comes from, come from this origin.
  app.addHook('preHandler', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD' || PUBLIC.test(req.url)) return;
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `${req.protocol}://${req.headers.host}`) {
      return reply.code(403).type('text/plain; charset=utf-8').send('cross-origin request refused');
    }
    const given = (req.body as Record<string, unknown> | undefined)?._csrf ?? req.headers['x-csrf-token'];
    if (!sessions.checkCsrf(kit.session(req), given)) {
      return reply.code(403).type('text/plain; charset=utf-8').send('missing or wrong CSRF token: reload the page');
    }
  });

  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, req, reply) => {
    const status =
      err instanceof NotFoundError ? 404 : err.validation ? 400 : typeof err.statusCode === 'number' && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) opts.log.error({ err, route: req.routeOptions.url, method: req.method }, 'console request failed');
    const message = status === 500 ? 'Something went wrong; it has been logged.' : err.message;
    const s = sessionOf.get(req);
    const ctx = s ? { user: s.name, csrf: sessions.csrf(s), here: '/leads', flash: null } : null;
    return kit.send(reply, page(ctx, status === 404 ? 'Not found' : 'Error', html`<p role="alert">${message}</p>`), status);
  });

  app.get('/assets/:name', async (req, reply) => {
    const asset = ASSETS[(req.params as { name: string }).name];
    if (!asset) return reply.code(404).send('not found');
    return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
  });
  app.get('/', async (_req, reply) => reply.redirect('/leads', 303));
  authRoutes(app, kit);
  workRoutes(app, kit);
  contactsRoutes(app, kit);
  rulesConsoleRoutes(app, kit);
  activityRoutes(app, kit);
}

/** Sign in with the API token (in a POST body, never a URL) and a name; sign out. */
function authRoutes(app: FastifyInstance, kit: ConsoleKit): void {
  const secure = (req: FastifyRequest) => req.protocol === 'https';
  // The sign-in form is protected too (double submit: a cookie and a field that must match), against a page
  // elsewhere signing a person in to a session of the attacker's choosing.
  const showLogin = (req: FastifyRequest, reply: FastifyReply, error: string | null, status = 200) => {
    const nonce = randomBytes(18).toString('base64url');
    reply.header('set-cookie', cookie(LOGIN_COOKIE, nonce, { maxAgeS: 3600, secure: secure(req) }));
    return kit.send(reply, loginPage(nonce, error), status);
  };
  app.get('/login', async (req, reply) => showLogin(req, reply, null));
  app.post('/login', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const nonce = parseCookies(req.headers.cookie)[LOGIN_COOKIE];
    if (!nonce || body._login !== nonce) return showLogin(req, reply, 'The sign-in form expired; please try again.', 403);
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    if (name.length === 0 || name.length > 100) return showLogin(req, reply, 'Your name: 1 to 100 characters.', 400);
    if (typeof body.token !== 'string' || !sameToken(body.token, kit.apiToken)) {
      kit.log.warn({ name }, 'console sign-in refused: wrong token');
      return showLogin(req, reply, 'That API token is not right.', 401);
    }
    const { cookie: value } = kit.sessions.create(name);
    reply.header('set-cookie', [
      cookie(SESSION_COOKIE, value, { maxAgeS: Math.floor(kit.sessions.ttlMs / 1000), secure: secure(req) }),
      cookie(LOGIN_COOKIE, '', { maxAgeS: 0, secure: secure(req) }),
    ]);
    kit.log.info({ name }, 'console sign-in');
    return reply.redirect('/leads', 303);
  });
  app.post('/logout', async (req, reply) => {
    reply.header('set-cookie', cookie(SESSION_COOKIE, '', { maxAgeS: 0, secure: secure(req) }));
    return reply.redirect('/login', 303);
  });
}
