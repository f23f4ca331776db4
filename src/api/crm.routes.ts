import type { Queue } from 'bullmq';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { DEFAULT_COST, type Config } from '../config.js';
import type { Sql } from '../db/client.js';
import {
  addEntitlement,
  createAccount,
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
} from '../db/crm.repo.js';
import { listCases } from '../db/read-models/cases.read.js';
import { ENUMS } from '../db/read-models/common.js';
import { listContacts } from '../db/read-models/contacts.read.js';
import { listLeads } from '../db/read-models/leads.read.js';
import { listPosts } from '../db/read-models/posts.read.js';
import { listSourcesWithSpend } from '../db/read-models/sources.read.js';
import type { Logger } from '../logger.js';
import {
  Account,
  Case,
  CaseDetail,
  Contact,
  DisqualifyReason,
  Disqualified,
  Entitlement,
  Erasure,
  ErrorBody,
  Id,
  IdParams,
  Label,
  Lead,
  LeadDetail,
  Limit,
  Merge,
  MergeSuggestion,
  MergeUndone,
  Money,
  Opportunity,
  OpportunityStatus,
  paged,
  Platform,
  Post,
  Qualified,
  record,
  records,
  Relationship,
  Source,
  StringEnum,
} from './schemas.js';
import { erasePerson } from '../workers/erasure.js';
import type { CaptureJobData } from '../workers/queues.js';

export interface CrmRoutesOptions {
  sql: Sql;
  config: Config;
  /** The capture queue: an erasure removes the person's queued jobs. */
  postsQueue: Queue<CaptureJobData>;
  log: Logger;
}

/**
 * The CRM resources under `/api`: list and read leads, cases, contacts, posts, opportunities and
 * accounts, and every transition on them. Bearer auth on every route; validation by the route
 * schemas (400 naming the field); a transition the state forbids is 409 saying why.
 */
