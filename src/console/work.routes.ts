import type { FastifyInstance, FastifyRequest } from 'fastify';
import { openingPosts, postsOfContact, sourceHealth, unblockSource } from '../db/console.repo.js';
import { getCase, getContact, getLead, type CaseStatus } from '../db/crm.repo.js';
import { listCases } from '../db/read-models/cases.read.js';
import type { PriorityValue } from '../db/read-models/common.js';
import { listLeads } from '../db/read-models/leads.read.js';
import { NotFoundError } from '../errors.js';
import type { Platform } from '../types.js';
import { POLL_JOB } from '../workers/queues.js';
import type { ConsoleKit } from './kit.js';
import { casePage, casesPage, type CaseFilters, type CaseRow } from './views/cases.js';
import { leadPage, leadsPage, type LeadFilters, type LeadRow } from './views/leads.js';
import { sourcesPage } from './views/sources.js';

const ID = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } as const;
const text = (max: number) => ({ type: 'string', maxLength: max }) as const;
type Form = Record<string, string | undefined>;
const form = (req: FastifyRequest) => (req.body ?? {}) as Form;
const platformOf = (v: string | undefined): Platform | undefined => (v === 'twitter' || v === 'facebook' ? v : undefined);

/** Rows a listing page shows; every filter is applied by the read model, over all the records. */
const SHOWN = 100;

