import type { Platform } from '../types.js';

/** A post's identity in the inbox. */
export interface PostRef {
  platform: Platform;
  externalId: string;
  /** The author's platform id, when known: routes the post's job (see CaptureJobData). */
  authorId?: string;
}

const PREFIX: Record<Platform, string> = { twitter: 'x', facebook: 'fb' };
const PLATFORM_OF: Record<string, Platform> = { x: 'twitter', fb: 'facebook' };

/**
 * The post's job id: `x-<id>` or `fb-<id>`. BullMQ refuses `:` in custom ids and bare integers
 * (they collide with its own counters), so the platform prefix is not optional.
 */
export function postKey(ref: PostRef): string {
  return `${PREFIX[ref.platform]}-${ref.externalId}`;
}

/**
 * The capture job id of a post: its key, then the database's queue epoch (see `queueEpoch`) when given,
 * `x-<id>-<epoch>`. Without an epoch, the bare key.
 */
export function captureJobId(ref: PostRef, epoch?: string): string {
  return epoch ? `${postKey(ref)}-${epoch}` : postKey(ref);
}

/** The inverse of {@link postKey}; null for anything that is not a post key. */
export function parsePostKey(key: string): PostRef | null {
  const dash = key.indexOf('-');
  if (dash < 1) return null;
  const platform = PLATFORM_OF[key.slice(0, dash)];
  const externalId = key.slice(dash + 1);
  if (!platform || externalId.length === 0) return null;
  return { platform, externalId };
}
