import type { SocialPost } from '../types.js';

/**
 * Where a source stopped, opaque to everyone but its connector (a since_id, a timestamp, a
 * sequence number), serialized as a string so Postgres stores it as it is.
 */
export type Cursor = string;

/** One page a connector fetched, and the cursor that is safe to store once the page is stored. */
export interface FetchedPage {
  posts: SocialPost[];
  /**
   * The cursor to persist in the same transaction as `posts`. A connector that can only advance
   * after a whole walk (X's newest-first pages) returns the cursor it started from until the last page.
   */
  nextCursor: Cursor | null;
  /** What fetching this page cost: what the cost counters and budgets count. */
  read?: PageRead;
}

/** Requests answered for a page, and the ids of every post they returned (the Page's own, rejected ones included). */
export interface PageRead {
  requests: number;
  ids: readonly string[];
}

/**
 * A connector knows one platform's API and nothing else: no database, no queue, no classification.
 * Given its source's last cursor, it yields normalized posts and the cursor to advance to.
 */
export interface Connector {
  readonly sourceId: string;
  fetchPages(cursor: Cursor | null, signal?: AbortSignal): AsyncIterable<FetchedPage>;
}
