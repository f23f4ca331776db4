import { type Static, type TSchema, Type } from 'typebox';
import type { SourceWithSpend } from '../db/read-models/sources.read.js';
import type { CaseRow } from '../db/read-models/cases.read.js';
import { ENUMS, LIMIT as PAGE } from '../db/read-models/common.js';
import type { ContactRow } from '../db/read-models/contacts.read.js';
import type { LeadRow } from '../db/read-models/leads.read.js';
import type { PostRow } from '../db/read-models/posts.read.js';
import { DISQUALIFY_REASONS } from '../db/crm.repo.js';
import type { DatabaseHealth } from '../db/embedded.js';
import type { FeedbackRow, RuleReportRow } from '../db/feedback.repo.js';
import { EVENT_TYPES, type EventMessage, type EventType } from '../db/outbox.repo.js';
import type { Endpoint } from '../db/webhooks.repo.js';
import type { ErasureResult } from '../workers/erasure.js';

/**
 * The JSON the API takes and returns, as TypeBox schemas: each gives a route its TypeScript type (through
 * the type provider), its validation and its part of `/openapi.json`. Fastify serializes a response by its
 * schema and drops any field the schema does not name, so every field a read model returns is here; the
 * types at the end fail to compile when a schema and its read model's interface differ.
 */

