import { ConnectorError, describeError, type ConnectorErrorCode } from '../errors.js';

/**
 * The one table that decides what a failed poll leads to. Connectors only classify (they throw a
 * ConnectorError with a code); the poll processor only carries out what this table says.
 */

export type PollAction =
  /** Rate limited: no request until the platform's reset (or Meta's estimate) has passed. */
  | 'wait-for-reset'
  /** 5xx, timeouts, dropped connections: retry at once a few times with jittered back-off, then back off the source. */
  | 'retry'
  /** A body that is not a page: store nothing, keep the cursor, try again on a later poll. */
  | 'retry-next-poll'
  /** Token or permission problem, unknown page or user: only a person can fix it. */
  | 'mark-unhealthy';

interface Policy {
  action: PollAction;
  /** What `capture sources` shows while this lasts. */
  healthy: boolean;
  /** Immediate retries inside the same poll. */
  retries: number;
  /** How long the source makes no request after the poll gave up; `failures` counts this one. */
  blockMs(err: ConnectorError, failures: number): number;
}

/** 2 s, 4 s, 8 s … capped at 15 min. */
const growing = (failures: number) => Math.min(15 * 60_000, 2_000 * 2 ** Math.max(0, failures - 1));

export const ERROR_POLICY: Readonly<Record<ConnectorErrorCode, Policy>> = {
  rate_limited: { action: 'wait-for-reset', healthy: true, retries: 0, blockMs: (err) => err.retryAfterMs ?? 15 * 60_000 },
  temporary: { action: 'retry', healthy: true, retries: 2, blockMs: (_err, failures) => jitter(growing(failures)) },
  // The first bad page is retried by the next scheduled poll; a platform that keeps sending them is backed off.
  bad_response: { action: 'retry-next-poll', healthy: true, retries: 0, blockMs: (_err, failures) => (failures <= 1 ? 0 : jitter(growing(failures - 1))) },
  auth: { action: 'mark-unhealthy', healthy: false, retries: 0, blockMs: () => 10 * 60_000 },
  not_found: { action: 'mark-unhealthy', healthy: false, retries: 0, blockMs: () => 10 * 60_000 },
};

/** Between half and all of `ms`: sources that failed together do not come back together. */
export function jitter(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.5 + random() / 2));
}

export interface PollErrorDecision {
  code: ConnectorErrorCode;
  action: PollAction;
  healthy: boolean;
  message: string;
  /** Retry within this poll after this many ms; null: give up for now. */
  retryInMs: number | null;
  /** When giving up: no request before now + this. */
  blockMs: number;
}

/**
 * What to do about `err`, the `attempt`-th try (0-based) of a poll whose source has failed
 * `failures` times in a row counting this one. An error that is not a ConnectorError (a bug, a
 * database hiccup) is treated as temporary.
 */
export function decidePollError(err: unknown, attempt: number, failures: number): PollErrorDecision {
  const e = err instanceof ConnectorError ? err : new ConnectorError('temporary', describeError(err));
  const policy = ERROR_POLICY[e.code];
  const retry = attempt < policy.retries;
  return {
    code: e.code,
    action: policy.action,
    healthy: policy.healthy,
    message: e.message,
    retryInMs: retry ? jitter(500 * 2 ** attempt) : null,
    blockMs: retry ? 0 : policy.blockMs(e, failures),
  };
}
