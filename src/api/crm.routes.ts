import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_COST, type Config } from '../config.js';
import type { Sql } from '../db/client.js';
import {
  addEntitlement,
  createAccount,
  DISQUALIFY_REASONS,
  disqualifyLead,
  getAccount,
  getCase,
  getContact,
  getLead,
  getOpportunity,
  listAccounts,
  listOpportunities,
  loseOpportunity,
  mergeContacts,
  mergeSuggestions,
  qualifyLead,
  setAccountRelationship,
  setContactAccount,
  transitionCase,
  undoMerge,
  winOpportunity,
  type CaseAction,
  type ErasureMode,
} from '../db/crm.repo.js';
import { listCases } from '../db/read-models/cases.read.js';
import { ENUMS } from '../db/read-models/common.js';
import { listContacts } from '../db/read-models/contacts.read.js';
import { listLeads } from '../db/read-models/leads.read.js';
import { listPosts } from '../db/read-models/posts.read.js';
import { listSourcesWithSpend } from '../db/read-models/sources.read.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import { erasePerson } from '../workers/erasure.js';
import type { CaptureJobData } from '../workers/queues.js';

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI document. */
    summary?: string;
  }
}

export interface CrmRoutesOptions {
  sql: Sql;
  config: Config;
  /** The bearer token every `/api` request must carry. */
  apiToken: string;
  /** The capture queue: an erasure removes the person's queued jobs. */
  postsQueue: Queue<CaptureJobData>;
  log: Logger;
}

const PLATFORM = { type: 'string', enum: ENUMS.platform } as const;
/** A record id: a positive integer JavaScript holds exactly (bigint ids are far below 2^53). */
const ID = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: ID } } as const;
/** Money fits `numeric(14, 2)`. */
const MONEY = { type: 'number', minimum: 0, maximum: 999_999_999_999.99 } as const;
const LIMIT = { type: 'integer', minimum: 1, maximum: 500, default: 50 } as const;
const ERROR = { type: 'object', properties: { error: { type: 'string' } } } as const;
const RELATIONSHIP = { type: 'string', enum: ['prospect', 'customer', 'vendor', 'partner'] } as const;

type IdParams = { Params: { id: number } };

/**
 * The CRM resources under `/api`: list and read leads, cases, contacts, posts, opportunities and
 * accounts, and every transition on them. Bearer auth on every route; validation by the route
 * schemas (400 naming the field); a transition the state forbids is 409 saying why.
 */
