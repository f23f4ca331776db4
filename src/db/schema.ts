import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

export const platformEnum = pgEnum('platform', ['twitter', 'facebook']);
export const relationshipEnum = pgEnum('relationship_type', ['prospect', 'customer', 'vendor', 'partner']);
export const postStatusEnum = pgEnum('post_status', ['pending', 'processed', 'failed']);
export const labelEnum = pgEnum('label', ['lead', 'case', 'none']);
export const priorityEnum = pgEnum('case_priority', ['low', 'normal', 'high', 'urgent']);
export const leadStatusEnum = pgEnum('lead_status', ['open', 'qualified', 'disqualified']);
export const caseStatusEnum = pgEnum('case_status', ['new', 'in_progress', 'resolved', 'cancelled']);
export const opportunityStatusEnum = pgEnum('opportunity_status', ['open', 'won', 'lost']);

const id = () => bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity();
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
const ref = (name: string) => bigint(name, { mode: 'number' });

/** Companies. A won opportunity turns a prospect into a customer. One account per name (case-insensitive). */
export const accounts = pgTable(
  'accounts',
  {
    id: id(),
    name: text('name').notNull(),
    relationship: relationshipEnum('relationship').notNull().default('prospect'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('accounts_name_uq').on(sql`lower(${t.name})`)],
);

/** People. Created only when one of their posts becomes a lead or a case. */
export const contacts = pgTable(
  'contacts',
  {
    id: id(),
    accountId: ref('account_id').references(() => accounts.id),
    name: text('name'),
    email: text('email'),
    /** Set while this contact is merged into another (the survivor); undoing the merge clears it. */
    mergedIntoId: bigint('merged_into_id', { mode: 'number' }),
    /** Set when the person was erased (`capture forget`): the row is an anonymous stub their leads and cases keep. */
    erasedAt: timestamp('erased_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('contacts_email_uq').on(sql`lower(${t.email})`).where(sql`${t.email} is not null`)],
);

/**
 * Handles ops know for a contact (from their CRM), per platform. An author with no linked identity
 * is matched by these; they are never filled in automatically, because a handle can be recycled.
 */
export const contactHandles = pgTable(
  'contact_handles',
  {
    id: id(),
    contactId: ref('contact_id')
      .notNull()
      .references(() => contacts.id, { onDelete: 'cascade' }),
    platform: platformEnum('platform').notNull(),
    /** Lower-cased, without the leading @. */
    handle: text('handle').notNull(),
  },
  (t) => [uniqueIndex('contact_handles_uq').on(t.platform, t.handle)],
);

/** Every author ever seen, one row per (platform, external user id); linked to at most one contact. */
export const identities = pgTable(
  'identities',
  {
    id: id(),
    platform: platformEnum('platform').notNull(),
    externalUserId: text('external_user_id').notNull(),
    handle: text('handle'),
    name: text('name'),
    contactId: ref('contact_id').references(() => contacts.id),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('identities_platform_user_uq').on(t.platform, t.externalUserId), index('identities_contact_idx').on(t.contactId)],
);

/** A potential sale. One open lead per contact; later buying signals attach to it. */
export const leads = pgTable(
  'leads',
  {
    id: id(),
    contactId: ref('contact_id')
      .notNull()
      .references(() => contacts.id),
    accountId: ref('account_id').references(() => accounts.id),
    status: leadStatusEnum('status').notNull().default('open'),
    source: platformEnum('source').notNull(),
    subject: text('subject').notNull(),
    score: real('score').notNull(),
    rulesetVersion: text('ruleset_version').notNull(),
    /** The rules that fired on the post that opened the lead. */
    rules: jsonb('rules').notNull(),
    disqualifyReason: text('disqualify_reason'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lastActivityAt: timestamp('last_activity_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('leads_one_open_per_contact').on(t.contactId).where(sql`${t.status} = 'open'`)],
);

/** A deal. At most one per lead: qualifying a lead twice, even at once, makes one. */
export const opportunities = pgTable(
  'opportunities',
  {
    id: id(),
    leadId: ref('lead_id').references(() => leads.id),
    accountId: ref('account_id').references(() => accounts.id),
    contactId: ref('contact_id').references(() => contacts.id),
    name: text('name').notNull(),
    status: opportunityStatusEnum('status').notNull().default('open'),
    estimatedValue: numeric('estimated_value', { precision: 14, scale: 2 }),
    closeReason: text('close_reason'),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('opportunities_lead_uq').on(t.leadId)],
);

/**
 * A support entitlement (a contract, a plan) of an account or of one contact; active between its dates. An active
 * one raises the priority of the cases it covers.
 */
export const entitlements = pgTable(
  'entitlements',
  {
    id: id(),
    accountId: ref('account_id').references(() => accounts.id, { onDelete: 'cascade' }),
    contactId: ref('contact_id').references(() => contacts.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull().defaultNow(),
    endsAt: timestamp('ends_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('entitlements_account_idx').on(t.accountId), index('entitlements_contact_idx').on(t.contactId)],
);

/** A merge of two contacts, with what moved, so that it can be undone. */
export const contactMerges = pgTable('contact_merges', {
  id: id(),
  survivorId: ref('survivor_id')
    .notNull()
    .references(() => contacts.id),
  mergedId: ref('merged_id')
    .notNull()
    .references(() => contacts.id),
  /** Ids of the rows that moved to the survivor: identities, handles, posts, leads, cases, opportunities. */
  moved: jsonb('moved').notNull(),
  createdAt: createdAt(),
  undoneAt: timestamp('undone_at', { withTimezone: true }),
});

/** A customer issue. Replies and repeat complaints attach to the contact's open case. */
export const cases = pgTable(
  'cases',
  {
    id: id(),
    contactId: ref('contact_id')
      .notNull()
      .references(() => contacts.id),
    title: text('title').notNull(),
    origin: platformEnum('origin').notNull(),
    priority: priorityEnum('priority').notNull().default('normal'),
    priorityReason: text('priority_reason'),
    status: caseStatusEnum('status').notNull().default('new'),
    resolveBy: timestamp('resolve_by', { withTimezone: true }).notNull(),
    conversationId: text('conversation_id'),
    rulesetVersion: text('ruleset_version').notNull(),
    /** The rules that fired on the post that opened the case. */
    rules: jsonb('rules').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lastActivityAt: timestamp('last_activity_at', { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    /** How often a new post reopened the case within the reopen window after it was resolved. */
    reopenCount: integer('reopen_count').notNull().default(0),
  },
  (t) => [
    index('cases_contact_open_idx').on(t.contactId, t.origin).where(sql`${t.status} in ('new', 'in_progress')`),
    // capture's reopen window: a contact's recently resolved cases
    index('cases_contact_resolved_idx').on(t.contactId, t.resolvedAt).where(sql`${t.status} = 'resolved'`),
  ],
);

/**
 * The inbox: every post from every source, exactly once (unique on platform + external id).
 * A post is `pending` until the capture worker decides it, then `processed` or `failed` with its reason.
 */
export const socialPosts = pgTable(
  'social_posts',
  {
    id: id(),
    platform: platformEnum('platform').notNull(),
    externalId: text('external_id').notNull(),
    sourceId: text('source_id').notNull(),
    identityId: ref('identity_id').references(() => identities.id),
    authorExternalId: text('author_external_id'),
    text: text('text').notNull(),
    postedAt: timestamp('posted_at', { withTimezone: true }),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    inReplyTo: text('in_reply_to'),
    conversationId: text('conversation_id'),
    lang: text('lang'),
    /** The normalized post as the source delivered it. */
    payload: jsonb('payload').notNull(),
    status: postStatusEnum('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    label: labelEnum('label'),
    score: real('score'),
    priority: priorityEnum('priority'),
    /** The classifier's explanation: rules, matched terms with positions, per-label scores. */
    decision: jsonb('decision'),
    rulesetVersion: text('ruleset_version'),
    contactId: ref('contact_id').references(() => contacts.id),
    leadId: ref('lead_id').references(() => leads.id),
    caseId: ref('case_id').references(() => cases.id),
    processedAt: timestamp('processed_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('social_posts_platform_external_uq').on(t.platform, t.externalId),
    index('social_posts_pending_idx').on(t.receivedAt).where(sql`${t.status} = 'pending'`),
    // Partial where they can be: every post is inserted once and updated once, and each index entry
    // it skips is work the inbox and capture do not do. Most posts end processed with no lead or case.
    index('social_posts_unsettled_idx').on(t.status, t.id).where(sql`${t.status} <> 'processed'`),
    // Threading looks up only the posts of a conversation that are on a case.
    index('social_posts_case_thread_idx').on(t.platform, t.conversationId).where(sql`${t.caseId} is not null`),
    // (record, id): a lead's or case's posts in id order, so its first post (the author and text the read models
    // show, and the outbox's snapshots) is one index probe, not a walk of the inbox's primary key.
    index('social_posts_case_idx').on(t.caseId, t.id).where(sql`${t.caseId} is not null`),
    index('social_posts_lead_idx').on(t.leadId, t.id).where(sql`${t.leadId} is not null`),
  ],
);

/** Where each source stopped, and its health. The cursor moves only with the posts it covers. */
export const sourceCursors = pgTable('source_cursors', {
  sourceId: text('source_id').primaryKey(),
  cursor: text('cursor'),
  updatedAt: updatedAt(),
  lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
  lastErrorAt: timestamp('last_error_at', { withTimezone: true }),
  lastError: text('last_error'),
  healthy: boolean('healthy').notNull().default(true),
  postsFetched: bigint('posts_fetched', { mode: 'number' }).notNull().default(0),
  /** No request to the platform before this (a rate-limit reset, a back-off); polls in between are skipped. */
  blockedUntil: timestamp('blocked_until', { withTimezone: true }),
  /** When the next poll is due, for `capture sources`. */
  nextPollAt: timestamp('next_poll_at', { withTimezone: true }),
  /** Failed polls in a row; the back-off grows with it and a success resets it. */
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
});

// --- classifier: label feedback ---

/**
 * A person's correction of a post's label ("this is not a case", "should be a lead"), with who and when.
 * Labeled data for `capture eval --feedback`, `capture tune --feedback` and the rules report. Several rows for
 * one post are kept (the history); the latest one is the post's label.
 */
export const labelFeedback = pgTable(
  'label_feedback',
  {
    id: id(),
    // Erasing a person deletes their posts; their corrections go with them.
    postId: ref('post_id')
      .notNull()
      .references(() => socialPosts.id, { onDelete: 'cascade' }),
    label: labelEnum('label').notNull(),
    note: text('note'),
    actor: text('actor').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('label_feedback_post_idx').on(t.postId, t.id)],
);

// --- truth: per-database settings, erased authors ---

/**
 * Values one database holds for every process that uses it: the queue epoch (job ids of this database,
 * never of another that used the same queue prefix), the key of the erased-author hashes.
 */
export const captureSettings = pgTable('capture_settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  createdAt: createdAt(),
});

/**
 * Authors erased with `capture forget`: a keyed hash (HMAC-SHA256) of their platform user id, never the
 * id, so that their posts are not captured again when a source re-reads them.
 */
export const erasedAuthors = pgTable(
  'erased_authors',
  {
    platform: platformEnum('platform').notNull(),
    /** HMAC-SHA256 of the platform user id, hex, keyed with the `erasure_key` setting. */
    userHash: text('user_hash').notNull(),
    erasedAt: timestamp('erased_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.userHash] })],
);

// --- outbox: events, webhook endpoints, deliveries and their attempts ---

/**
 * The transactional outbox: one row per change, written in the transaction that makes the change.
 * `feedPosition` is the commit order: a transaction numbers its events as its last statement,
 * under an advisory lock it holds until it commits (src/db/outbox.repo.ts), so numbers are handed
 * out in commit order and a cursor never passes an event that commits later.
 */
export const events = pgTable(
  'events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Commit order, 1, 2, 3…: the pull feed's and the relay's cursor. */
    feedPosition: bigint('feed_position', { mode: 'number' }).notNull(),
    type: text('type').notNull(),
    aggregateType: text('aggregate_type').notNull(),
    aggregateId: bigint('aggregate_id', { mode: 'number' }).notNull(),
    /** 1, 2, 3… per aggregate: a consumer applies a record's events in this order. */
    sequence: integer('sequence').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    /** The record as the API returns it, at the time of the event. */
    data: jsonb('data').notNull(),
    /** What changed, for events that carry more than the record (from/to status, the attached post, the merge). */
    change: jsonb('change'),
  },
  (t) => [uniqueIndex('events_aggregate_seq_uq').on(t.aggregateType, t.aggregateId, t.sequence), uniqueIndex('events_feed_position_uq').on(t.feedPosition)],
);

export const webhookEndpointStatusEnum = pgEnum('webhook_endpoint_status', ['enabled', 'disabled']);
export const webhookDeliveryStatusEnum = pgEnum('webhook_delivery_status', ['pending', 'delivered', 'failed']);

/** A subscriber's URL, the event types it wants and its own signing secret. */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: id(),
  url: text('url').notNull(),
  description: text('description'),
  /** Patterns such as `case.*` or `lead.created`; empty: every event. */
  eventTypes: text('event_types').array().notNull().default(sql`'{}'::text[]`),
  /** `whsec_` + base64 key, per the Standard Webhooks spec. */
  secret: text('secret').notNull(),
  status: webhookEndpointStatusEnum('status').notNull().default('enabled'),
  disabledReason: text('disabled_reason'),
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
  /** Set at the first failure after a success; an endpoint failing for `disable_after` is disabled. */
  failingSince: timestamp('failing_since', { withTimezone: true }),
  /** The relay's place in the event feed for this endpoint: the feed position of the last event fanned out. */
  cursor: bigint('cursor', { mode: 'number' }).notNull().default(0),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** One event owed to one endpoint; Postgres holds it, a queue job only nudges the worker. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    endpointId: ref('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    aggregateType: text('aggregate_type').notNull(),
    aggregateId: bigint('aggregate_id', { mode: 'number' }).notNull(),
    sequence: integer('sequence').notNull(),
    status: webhookDeliveryStatusEnum('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    firstAttemptAt: timestamp('first_attempt_at', { withTimezone: true }),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    /** A worker is sending it until then; a worker that died mid-send leaves it to expire. */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_endpoint_event_uq').on(t.endpointId, t.eventId),
    // the head of each (endpoint, aggregate) stream: the pending delivery with the lowest sequence
    index('webhook_deliveries_pending_idx').on(t.endpointId, t.aggregateType, t.aggregateId, t.sequence).where(sql`${t.status} = 'pending'`),
    index('webhook_deliveries_event_idx').on(t.eventId),
    // a drain's claim walks one endpoint's pending deliveries oldest first and stops at its batch
    index('webhook_deliveries_pending_order_idx').on(t.endpointId, t.id).where(sql`${t.status} = 'pending'`),
  ],
);

/** Each HTTP attempt of a delivery: status code (null: no answer), latency, error. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: id(),
    deliveryId: ref('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull().defaultNow(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId)],
);

// --- connectors: requests, posts read and spend per source ---

/**
 * What each source read per UTC day: requests answered, posts returned, posts charged (the first
 * read of a post that UTC day, account-wide) and their price. Budgets and `capture sources` sum it.
 */
export const sourceUsage = pgTable(
  'source_usage',
  {
    sourceId: text('source_id').notNull(),
    /** UTC calendar day. */
    day: date('day', { mode: 'string' }).notNull(),
    platform: platformEnum('platform').notNull(),
    requests: bigint('requests', { mode: 'number' }).notNull().default(0),
    postsRead: bigint('posts_read', { mode: 'number' }).notNull().default(0),
    postsCharged: bigint('posts_charged', { mode: 'number' }).notNull().default(0),
    /** Millionths of a US dollar: exact sums of $0.001 and $0.005 prices. */
    costMicroUsd: bigint('cost_micro_usd', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.sourceId, t.day] })],
);

/** Posts read per UTC day, account-wide: X charges a post read twice in one UTC day once. Older days are pruned. */
export const dailyReads = pgTable(
  'daily_reads',
  {
    day: date('day', { mode: 'string' }).notNull(),
    platform: platformEnum('platform').notNull(),
    externalId: text('external_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.platform, t.externalId] })],
);

// --- console: the ruleset version store ---

/**
 * Every ruleset put in force from the console or `/api/rules` (publish or roll back), with its YAML, so that
 * any earlier version can be looked at and returned to. `version` is the classifier's `name@hash`, the value
 * decisions record in `ruleset_version`; a version rolled back to appears again with its new publication time.
 */
export const rulesetVersions = pgTable(
  'ruleset_versions',
  {
    id: id(),
    version: text('version').notNull(),
    yaml: text('yaml').notNull(),
    publishedAt: timestamp('published_at', { withTimezone: true }).notNull().defaultNow(),
    /** Who put it in force: the signed-in person's name in the console, or what the API caller said. */
    publishedBy: text('published_by').notNull(),
  },
  (t) => [index('ruleset_versions_version_idx').on(t.version)],
);
