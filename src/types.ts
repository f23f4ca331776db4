/** Platforms the service captures from. */
export type Platform = 'twitter' | 'facebook';
export const PLATFORMS = ['twitter', 'facebook'] as const satisfies readonly Platform[];

/** What a decision can say about a post. */
export type Label = 'lead' | 'case' | 'none';
export const LABELS = ['lead', 'case', 'none'] as const satisfies readonly Label[];

/** Case priority, lowest first. */
export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const satisfies readonly Priority[];

/** The author of a post as the platform reports them. Ids are strings: X ids exceed 2^53. */
export interface SocialAuthor {
  id: string;
  handle?: string;
  name?: string;
  /** Only when the platform or an import provides it; used for contact matching. */
  email?: string;
  /** Follower count, when the connector knows it. */
  followers?: number;
}

/**
 * The normalized post every source produces (connectors, webhooks, imports). Same shape as the
 * JSONL import format in DESIGN.md, so an exported post can be imported back.
 */
export interface SocialPost {
  platform: Platform;
  /** The platform's post id, as a string. */
  id: string;
  text: string;
  /** ISO 8601 timestamp from the platform. */
  created_at: string;
  author: SocialAuthor;
  in_reply_to?: string;
  conversation_id?: string;
  lang?: string;
  /** Set when the post is a retweet (a repost without words of its own): the id of the original. */
  retweet_of?: string;
}