export async function crmRoutes(app: FastifyInstance, opts: CrmRoutesOptions): Promise<void> {
  const { sql, config } = opts;

  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const Str200 = Type.String({ minLength: 1, maxLength: 200 });
  const one = <T extends TSchema>(t: T) => ({ 200: t, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody });
  const many = <T extends TSchema>(t: T) => ({ 200: Type.Array(t), 400: ErrorBody, 401: ErrorBody });
  const transition = <T extends TSchema>(t: T) => ({ 200: t, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody });
  const changed = <T extends TSchema>(t: T) => ({ 200: t, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody });

  // ------------------------------------------------------------ leads
  r.get(
    '/leads',
    {
      schema: {
        summary: 'List leads',
        querystring: Type.Object(
          { status: Type.Optional(StringEnum(ENUMS.leadStatus)), source: Type.Optional(Platform), contactId: Type.Optional(Id), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: many(Lead),
      },
    },
    async (req) => listLeads(sql, paged(req.query)),
  );
  r.get('/leads/:id', { schema: { summary: 'A lead with the posts that made it', params: IdParams, response: one(LeadDetail) } }, async (req) =>
    record(LeadDetail, getLead(sql, req.params.id)),
  );
  r.post(
    '/leads/:id/qualify',
    {
      schema: {
        summary: 'Qualify an open lead: link or create the account (B2B) and contact, create the opportunity',
        params: IdParams,
        body: Type.Object(
          {
            account: Type.Optional(Type.Object({ id: Type.Optional(Id), name: Type.Optional(Str200) }, { additionalProperties: false })),
            contact: Type.Optional(
              Type.Object({ name: Type.Optional(Str200), email: Type.Optional(Type.String({ format: 'email' })) }, { additionalProperties: false }),
            ),
            opportunity: Type.Optional(Type.Object({ name: Type.Optional(Str200), estimatedValue: Type.Optional(Money) }, { additionalProperties: false })),
          },
          { additionalProperties: false },
        ),
        response: transition(Qualified),
      },
    },
    async (req) => record(Qualified, qualifyLead(sql, req.params.id, req.body ?? {})),
  );
  r.post(
    '/leads/:id/disqualify',
    {
      schema: {
        summary: 'Disqualify an open lead, with a reason',
        params: IdParams,
        body: Type.Object({ reason: DisqualifyReason }, { additionalProperties: false }),
        response: transition(Disqualified),
      },
    },
    async (req) => disqualifyLead(sql, req.params.id, req.body.reason),
  );

  // ------------------------------------------------------------ opportunities
  r.get(
    '/opportunities',
    {
      schema: {
        summary: 'List opportunities',
        querystring: Type.Object({ status: Type.Optional(OpportunityStatus), limit: Type.Optional(Limit) }, { additionalProperties: false }),
        response: many(Opportunity),
      },
    },
    async (req) => records(Opportunity, listOpportunities(sql, paged(req.query))),
  );
  r.get('/opportunities/:id', { schema: { summary: 'An opportunity', params: IdParams, response: one(Opportunity) } }, async (req) =>
    record(Opportunity, getOpportunity(sql, req.params.id)),
  );
  r.post(
    '/opportunities/:id/win',
    {
      schema: {
        summary: 'Win an open opportunity; a prospect account becomes a customer',
        params: IdParams,
        body: Type.Object({ actualValue: Type.Optional(Money) }, { additionalProperties: false }),
        response: transition(Opportunity),
      },
    },
    async (req) => record(Opportunity, winOpportunity(sql, req.params.id, req.body ?? {})),
  );
  r.post(
    '/opportunities/:id/lose',
    {
      schema: {
        summary: 'Lose an open opportunity',
        params: IdParams,
        body: Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) }, { additionalProperties: false }),
        response: transition(Opportunity),
      },
    },
    async (req) => record(Opportunity, loseOpportunity(sql, req.params.id, req.body ?? {})),
  );

  // ------------------------------------------------------------ cases
  r.get(
    '/cases',
    {
      schema: {
        summary: 'List cases',
        querystring: Type.Object(
          {
            status: Type.Optional(StringEnum(ENUMS.caseStatus)),
            origin: Type.Optional(Platform),
            priority: Type.Optional(StringEnum(ENUMS.priority)),
            contactId: Type.Optional(Id),
            limit: Type.Optional(Limit),
          },
          { additionalProperties: false },
        ),
        response: many(Case),
      },
    },
    async (req) => listCases(sql, paged(req.query)),
  );
  r.get(
    '/cases/:id',
    {
      schema: { summary: "A case with its posts, time left, entitlements and the customer's other recent cases", params: IdParams, response: one(CaseDetail) },
    },
    async (req) => record(CaseDetail, getCase(sql, req.params.id)),
  );
  const caseActions: Record<CaseAction, string> = {
    start: 'Start work on a new case (new → in_progress)',
    resolve: 'Resolve a new or in-progress case',
    cancel: 'Cancel a new or in-progress case',
    reopen: 'Reopen a resolved or cancelled case (→ in_progress)',
  };
  for (const [action, summary] of Object.entries(caseActions) as [CaseAction, string][]) {
    r.post(`/cases/:id/${action}`, { schema: { summary, params: IdParams, response: transition(Case) } }, async (req) =>
      record(Case, transitionCase(sql, req.params.id, action)),
    );
  }

  // ------------------------------------------------------------ contacts and identity
  r.get(
    '/contacts',
    {
      schema: {
        summary: 'List contacts with their identities',
        querystring: Type.Object({ limit: Type.Optional(Limit), includeMerged: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: many(Contact),
      },
    },
    async (req) => listContacts(sql, paged(req.query)),
  );
  r.get('/contacts/:id', { schema: { summary: 'A contact', params: IdParams, response: one(Contact) } }, async (req) =>
    record(Contact, getContact(sql, req.params.id)),
  );
  r.put(
    '/contacts/:id/account',
    {
      schema: {
        summary: 'Put a contact under an account (null: none)',
        params: IdParams,
        // `type: ['integer', 'null']`, not anyOf: the strict-input hook reads `type` to refuse "5" and 1e20.
        body: Type.Object({ accountId: Type.Unsafe<number | null>({ ...Id, type: ['integer', 'null'] }) }, { additionalProperties: false }),
        response: changed(Contact),
      },
    },
    async (req) => record(Contact, setContactAccount(sql, req.params.id, req.body.accountId)),
  );
  r.get(
    '/sources',
    {
      schema: {
        summary: 'Each source: health, cursor, requests, posts read, spend and budget',
        querystring: Type.Object({ limit: Type.Optional(Limit) }),
        response: many(Source),
      },
    },
    async (req) => listSourcesWithSpend(sql, config.sources, config.cost ?? DEFAULT_COST, paged(req.query).limit),
  );
  r.get(
    '/merge-suggestions',
    { schema: { summary: 'Contacts that are probably one person, for a person to accept', response: { 200: Type.Array(MergeSuggestion), 401: ErrorBody } } },
    async () => mergeSuggestions(sql),
  );
  r.post(
    '/merges',
    {
      schema: {
        summary: 'Merge a contact into a chosen survivor',
        body: Type.Object({ survivorId: Id, mergedId: Id }, { additionalProperties: false }),
        response: transition(Merge),
      },
    },
    async (req) => mergeContacts(sql, req.body.survivorId, req.body.mergedId),
  );
  r.post('/merges/:id/undo', { schema: { summary: 'Undo a merge', params: IdParams, response: transition(MergeUndone) } }, async (req) =>
    undoMerge(sql, req.params.id),
  );
  r.post(
    '/erasures',
    {
      schema: {
        summary: 'Erase a person: posts, identities, contact data; their leads and cases deleted or anonymized',
        body: Type.Object(
          { platform: Platform, userId: Type.String({ minLength: 1 }), mode: Type.Optional(StringEnum(['delete', 'anonymize'])) },
          { additionalProperties: false },
        ),
        response: changed(Erasure),
      },
    },
    async (req) => erasePerson(sql, opts.postsQueue, req.body.platform, req.body.userId, req.body.mode ?? config.erasureMode ?? 'anonymize'),
  );

  // ------------------------------------------------------------ accounts
  r.get(
    '/accounts',
    {
      schema: { summary: 'List accounts', querystring: Type.Object({ limit: Type.Optional(Limit) }, { additionalProperties: false }), response: many(Account) },
    },
    async (req) => records(Account, listAccounts(sql, paged(req.query))),
  );
  r.get('/accounts/:id', { schema: { summary: 'An account', params: IdParams, response: one(Account) } }, async (req) =>
    record(Account, getAccount(sql, req.params.id)),
  );
  r.post(
    '/accounts',
    {
      schema: {
        summary: 'Create an account',
        body: Type.Object({ name: Str200, relationship: Type.Optional(Relationship) }, { additionalProperties: false }),
        response: { 201: Account, 400: ErrorBody, 401: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => reply.code(201).send(await record(Account, createAccount(sql, req.body))),
  );
  r.put(
    '/accounts/:id/relationship',
    {
      schema: {
        summary: "Set an account's relationship",
        params: IdParams,
        body: Type.Object({ relationship: Relationship }, { additionalProperties: false }),
        response: changed(Account),
      },
    },
    async (req) => record(Account, setAccountRelationship(sql, req.params.id, req.body.relationship)),
  );
  r.post(
    '/entitlements',
    {
      schema: {
        summary: 'Add a support entitlement to an account or a contact',
        body: Type.Object(
          {
            accountId: Type.Optional(Id),
            contactId: Type.Optional(Id),
            name: Str200,
            startsAt: Type.Optional(Type.String({ format: 'date-time' })),
            endsAt: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false, oneOf: [{ required: ['accountId'] }, { required: ['contactId'] }] },
        ),
        response: { 201: Entitlement, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => reply.code(201).send(await record(Entitlement, addEntitlement(sql, req.body))),
  );

  // ------------------------------------------------------------ posts
  r.get(
    '/posts',
    {
      schema: {
        summary: 'List posts with their decision trace',
        querystring: Type.Object(
          {
            status: Type.Optional(StringEnum(ENUMS.postStatus)),
            label: Type.Optional(Label),
            platform: Type.Optional(Platform),
            limit: Type.Optional(Limit),
          },
          { additionalProperties: false },
        ),
        response: many(Post),
      },
    },
    async (req) => listPosts(sql, paged(req.query)),
  );
}
