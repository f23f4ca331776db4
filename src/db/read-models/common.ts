import type { Sql, Tx } from '../client.js';
import { caseStatusEnum, labelEnum, leadStatusEnum, platformEnum, postStatusEnum, priorityEnum } from '../schema.js';

/** Timestamps are selected as ISO 8601 text in UTC (`to_char(t at time zone 'UTC', ISO)`), the form JSON clients parse. */
export const ISO = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';

/** An empty fragment, for a filter that is not given. */
export const none = (sql: Sql | Tx) => sql``;

/** Enum values as the schema declares them: the filters of the CLI and the API both check against these. */
export const ENUMS = {
  platform: platformEnum.enumValues,
  leadStatus: leadStatusEnum.enumValues,
  caseStatus: caseStatusEnum.enumValues,
  priority: priorityEnum.enumValues,
  postStatus: postStatusEnum.enumValues,
  label: labelEnum.enumValues,
} as const;

export type PlatformValue = (typeof platformEnum.enumValues)[number];
export type LeadStatusValue = (typeof leadStatusEnum.enumValues)[number];
export type CaseStatusValue = (typeof caseStatusEnum.enumValues)[number];
export type PriorityValue = (typeof priorityEnum.enumValues)[number];
export type PostStatusValue = (typeof postStatusEnum.enumValues)[number];
export type LabelValue = (typeof labelEnum.enumValues)[number];

/** A listing's page size: 1..500, 50 when not given (CLI and API alike). */
export const LIMIT = { min: 1, max: 500, default: 50 } as const;
