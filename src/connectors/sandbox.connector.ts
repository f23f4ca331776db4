import type { SocialPost } from '../types.js';
import { build, resolve, type SandboxConnectorOptions } from './sandbox.generator.js';
import type { Connector, Cursor, FetchedPage } from './types.js';

// The posts themselves are made by sandbox.generator.ts; this file pages them out as a source.
export { sandboxPost, type SandboxConnectorOptions } from './sandbox.generator.js';

function parseCursor(cursor: Cursor | null): number {
  if (cursor === null) return 0;
  const n = /^(0|[1-9][0-9]*)$/.test(cursor) ? Number(cursor) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new Error(`sandbox cursor must be a post sequence number, got ${JSON.stringify(cursor)}`);
  }
  return n;
}

/**
 * A connector that yields the next `postsPerPoll` sandbox posts after the cursor, in pages of up
 * to `pageSize`, each page's cursor the sequence number of its last post.
 */
export function createSandboxConnector(opts: SandboxConnectorOptions): Connector {
  const ctx = resolve(opts);
  const postsPerPoll = opts.postsPerPoll ?? 5;
  const pageSize = opts.pageSize ?? 100;
  const total = opts.total ?? Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(postsPerPoll) || postsPerPoll < 0) {
    throw new RangeError('sandbox postsPerPoll must be a whole number ≥ 0');
  }
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new RangeError('sandbox pageSize must be a whole number ≥ 1');
  }
  if (total !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(total) || total < 0)) {
    throw new RangeError('sandbox total must be a whole number ≥ 0');
  }

  return {
    sourceId: opts.sourceId,
    async *fetchPages(cursor: Cursor | null, signal?: AbortSignal): AsyncGenerator<FetchedPage> {
      const after = parseCursor(cursor);
      const last = Math.min(after + postsPerPoll, total);
      for (let first = after + 1; first <= last; first += pageSize) {
        signal?.throwIfAborted();
        const end = Math.min(first + pageSize - 1, last);
        const posts: SocialPost[] = [];
        for (let n = first; n <= end; n++) posts.push(build(ctx, n));
        yield { posts, nextCursor: String(end) };
      }
    },
  };
}