export async function crmRoutes(app: FastifyInstance, opts: CrmRoutesOptions): Promise<void> {
  const { sql, config, apiToken, log } = opts;

  const listResponse = { 200: { type: 'array', items: { type: 'object', additionalProperties: true } }, 401: ERROR };
  const oneResponse = { 200: { type: 'object', additionalProperties: true }, 401: ERROR, 404: ERROR };
  const transitionResponse = { ...oneResponse, 409: ERROR };

  // ------------------------------------------------------------ leads
  app.get<{ Querystring: { status?: 'open' | 'qualified' | 'disqualified'; source?: 'twitter' | 'facebook'; contactId?: number; limit: number } }>(
    '/leads',
    {
      schema: {
        summary: 'List leads',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: ENUMS.leadStatus }, source: PLATFORM, contactId: ID, limit: LIMIT },
        },
        response: listResponse,
      },
    },
    async (req) => listLeads(sql, req.query),
  );
  app.get<IdParams>('/leads/:id', { schema: { summary: 'A lead with the posts that made it', params: ID_PARAMS, response: oneResponse } }, async (req) =>
    getLead(sql, req.params.id),
  );
  app.post<IdParams & { Body: Parameters<typeof qualifyLead>[2] }>(
    '/leads/:id/qualify',
    {
      schema: {
        summary: 'Qualify an open lead: link or create the account (B2B) and contact, create the opportunity',
        params: ID_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            account: {
              type: 'object',
              additionalProperties: false,
              properties: { id: ID, name: { type: 'string', minLength: 1, maxLength: 200 } },
            },
            contact: {
              type: 'object',
              additionalProperties: false,
              properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, email: { type: 'string', format: 'email' } },
            },
            opportunity: {
              type: 'object',
              additionalProperties: false,
              properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, estimatedValue: MONEY },
            },
          },
        },
        response: transitionResponse,
      },
    },
    async (req) => qualifyLead(sql, req.params.id, req.body ?? {}),
  );
  app.post<IdParams & { Body: { reason: (typeof DISQUALIFY_REASONS)[number] } }>(
    '/leads/:id/disqualify',
    {
      schema: {
        summary: 'Disqualify an open lead, with a reason',
        params: ID_PARAMS,
        body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', enum: [...DISQUALIFY_REASONS] } } },
        response: transitionResponse,
      },
    },
    async (req) => disqualifyLead(sql, req.params.id, req.body.reason),
  );

  // ------------------------------------------------------------ opportunities
  app.get<{ Querystring: { status?: 'open' | 'won' | 'lost'; limit: number } }>(
    '/opportunities',
    {
      schema: {
        summary: 'List opportunities',
        querystring: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: ['open', 'won', 'lost'] }, limit: LIMIT } },
        response: listResponse,
      },
    },
    async (req) => listOpportunities(sql, req.query),
  );
  app.get<IdParams>('/opportunities/:id', { schema: { summary: 'An opportunity', params: ID_PARAMS, response: oneResponse } }, async (req) =>
    getOpportunity(sql, req.params.id),
  );
  app.post<IdParams & { Body: { actualValue?: number } }>(
    '/opportunities/:id/win',
    {
      schema: {
        summary: 'Win an open opportunity; a prospect account becomes a customer',
        params: ID_PARAMS,
        body: { type: 'object', additionalProperties: false, properties: { actualValue: MONEY } },
        response: transitionResponse,
      },
    },
    async (req) => winOpportunity(sql, req.params.id, req.body ?? {}),
  );
  app.post<IdParams & { Body: { reason?: string } }>(
    '/opportunities/:id/lose',
    {
      schema: {
        summary: 'Lose an open opportunity',
        params: ID_PARAMS,
        body: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } } },
        response: transitionResponse,
      },
    },
    async (req) => loseOpportunity(sql, req.params.id, req.body ?? {}),
  );

  // ------------------------------------------------------------ cases
  app.get<{ Querystring: { status?: 'new' | 'in_progress' | 'resolved' | 'cancelled'; origin?: 'twitter' | 'facebook'; priority?: 'low' | 'normal' | 'high' | 'urgent'; contactId?: number; limit: number } }>(
    '/cases',
    {
      schema: {
        summary: 'List cases',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ENUMS.caseStatus },
            origin: PLATFORM,
            priority: { type: 'string', enum: ENUMS.priority },
            contactId: ID,
            limit: LIMIT,
          },
        },
        response: listResponse,
      },
    },
    async (req) => listCases(sql, req.query),
  );
  app.get<IdParams>(
    '/cases/:id',
    { schema: { summary: "A case with its posts, time left, entitlements and the customer's other recent cases", params: ID_PARAMS, response: oneResponse } },
    async (req) => getCase(sql, req.params.id),
  );
  const caseActions: Record<CaseAction, string> = {
    start: 'Start work on a new case (new → in_progress)',
    resolve: 'Resolve a new or in-progress case',
    cancel: 'Cancel a new or in-progress case',
    reopen: 'Reopen a resolved or cancelled case (→ in_progress)',
  };
  for (const [action, summary] of Object.entries(caseActions) as [CaseAction, string][]) {
    app.post<IdParams>(`/cases/:id/${action}`, { schema: { summary, params: ID_PARAMS, response: transitionResponse } }, async (req) =>
      transitionCase(sql, req.params.id, action),
    );
  }

  // ------------------------------------------------------------ contacts and identity
  app.get<{ Querystring: { limit: number; includeMerged?: boolean } }>(
    '/contacts',
    {
      schema: {
        summary: 'List contacts with their identities',
        querystring: { type: 'object', additionalProperties: false, properties: { limit: LIMIT, includeMerged: { type: 'boolean' } } },
        response: listResponse,
      },
    },
    async (req) => listContacts(sql, req.query),
  );
  app.get<IdParams>('/contacts/:id', { schema: { summary: 'A contact', params: ID_PARAMS, response: oneResponse } }, async (req) => getContact(sql, req.params.id));
  app.put<IdParams & { Body: { accountId: number | null } }>(
    '/contacts/:id/account',
    {
      schema: {
        summary: 'Put a contact under an account (null: none)',
        params: ID_PARAMS,
        body: { type: 'object', required: ['accountId'], additionalProperties: false, properties: { accountId: { ...ID, type: ['integer', 'null'] } } },
        response: oneResponse,
      },
    },
    async (req) => setContactAccount(sql, req.params.id, req.body.accountId),
  );
  app.get<{ Querystring: { limit: number } }>(
    '/sources',
    { schema: { summary: 'Each source: health, cursor, requests, posts read, spend and budget', querystring: { type: 'object', properties: { limit: LIMIT } }, response: listResponse } },
    async (req) => listSourcesWithSpend(sql, config.sources, config.cost ?? DEFAULT_COST, req.query.limit),
  );
  app.get('/merge-suggestions', { schema: { summary: 'Contacts that are probably one person, for a person to accept', response: listResponse } }, async () =>
    mergeSuggestions(sql),
  );
  app.post<{ Body: { survivorId: number; mergedId: number } }>(
    '/merges',
    {
      schema: {
        summary: 'Merge a contact into a chosen survivor',
        body: {
          type: 'object',
          required: ['survivorId', 'mergedId'],
          additionalProperties: false,
          properties: { survivorId: ID, mergedId: ID },
        },
        response: transitionResponse,
      },
    },
    async (req) => mergeContacts(sql, req.body.survivorId, req.body.mergedId),
  );
  app.post<IdParams>('/merges/:id/undo', { schema: { summary: 'Undo a merge', params: ID_PARAMS, response: transitionResponse } }, async (req) =>
    undoMerge(sql, req.params.id),
  );
  app.post<{ Body: { platform: 'twitter' | 'facebook'; userId: string; mode?: ErasureMode } }>(
    '/erasures',
    {
      schema: {
        summary: "Erase a person: posts, identities, contact data; their leads and cases deleted or anonymized",
        body: {
          type: 'object',
          required: ['platform', 'userId'],
          additionalProperties: false,
          properties: { platform: PLATFORM, userId: { type: 'string', minLength: 1 }, mode: { type: 'string', enum: ['delete', 'anonymize'] } },
        },
        response: oneResponse,
      },
    },
    async (req) => erasePerson(sql, opts.postsQueue, req.body.platform, req.body.userId, req.body.mode ?? config.erasureMode ?? 'anonymize'),
  );

  // ------------------------------------------------------------ accounts
  app.get<{ Querystring: { limit: number } }>(
    '/accounts',
    { schema: { summary: 'List accounts', querystring: { type: 'object', additionalProperties: false, properties: { limit: LIMIT } }, response: listResponse } },
    async (req) => listAccounts(sql, req.query),
  );
  app.get<IdParams>('/accounts/:id', { schema: { summary: 'An account', params: ID_PARAMS, response: oneResponse } }, async (req) => getAccount(sql, req.params.id));
  app.post<{ Body: { name: string; relationship?: 'prospect' | 'customer' | 'vendor' | 'partner' } }>(
    '/accounts',
    {
      schema: {
        summary: 'Create an account',
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, relationship: RELATIONSHIP } },
        response: { 201: { type: 'object', additionalProperties: true }, 401: ERROR, 409: ERROR },
      },
    },
    async (req, reply) => reply.code(201).send(await createAccount(sql, req.body)),
  );
  app.put<IdParams & { Body: { relationship: 'prospect' | 'customer' | 'vendor' | 'partner' } }>(
    '/accounts/:id/relationship',
    {
      schema: {
        summary: "Set an account's relationship",
        params: ID_PARAMS,
        body: { type: 'object', required: ['relationship'], additionalProperties: false, properties: { relationship: RELATIONSHIP } },
        response: oneResponse,
      },
    },
    async (req) => setAccountRelationship(sql, req.params.id, req.body.relationship),
  );
  app.post<{ Body: { accountId?: number; contactId?: number; name: string; startsAt?: string; endsAt?: string } }>(
    '/entitlements',
    {
      schema: {
        summary: 'Add a support entitlement to an account or a contact',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          oneOf: [{ required: ['accountId'] }, { required: ['contactId'] }],
          properties: {
            accountId: ID,
            contactId: ID,
            name: { type: 'string', minLength: 1, maxLength: 200 },
            startsAt: { type: 'string', format: 'date-time' },
            endsAt: { type: 'string', format: 'date-time' },
          },
        },
        response: { 201: { type: 'object', additionalProperties: true }, 401: ERROR, 404: ERROR },
      },
    },
    async (req, reply) => reply.code(201).send(await addEntitlement(sql, req.body)),
  );

  // ------------------------------------------------------------ posts
  app.get<{ Querystring: { status?: 'pending' | 'processed' | 'failed'; label?: 'lead' | 'case' | 'none'; platform?: 'twitter' | 'facebook'; limit: number } }>(
    '/posts',
    {
      schema: {
        summary: 'List posts with their decision trace',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ENUMS.postStatus },
            label: { type: 'string', enum: ENUMS.label },
            platform: PLATFORM,
            limit: LIMIT,
          },
        },
        response: listResponse,
      },
    },
    async (req) => listPosts(sql, req.query),
  );
}
