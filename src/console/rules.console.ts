import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleKit } from './kit.js';
import { rulesPage, versionPage, type RulesView } from './views/rules.js';

type Form = Record<string, string | undefined>;

/** Rules: the editor and its actions, all through `/api/rules`. */
export function rulesConsoleRoutes(app: FastifyInstance, kit: ConsoleKit): void {
  /** The rules page, with whatever an action on the draft produced. */
  const show = async (req: FastifyRequest, reply: FastifyReply, extra: Partial<RulesView> = {}, status = 200) => {
    const res = await kit.callApi('GET', '/api/rules');
    if (res.status !== 200) throw new Error(`GET /api/rules answered ${res.status}: ${res.body?.error}`);
    const view: RulesView = { live: res.body.live, history: res.body.history, draft: res.body.live.yaml, days: 7, ...extra };
    return kit.send(reply, rulesPage(kit.context(req, reply), view), status);
  };
  const draftOf = (req: FastifyRequest) => {
    const f = (req.body ?? {}) as Form;
    const days = Number(f.days);
    // Browsers send a textarea's line breaks as CRLF; the file (and so the version hash) keeps the LF ops typed.
    return { yaml: (f.yaml ?? '').replace(/\r\n/g, '\n'), days: Number.isInteger(days) && days >= 1 && days <= 365 ? days : 7, text: f.text ?? '' };
  };
  /** A refused draft: its problems at their rules and fields, or the API's message. */
  const refused = (body: any) => (Array.isArray(body?.problems) ? { problems: body.problems } : { error: String(body?.error ?? 'refused') });

  app.get('/rules', async (req, reply) => show(req, reply));

  app.get<{ Params: { version: string } }>('/rules/versions/:version', async (req, reply) => {
    const res = await kit.callApi('GET', `/api/rules/versions/${encodeURIComponent(req.params.version)}`);
    if (res.status !== 200) return reply.callNotFound();
    return kit.send(reply, versionPage(kit.context(req, reply), res.body.version, res.body.yaml, res.body.live));
  });

  // For the editor's validate-as-you-type (JSON, CSRF token in a header).
  app.post('/rules/validate', async (req, reply) => {
    const res = await kit.callApi('POST', '/api/rules/validate', { yaml: String((req.body as { yaml?: unknown })?.yaml ?? '') });
    return reply.code(res.status).send(res.body);
  });

  app.post('/rules/try', async (req, reply) => {
    const d = draftOf(req);
    if (!d.text.trim()) return show(req, reply, { draft: d.yaml, days: d.days, error: 'Try a text: write a text first.' }, 400);
    const res = await kit.callApi('POST', '/api/rules/try', { text: d.text, yaml: d.yaml });
    if (res.status !== 200) return show(req, reply, { draft: d.yaml, days: d.days, ...refused(res.body) }, res.status);
    return show(req, reply, { draft: d.yaml, days: d.days, tried: { text: d.text, decision: res.body } });
  });

  app.post('/rules/backtest', async (req, reply) => {
    const d = draftOf(req);
    const res = await kit.callApi('POST', '/api/rules/backtest', { yaml: d.yaml, days: d.days });
    if (res.status !== 200) return show(req, reply, { draft: d.yaml, days: d.days, ...refused(res.body) }, res.status);
    return show(req, reply, { draft: d.yaml, days: d.days, backtest: res.body });
  });

  app.post('/rules/publish', async (req, reply) => {
    const d = draftOf(req);
    const res = await kit.callApi('POST', '/api/rules/publish', { yaml: d.yaml, by: kit.session(req).name });
    if (res.status !== 201) return show(req, reply, { draft: d.yaml, days: d.days, ...refused(res.body) }, res.status);
    return kit.done(req, reply, res, (b) => `Published ${b.version}: it decides the next posts.`);
  });

  app.post('/rules/rollback', async (req, reply) => {
    const version = ((req.body ?? {}) as Form).version ?? '';
    const res = await kit.callApi('POST', '/api/rules/rollback', { version, by: kit.session(req).name });
    return kit.done(req, reply, res, (b) => `Rolled back to ${b.version}: it decides the next posts.`);
  });
}