/** Leads, cases, wrong-label feedback and sources: the pages people work from. */
export function workRoutes(app: FastifyInstance, kit: ConsoleKit): void {
  const { sql } = kit;

  app.get<{ Querystring: { platform?: string; source?: string; minScore?: string; rule?: string } }>(
    '/leads',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            platform: { type: 'string', enum: ['', 'twitter', 'facebook'] },
            source: text(100),
            minScore: { type: 'string', pattern: '^(-?[0-9]+(\\.[0-9]+)?)?$' },
            rule: text(100),
          },
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const f: LeadFilters = {
        platform: platformOf(q.platform),
        source: q.source || undefined,
        minScore: q.minScore ? Number(q.minScore) : undefined,
        rule: q.rule || undefined,
      };
      const shown = (await listLeads(sql, {
        status: 'open',
        source: platformOf(q.platform),
        minScore: f.minScore,
        rule: f.rule,
        sourceId: f.source,
        limit: SHOWN,
      })) as unknown as LeadRow[];
      const posts = await openingPosts(
        sql,
        'lead',
        shown.map((l) => l.id),
      );
      return kit.send(reply, leadsPage(kit.context(req, reply), shown, posts, f));
    },
  );

  app.get<{ Params: { id: number } }>('/leads/:id', { schema: { params: ID } }, async (req, reply) => {
    const lead = (await getLead(sql, req.params.id)) as unknown as LeadRow & { postList: Record<string, any>[]; contactId: number };
    const contact = await getContact(sql, lead.contactId).catch((err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err)));
    const others = (await postsOfContact(sql, lead.contactId, 20)).filter((p) => p.leadId !== lead.id);
    return kit.send(reply, leadPage(kit.context(req, reply), lead, contact, others));
  });

  app.post<{ Params: { id: number } }>('/leads/:id/qualify', { schema: { params: ID } }, async (req, reply) => {
    const f = form(req);
    const account = f.account?.trim();
    if (f.kind === 'b2b' && !account) return kit.done(req, reply, { status: 400, body: { error: 'Company: a B2B lead needs the company name' } }, () => '');
    const value = f.value?.trim() ? Number(f.value) : undefined;
    if (value !== undefined && !(value >= 0)) return kit.done(req, reply, { status: 400, body: { error: 'Estimated value: a number, 0 or more' } }, () => '');
    const body = { ...(f.kind === 'b2b' ? { account: { name: account } } : {}), ...(value !== undefined ? { opportunity: { estimatedValue: value } } : {}) };
    const res = await kit.callApi('POST', `/api/leads/${req.params.id}/qualify`, body);
    return kit.done(req, reply, res, (b) => `Lead ${req.params.id} qualified${b?.opportunity?.id ? `: opportunity ${b.opportunity.id}` : ''}.`);
  });

  app.post<{ Params: { id: number } }>('/leads/:id/disqualify', { schema: { params: ID } }, async (req, reply) => {
    const res = await kit.callApi('POST', `/api/leads/${req.params.id}/disqualify`, { reason: form(req).reason });
    return kit.done(req, reply, res, () => `Lead ${req.params.id} disqualified.`);
  });

  app.get<{ Querystring: { status?: string; priority?: string; platform?: string } }>(
    '/cases',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['', 'new', 'in_progress', 'resolved', 'cancelled'] },
            priority: { type: 'string', enum: ['', 'urgent', 'high', 'normal', 'low'] },
            platform: { type: 'string', enum: ['', 'twitter', 'facebook'] },
          },
        },
      },
    },
    async (req, reply) => {
      const f: CaseFilters = { status: req.query.status || undefined, priority: req.query.priority || undefined, platform: req.query.platform || undefined };
      const statuses = (f.status ? [f.status] : ['new', 'in_progress']) as CaseStatus[];
      const cases = (await listCases(sql, {
        statuses,
        origin: platformOf(f.platform),
        priority: f.priority as PriorityValue | undefined,
        order: 'queue',
        limit: SHOWN,
      })) as unknown as CaseRow[];
      const posts = await openingPosts(
        sql,
        'case',
        cases.map((c) => c.id),
      );
      return kit.send(reply, casesPage(kit.context(req, reply), cases, posts, f, Date.now()));
    },
  );

  app.get<{ Params: { id: number } }>('/cases/:id', { schema: { params: ID } }, async (req, reply) => {
    const c = (await getCase(sql, req.params.id)) as unknown as Parameters<typeof casePage>[1];
    return kit.send(reply, casePage(kit.context(req, reply), c, Date.now()));
  });

  app.post<{ Params: { id: number; action: string } }>(
    '/cases/:id/:action',
    {
      schema: {
        params: {
          type: 'object',
          required: ['id', 'action'],
          properties: { id: { type: 'integer', minimum: 1 }, action: { type: 'string', enum: ['start', 'resolve', 'cancel', 'reopen'] } },
        },
      },
    },
    async (req, reply) => {
      const { id, action } = req.params;
      const res = await kit.callApi('POST', `/api/cases/${id}/${action}`);
      return kit.done(req, reply, res, (b) => `Case ${id} is now ${String(b?.status ?? '').replace('_', ' ')}.`);
    },
  );

  app.post<{ Params: { id: number } }>('/posts/:id/feedback', { schema: { params: ID } }, async (req, reply) => {
    const f = form(req);
    const note = f.note?.trim();
    const res = await kit.callApi('POST', `/api/posts/${req.params.id}/feedback`, { label: f.label, ...(note ? { note } : {}) }, kit.session(req).name);
    return kit.done(req, reply, res, () => `Recorded: post ${req.params.id} should be ${f.label}.`);
  });

  app.get('/sources', async (req, reply) => kit.send(reply, sourcesPage(kit.context(req, reply), kit.config.sources, await sourceHealth(sql), Date.now())));

  app.post<{ Params: { id: string } }>(
    '/sources/:id/retry',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } } },
    async (req, reply) => {
      const id = req.params.id;
      if (!kit.config.sources.some((s) => s.id === id)) return kit.done(req, reply, { status: 404, body: { error: `no source ${id}` } }, () => '');
      await unblockSource(sql, id);
      await kit.pollQueue?.add(POLL_JOB, { sourceId: id }, { removeOnComplete: 100, removeOnFail: 100 });
      kit.log.info({ sourceId: id, by: kit.session(req).name }, 'source retried from the console');
      return kit.done(req, reply, { status: 200, body: null }, () => `Source ${id}: polling now.`);
    },
  );
}