/** `{ type: 'string', enum }`: the form Ajv, the strict-input hook and OpenAPI clients all read plainly. */
export const StringEnum = <const T extends readonly string[]>(values: T, opts: { description?: string } = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/** Timestamps are ISO 8601 text in UTC, as the read models select them. */
const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Nullable(Timestamp);
/** A count or a record id in a response. */
const Int = Type.Integer();
const NullableId = Nullable(Type.Integer());

// ---------------------------------------------------------------- input parts

/** A record id: a positive integer JavaScript holds exactly (bigint ids are far below 2^53). */
export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
/** `:id` in a path. */
export const IdParams = Type.Object({ id: Id });
/** A listing's page size (CLI and API alike). */
export const Limit = Type.Integer({ minimum: PAGE.min, maximum: PAGE.max, default: PAGE.default });
/** Money fits `numeric(14, 2)`. */
export const Money = Type.Number({ minimum: 0, maximum: 999_999_999_999.99 });
export const Platform = StringEnum(ENUMS.platform);
export const Relationship = StringEnum(['prospect', 'customer', 'vendor', 'partner']);
export const OpportunityStatus = StringEnum(['open', 'won', 'lost']);
export const DisqualifyReason = StringEnum(DISQUALIFY_REASONS);
export const Label = StringEnum(ENUMS.label);

/** A listing's query with its page size: Fastify's Ajv fills `limit`'s default in; this tells the type so. */
export const paged = <Q extends { limit?: number | undefined }>(q: Q): Q & { limit: number } => ({ ...q, limit: q.limit ?? PAGE.default });

/**
 * A row the repository selects untyped (crm.repo's plain `sql` reads), typed as its response schema says.
 * Nothing checks it at compile time: test/integration/openapi.test.ts checks the real rows against the schema.
 */
export async function record<T extends TSchema>(_schema: T, row: Promise<unknown>): Promise<Static<T>> {
  return (await row) as Static<T>;
}

/** {@link record} for a listing. */
export async function records<T extends TSchema>(_schema: T, rows: Promise<readonly unknown[]>): Promise<Static<T>[]> {
  return [...(await rows)] as Static<T>[];
}

/** Every error body: one message, naming the field for a 400. */
export const ErrorBody = Type.Object({ error: Type.String() });

// ---------------------------------------------------------------- records

/** One post of a lead or a case, with the classifier's decision. */
export const PostBrief = Type.Object({
  id: Int,
  platform: Platform,
  externalId: Type.String(),
  sourceId: Type.String(),
  text: Type.String(),
  status: StringEnum(ENUMS.postStatus),
  label: Nullable(Label),
  decision: Type.Unknown({ description: "The classifier's explanation: rules, matched terms, per-label scores." }),
  postedAt: NullableTimestamp,
  receivedAt: Timestamp,
});

/** {@link LeadRow}. */
export const Lead = Type.Object({
  id: Int,
  status: StringEnum(ENUMS.leadStatus),
  source: Platform,
  contactId: Int,
  contact: Nullable(Type.String({ description: "The contact's name; null when unknown or erased." })),
  accountId: NullableId,
  subject: Type.String(),
  score: Type.Number(),
  rulesetVersion: Type.String(),
  rules: Type.Unknown({ description: 'The rules that fired on the post that opened the lead.' }),
  disqualifyReason: Nullable(Type.String()),
  opportunityId: NullableId,
  posts: Type.Integer({ description: 'How many posts are on the lead.' }),
  author: Nullable(Type.String({ description: "Handle (`@x`) or name of the first post's author." })),
  text: Nullable(Type.String({ description: "The first post's text." })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastActivityAt: Timestamp,
});
/** A lead with the posts that made it. */
export const LeadDetail = Type.Object({ ...Lead.properties, postList: Type.Array(PostBrief) });

/** {@link CaseRow}. */
export const Case = Type.Object({
  id: Int,
  status: StringEnum(ENUMS.caseStatus),
  origin: Platform,
  priority: StringEnum(ENUMS.priority),
  priorityReason: Nullable(Type.String()),
  contactId: Int,
  contact: Nullable(Type.String({ description: "The contact's name; null when unknown or erased." })),
  title: Type.String(),
  resolveBy: Timestamp,
  resolvedAt: NullableTimestamp,
  reopenCount: Int,
  conversationId: Nullable(Type.String()),
  rulesetVersion: Type.String(),
  rules: Type.Unknown(),
  posts: Int,
  author: Nullable(Type.String()),
  text: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastActivityAt: Timestamp,
});

/** A support entitlement of an account or a contact. */
export const Entitlement = Type.Object({
  id: Int,
  name: Type.String(),
  accountId: NullableId,
  contactId: NullableId,
  startsAt: Timestamp,
  endsAt: NullableTimestamp,
});

/** A case with its posts, the time left, live entitlements and the customer's other cases of the last 90 days. */
export const CaseDetail = Type.Object({
  ...Case.properties,
  msToResolveBy: Type.Number({ description: 'Milliseconds until resolveBy; negative when overdue.' }),
  postList: Type.Array(PostBrief),
  otherRecentCases: Type.Array(
    Type.Object({
      id: Int,
      status: StringEnum(ENUMS.caseStatus),
      priority: StringEnum(ENUMS.priority),
      origin: Platform,
      title: Type.String(),
      createdAt: Timestamp,
    }),
  ),
  entitlements: Type.Array(Entitlement),
});

/** {@link ContactRow}. */
export const Contact = Type.Object({
  id: Int,
  name: Nullable(Type.String()),
  email: Nullable(Type.String()),
  accountId: NullableId,
  mergedIntoId: NullableId,
  identities: Type.Array(Type.Object({ id: Int, platform: Platform, userId: Type.String(), handle: Nullable(Type.String()) })),
  openLeads: Int,
  openCases: Int,
  createdAt: Timestamp,
});

/** {@link PostRow}. */
export const Post = Type.Object({
  id: Int,
  platform: Platform,
  externalId: Type.String(),
  sourceId: Type.String(),
  status: StringEnum(ENUMS.postStatus),
  error: Nullable(Type.String()),
  attempts: Int,
  label: Nullable(Label),
  score: Nullable(Type.Number()),
  priority: Nullable(StringEnum(ENUMS.priority)),
  author: Nullable(Type.String({ description: 'Handle (`@x`) or name of the author; their platform id when neither is known.' })),
  text: Type.String(),
  decision: Type.Unknown({ description: "The classifier's explanation: rules, matched terms, per-label scores." }),
  rulesetVersion: Nullable(Type.String()),
  contactId: NullableId,
  leadId: NullableId,
  caseId: NullableId,
  receivedAt: Timestamp,
  processedAt: NullableTimestamp,
});

/** {@link SourceWithSpend}: the spend fields only for configured sources. */
export const Source = Type.Object({
  id: Type.String(),
  platform: Nullable(Type.String()),
  kind: Nullable(Type.String()),
  configured: Type.Boolean(),
  healthy: Nullable(Type.Boolean()),
  postsFetched: Int,
  lastSuccessAt: NullableTimestamp,
  lastErrorAt: NullableTimestamp,
  lastError: Nullable(Type.String()),
  blockedUntil: NullableTimestamp,
  nextPollAt: NullableTimestamp,
  cursor: Nullable(Type.String()),
  health: StringEnum(['ok', 'unhealthy', 'budget exhausted']),
  requestsToday: Type.Optional(Int),
  postsReadToday: Type.Optional(Int),
  spendUsdToday: Type.Optional(Type.Number()),
  requestsMonth: Type.Optional(Int),
  postsReadMonth: Type.Optional(Int),
  postsChargedMonth: Type.Optional(Int),
  spendUsdMonth: Type.Optional(Type.Number()),
  budgetPostsPerMonth: Type.Optional(Nullable(Int)),
  budgetUsed: Type.Optional(Type.Number({ description: "Share used of the tighter of the source's budget and the account cap (0–1+)." })),
  budgetStatus: Type.Optional(StringEnum(['ok', 'warning', 'budget exhausted'])),
  month: Type.Optional(Type.String({ description: 'Start of the billing month the figures are for.' })),
  resumesOn: Type.Optional(Nullable(Type.String())),
});

export const Opportunity = Type.Object({
  id: Int,
  leadId: NullableId,
  accountId: NullableId,
  contactId: NullableId,
  name: Type.String(),
  status: OpportunityStatus,
  estimatedValue: Nullable(Type.Number()),
  closeReason: Nullable(Type.String()),
  closedAt: NullableTimestamp,
  createdAt: Timestamp,
});

export const Account = Type.Object({ id: Int, name: Type.String(), relationship: Relationship, createdAt: Timestamp });

/** What `POST /leads/:id/qualify` did. */
export const Qualified = Type.Object({ leadId: Int, status: Type.Literal('qualified'), contactId: Int, accountId: NullableId, opportunity: Opportunity });
export const Disqualified = Type.Object({ leadId: Int, status: Type.Literal('disqualified'), disqualifyReason: DisqualifyReason });

export const MergeSuggestion = Type.Object({ contactId: Int, otherContactId: Int, reason: Type.String(), evidence: Type.String() });
const Ids = Type.Array(Int);
/** A merge and the ids of the rows it moved (an undo moves exactly these back). */
export const Merge = Type.Object({
  mergeId: Int,
  survivorId: Int,
  mergedId: Int,
  moved: Type.Object({
    identities: Ids,
    handles: Ids,
    posts: Ids,
    leads: Ids,
    cases: Ids,
    opportunities: Ids,
    entitlements: Ids,
    email: Nullable(Type.String({ description: "The merged contact's e-mail, moved to a survivor that had none." })),
  }),
});
export const MergeUndone = Type.Object({ mergeId: Int, survivorId: Int, mergedId: Int, undone: Type.Boolean() });

/** {@link ErasureResult}: what an erasure removed or anonymized, by kind. */
export const Erasure = Type.Object({
  platform: Platform,
  userId: Type.String(),
  mode: StringEnum(['delete', 'anonymize']),
  contacts: Int,
  identities: Int,
  posts: Int,
  handles: Int,
  leads: Int,
  cases: Int,
  opportunities: Int,
  merges: Int,
  jobsRemoved: Int,
});

// ---------------------------------------------------------------- feedback

/** {@link FeedbackRow}. */
export const Feedback = Type.Object({ id: Int, postId: Int, label: Label, note: Nullable(Type.String()), actor: Type.String(), createdAt: Timestamp });

/** {@link RuleReportRow}. */
export const RuleReport = Type.Object({
  rule: Type.String(),
  label: StringEnum(['lead', 'case']),
  fired: Type.Integer({ description: 'Decided posts the rule fired on.' }),
  corrected: Type.Integer({ description: 'Of those, posts with a correction.' }),
  right: Type.Integer({ description: 'Corrected posts where the rule pointed the right way.' }),
  precision: Nullable(Type.Number({ description: 'right / corrected; null when no post it fired on was corrected.' })),
  wrong: Type.Array(Type.Object({ postId: Int, text: Type.String(), decided: Label, corrected: Label })),
});

// ---------------------------------------------------------------- webhooks and the event feed

/** {@link Endpoint}: never its secret. */
export const WebhookEndpoint = Type.Object({
  id: Int,
  url: Type.String(),
  description: Nullable(Type.String()),
  events: Type.Array(Type.String()),
  status: StringEnum(['enabled', 'disabled']),
  disabledReason: Nullable(Type.String()),
  disabledAt: NullableTimestamp,
  failingSince: NullableTimestamp,
  createdAt: Timestamp,
  pending: Int,
  failed: Int,
});
/** An endpoint as created: the signing secret is shown this once. */
export const NewWebhookEndpoint = Type.Object({ ...WebhookEndpoint.properties, secret: Type.String() });
export const RotatedSecret = Type.Object({ id: Int, secret: Type.String() });
export const RemovedEndpoint = Type.Object({ id: Int, removed: Type.Literal(true) });
export const Replayed = Type.Object({ endpointId: Int, replayed: Int });

/** A delivery of one event to one endpoint, with every attempt. */
export const Delivery = Type.Object({
  id: Int,
  endpointId: Int,
  eventId: Type.String({ format: 'uuid' }),
  eventType: StringEnum(Object.keys(EVENT_TYPES) as EventType[]),
  aggregateType: Type.String(),
  aggregateId: Int,
  sequence: Int,
  status: Type.String(),
  attempts: Int,
  lastStatusCode: NullableId,
  lastError: Nullable(Type.String()),
  nextAttemptAt: NullableTimestamp,
  deliveredAt: NullableTimestamp,
  createdAt: Timestamp,
  attemptList: Type.Array(Type.Object({ at: Timestamp, statusCode: NullableId, latencyMs: Int, error: Nullable(Type.String()) })),
});

/** {@link EventMessage}; `data` and `change` per type are described under the document's `webhooks`. */
export const Event = Type.Object({
  id: Type.String({ format: 'uuid' }),
  type: StringEnum(Object.keys(EVENT_TYPES) as EventType[]),
  timestamp: Timestamp,
  aggregate: Type.Object({ type: StringEnum([...new Set(Object.values(EVENT_TYPES))]), id: Int, sequence: Int }),
  data: Type.Record(Type.String(), Type.Unknown()),
  change: Nullable(Type.Record(Type.String(), Type.Unknown())),
  cursor: Type.String({ description: 'The feed position: pass it as `after` to read on from this event.' }),
});
export const Feed = Type.Object({ events: Type.Array(Event), next: Type.String({ description: 'Pass back as `after` to read on.' }) });

// ---------------------------------------------------------------- the server's own

export const Health = Type.Object({ status: Type.Literal('ok') });
const Database = Type.Object({
  mode: StringEnum(['external', 'embedded', 'embedded-shared']),
  state: StringEnum(['up', 'restarting', 'down']),
  restarts: Int,
});
export const Ready = Type.Object({ status: Type.Literal('ready'), database: Database });
export const NotReady = Type.Object({ status: Type.Literal('not ready'), database: Database, error: Type.String() });
/** What a Facebook webhook POST did with the changes it carried. */
export const FacebookWebhookResult = Type.Object({ received: Int, new: Int, ignored: Int, rejected: Int });

// ---------------------------------------------------------------- no drift

/** True when A and B have the same keys and each is assignable to the other. */
type Same<A, B> = [A, keyof A] extends [B, keyof B] ? ([B, keyof B] extends [A, keyof A] ? true : false) : false;
type Holds<T extends true> = T;

/**
 * Compile-time proof that each schema's type is its read model's: a field added to one and not the
 * other fails `tsc` here, before fastify's serializer could drop it from a response.
 */
export type SchemasMatchReadModels = [
  Holds<Same<Static<typeof Lead>, LeadRow>>,
  Holds<Same<Static<typeof Case>, CaseRow>>,
  Holds<Same<Static<typeof Contact>, ContactRow>>,
  Holds<Same<Static<typeof Post>, PostRow>>,
  Holds<Same<Static<typeof Source>, SourceWithSpend>>,
  Holds<Same<Static<typeof Feedback>, FeedbackRow>>,
  Holds<Same<Static<typeof RuleReport>, RuleReportRow>>,
  Holds<Same<Static<typeof WebhookEndpoint>, Endpoint>>,
  Holds<Same<Static<typeof Event>, EventMessage>>,
  Holds<Same<Static<typeof Erasure>, ErasureResult>>,
  Holds<Same<Static<typeof Database>, DatabaseHealth>>,
];
