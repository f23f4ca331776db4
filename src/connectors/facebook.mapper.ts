import type { SocialPost } from '../types.js';
import { parseSocialPost } from './post-schema.js';
import type { FbComment, FbPost, RejectedFbItem } from './facebook.wire.js';

// Graph API posts, comments and webhook changes mapped to normalized posts: pure functions.

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Graph reads say `2025-03-14T09:26:53+0000`, webhooks epoch seconds; both → ISO 8601 UTC. */
export function fbTime(value: unknown): string | undefined {
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) : NaN;
  // Beyond ±8.64e15 ms a Date is invalid and toISOString throws: such a time is no time (the item is rejected).
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : undefined;
}

function toPost(
  fields: { id: unknown; text: unknown; created: unknown; from: unknown; inReplyTo?: string | undefined; conversationId?: string | undefined },
  pageId: string | undefined,
): { post?: SocialPost; rejected?: RejectedFbItem; own?: true } {
  const id = typeof fields.id === 'string' ? fields.id : undefined;
  if (!id) return { rejected: { id, reason: 'id: required' } };
  const from = isObject(fields.from) ? fields.from : undefined;
  if (!from || typeof from.id !== 'string') {
    // Graph omits `from` when the token may not see the author: without it there is no one to answer.
    return { rejected: { id, reason: 'from: not visible to this token' } };
  }
  // The Page's own posts and replies are ours: capturing them would answer ourselves.
  if (pageId !== undefined && from.id === pageId) return { own: true };
  const parsed = parseSocialPost({
    platform: 'facebook',
    id,
    text: typeof fields.text === 'string' ? fields.text : '',
    created_at: fbTime(fields.created),
    author: { id: from.id, name: typeof from.name === 'string' ? from.name : undefined },
    in_reply_to: fields.inReplyTo,
    conversation_id: fields.conversationId,
  });
  return parsed.ok ? { post: parsed.post } : { rejected: { id, reason: parsed.reason } };
}

/** A feed item → post (its own conversation root). Pure; `own` when the Page wrote it. */
export function mapFbPost(raw: FbPost, pageId?: string) {
  return toPost({ id: raw.id, text: raw.message ?? raw.story, created: raw.created_time, from: raw.from, conversationId: raw.id }, pageId);
}

/** A comment on Page post `postId` → post replying to its parent comment, or to the post. Pure. */
export function mapFbComment(raw: FbComment, postId: string, pageId?: string) {
  const parent = isObject(raw.parent) && typeof raw.parent.id === 'string' ? raw.parent.id : undefined;
  return toPost({ id: raw.id, text: raw.message, created: raw.created_time, from: raw.from, inReplyTo: parent ?? postId, conversationId: postId }, pageId);
}

/** Webhook items that are content a person wrote; reactions, likes and the like are not posts. */
const WEBHOOK_ITEMS = new Set(['post', 'status', 'photo', 'video', 'share', 'comment']);

/**
 * A Page webhook body → the same posts polling yields for the same items (same ids, so the
 * inbox stores each once whichever way it came first). Only `verb: add`; the Page's own items
 * are left out. Pure.
 */
export function mapFbWebhook(payload: unknown): { posts: SocialPost[]; rejected: RejectedFbItem[]; ignored: number } {
  const posts: SocialPost[] = [];
  const rejected: RejectedFbItem[] = [];
  let ignored = 0;
  if (!isObject(payload) || payload.object !== 'page' || !Array.isArray(payload.entry)) {
    return { posts, rejected: [{ id: undefined, reason: 'not a page webhook (object must be "page" with an entry list)' }], ignored };
  }
  for (const entry of payload.entry as unknown[]) {
    if (!isObject(entry) || !Array.isArray(entry.changes)) continue;
    const pageId = typeof entry.id === 'string' ? entry.id : undefined;
    for (const change of entry.changes as unknown[]) {
      const value = isObject(change) && change.field === 'feed' && isObject(change.value) ? change.value : undefined;
      if (value?.verb !== 'add' || typeof value.item !== 'string' || !WEBHOOK_ITEMS.has(value.item)) {
        ignored += 1;
        continue;
      }
      const postId = typeof value.post_id === 'string' ? value.post_id : undefined;
      const isComment = value.item === 'comment';
      const r = toPost(
        {
          id: isComment ? value.comment_id : postId,
          text: value.message,
          created: value.created_time,
          from: value.from,
          inReplyTo: isComment ? (typeof value.parent_id === 'string' ? value.parent_id : postId) : undefined,
          conversationId: postId,
        },
        pageId,
      );
      if (r.post) posts.push(r.post);
      else if (r.rejected) rejected.push(r.rejected);
      else ignored += 1;
    }
  }
  return { posts, rejected, ignored };
}
