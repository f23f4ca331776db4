import { EVENT_TYPES, type AggregateType, type EventType } from '../db/outbox.repo.js';

type Schema = Record<string, unknown>;

const ISO = { type: 'string', format: 'date-time' } as const;
const ID = { type: 'integer' } as const;
const NULLABLE_ID = { type: ['integer', 'null'] } as const;

/** The record each kind of event carries as `data`: the JSON the API returns for it (more fields may come). */
const RECORDS: Record<AggregateType, Schema> = {
  lead: {
    type: 'object',
    required: ['id', 'status'],
    properties: {
      id: ID,
      status: { enum: ['open', 'qualified', 'disqualified'] },
      source: { type: 'string' },
      contactId: ID,
      accountId: NULLABLE_ID,
      subject: { type: 'string' },
      score: { type: 'number' },
      opportunityId: NULLABLE_ID,
      posts: ID,
      createdAt: ISO,
      updatedAt: ISO,
    },
  },
  case: {
    type: 'object',
    required: ['id', 'status', 'priority'],
    properties: {
      id: ID,
      status: { enum: ['new', 'in_progress', 'resolved', 'cancelled'] },
      priority: { enum: ['low', 'normal', 'high', 'urgent'] },
      origin: { type: 'string' },
      contactId: ID,
      title: { type: 'string' },
      resolveBy: ISO,
      posts: ID,
      createdAt: ISO,
      updatedAt: ISO,
    },
  },
  contact: {
    type: 'object',
    required: ['id'],
    properties: {
      id: ID,
      name: { type: ['string', 'null'] },
      email: { type: ['string', 'null'] },
      accountId: NULLABLE_ID,
      mergedIntoId: NULLABLE_ID,
      identities: { type: 'array' },
      openLeads: ID,
      openCases: ID,
    },
  },
  opportunity: {
    type: 'object',
    required: ['id', 'status'],
    properties: {
      id: ID,
      leadId: NULLABLE_ID,
      status: { enum: ['open', 'won', 'lost'] },
      name: { type: 'string' },
      estimatedValue: { type: ['number', 'null'] },
      closeReason: { type: ['string', 'null'] },
      closedAt: { type: ['string', 'null'] },
    },
  },
  feedback: { type: 'object', required: ['id'], properties: { id: ID } },
};

const POST = { type: 'object', properties: { postId: ID, platform: { enum: ['twitter', 'facebook'] }, externalId: { type: 'string' } } } as const;

/** What `change` holds, per event type (null where the record says it all). */
const CHANGES: Partial<Record<EventType, Schema>> = {
  'lead.created': { type: 'object', properties: { post: POST } },
  'case.created': { type: 'object', properties: { post: POST } },
  'case.post_attached': { type: 'object', properties: { post: POST } },
  'lead.qualified': { type: 'object', properties: { opportunityId: ID } },
  'lead.disqualified': { type: 'object', properties: { reason: { type: 'string' } } },
  'case.status_changed': {
    type: 'object',
    properties: { from: { type: 'string' }, to: { type: 'string' }, action: { enum: ['started', 'resolved', 'cancelled', 'reopened'] } },
  },
  'case.priority_changed': { type: 'object', properties: { field: { const: 'priority' }, from: { type: 'string' }, to: { type: 'string' } } },
  'contact.merged': { type: 'object', properties: { mergeId: ID, survivorId: ID, mergedId: ID, moved: { type: 'object' } } },
  'contact.unmerged': { type: 'object', properties: { mergeId: ID, survivorId: ID, mergedId: ID } },
  'contact.erased': {
    type: 'object',
    properties: { leads: { type: 'array', items: ID }, cases: { type: 'array', items: ID }, opportunities: { type: 'array', items: ID } },
  },
};

/** The JSON body of one event type, as a webhook POSTs it and `/api/events` lists it. */
export function eventSchema(type: EventType): Schema {
  const aggregate = EVENT_TYPES[type];
  return {
    type: 'object',
    required: ['id', 'type', 'timestamp', 'aggregate', 'data'],
    properties: {
      id: { type: 'string', format: 'uuid', description: 'Also the webhook-id header: de-duplicate on it.' },
      type: { const: type },
      timestamp: ISO,
      aggregate: {
        type: 'object',
        properties: { type: { const: aggregate }, id: ID, sequence: { type: 'integer', minimum: 1, description: 'Per record: apply in this order.' } },
      },
      data: type === 'contact.erased' ? { type: 'object', properties: { id: ID, erased: { const: true } } } : RECORDS[aggregate],
      change: CHANGES[type] ? { oneOf: [CHANGES[type], { type: 'null' }] } : { type: 'null' },
    },
  };
}

const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => ({
  name,
  in: 'header',
  required: true,
  schema: { type: 'string' },
}));

/**
 * OpenAPI 3.1 `webhooks`: one entry per event type, signed per the Standard Webhooks spec. The
 * OpenAPI builder includes this as the document's `webhooks` member.
 */
export function eventWebhooks(): Record<string, Schema> {
  return Object.fromEntries(
    (Object.keys(EVENT_TYPES) as EventType[]).map((type) => [
      type,
      {
        post: {
          summary: `${type} (signed: verify webhook-signature with the endpoint's secret; see docs/webhooks.md)`,
          parameters: SIGNATURE_HEADERS,
          requestBody: { required: true, content: { 'application/json': { schema: eventSchema(type) } } },
          responses: { '2XX': { description: 'Received. Anything else, or no answer in time, is retried.' } },
        },
      },
    ]),
  );
}
