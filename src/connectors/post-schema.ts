import { z } from 'zod';
import { PLATFORMS, type Platform, type SocialAuthor, type SocialPost } from '../types.js';

/**
 * Validation of the normalized post: the JSONL import format in DESIGN.md, which connectors
 * produce too. Reasons name the field path (`author.id: required`) so an import report can say
 * exactly what to fix on which line.
 */

/** Largest X id: X ids are signed 64-bit snowflakes. */
const MAX_X_ID = (1n << 63n) - 1n;

/** Postgres `text` cannot store U+0000; dropping it keeps the post instead of failing it. */
function stripNul(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
}

function describe(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  return typeof input === 'object' ? 'an object' : `a ${typeof input}`;
}

/** `required` when missing, otherwise what was expected and what came. */
function expected(what: string) {
  return (issue: { input?: unknown }): string => (issue.input === undefined ? 'required' : `must be ${what}, got ${describe(issue.input)}`);
}

/**
 * An id field. JSON numbers are refused rather than converted: by the time JSON.parse hands us
 * 1790000000000000001 it is already 1790000000000000000, so the digits are gone.
 */
function idString() {
  return z
    .string({
      error: (issue) => (typeof issue.input === 'number' ? 'must be a string: numeric ids above 2^53 lose digits' : expected('a string')(issue)),
    })
    .min(1, 'must not be empty')
    .regex(/^[^\s\u0000]+$/, 'must not contain whitespace or NUL');
}

const optionalText = z
  .string({ error: expected('a string') })
  .nullish()
  .transform((value) => (value == null ? undefined : stripNul(value)));

const authorSchema = z.object(
  {
    id: idString(),
    // A leading '@' is how people write handles, not part of the handle; dropping it keeps
    // "@jane_doe" and "jane_doe" one identity.
    handle: optionalText.transform((value) => value?.replace(/^@/, '')),
    name: optionalText,
    email: z
      .email({
        error: (issue) => (typeof issue.input === 'string' ? 'must be an e-mail address' : expected('a string')(issue)),
      })
      .nullish(),
    followers: z
      .number({ error: expected('a number') })
      .int('must be a whole number')
      .nonnegative('must not be negative')
      .nullish(),
  },
  { error: expected('an object') },
);

/**
 * Why `id` is not a valid post id on `platform`, or undefined when it is. X ids are decimal
 * digits and compared as BigInt, so a leading zero would make two spellings of one post.
 */
export function postIdProblem(platform: Platform, id: string): string | undefined {
  if (platform === 'twitter') {
    if (!/^[1-9][0-9]*$/.test(id)) return 'X ids are decimal digits without a leading zero';
    if (BigInt(id) > MAX_X_ID) return 'exceeds the 64-bit range of X ids';
    return undefined;
  }
  return /^[0-9]+(?:_[0-9]+)*$/.test(id) ? undefined : 'Facebook ids are digits, optionally joined by underscores (1122334455_987654321)';
}

function compactAuthor(author: z.output<typeof authorSchema>): SocialAuthor {
  const out: SocialAuthor = { id: author.id };
  if (author.handle) out.handle = author.handle;
  if (author.name) out.name = author.name;
  if (author.email != null) out.email = author.email;
  if (author.followers != null) out.followers = author.followers;
  return out;
}

/**
 * The normalized post. Unknown keys are stripped, `null` in an optional field means absent,
 * NUL characters are removed from text, handle and name, and ids must be strings in the
 * platform's format. The output is a clean {@link SocialPost} with absent fields omitted.
 */
export const socialPostSchema = z
  .object(
    {
      platform: z.enum(PLATFORMS, {
        error: (issue) => (issue.input === undefined ? 'required' : `must be one of ${PLATFORMS.join(', ')}`),
      }),
      id: idString(),
      // Empty text is allowed: a photo-only tweet or a sticker comment has none.
      text: z.string({ error: expected('a string') }).transform(stripNul),
      created_at: z.iso.datetime({
        offset: true,
        error: (issue) => (issue.input === undefined ? 'required' : 'must be an ISO 8601 timestamp with a time zone, like 2026-11-20T10:00:00Z'),
      }),
      author: authorSchema,
      in_reply_to: idString().nullish(),
      conversation_id: idString().nullish(),
      retweet_of: idString().nullish(),
      lang: z
        .string({ error: expected('a string') })
        .regex(/^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/, 'must be a language tag like en or pt-BR')
        .nullish(),
    },
    { error: expected('an object') },
  )
  .superRefine((post, ctx) => {
    for (const field of ['id', 'in_reply_to', 'conversation_id', 'retweet_of'] as const) {
      const value = post[field];
      if (value == null) continue;
      const problem = postIdProblem(post.platform, value);
      if (problem) ctx.addIssue({ code: 'custom', path: [field], message: problem });
    }
  })
  .transform((post): SocialPost => {
    const out: SocialPost = {
      platform: post.platform,
      id: post.id,
      text: post.text,
      created_at: post.created_at,
      author: compactAuthor(post.author),
    };
    if (post.in_reply_to != null) out.in_reply_to = post.in_reply_to;
    if (post.conversation_id != null) out.conversation_id = post.conversation_id;
    if (post.lang != null) out.lang = post.lang;
    if (post.retweet_of != null) out.retweet_of = post.retweet_of;
    return out;
  });

/** The outcome of {@link parseSocialPost}: the clean post, or every problem found, by field path. */
export type ParsedSocialPost = { ok: true; post: SocialPost } | { ok: false; reason: string };

function formatPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.') || 'post';
}

/**
 * Validates and normalizes one post from any untrusted source (an import line, a webhook body).
 * Never throws; the reason lists each problem as `field.path: message`, separated by `; `.
 */
export function parseSocialPost(value: unknown): ParsedSocialPost {
  const result = socialPostSchema.safeParse(value);
  if (result.success) return { ok: true, post: result.data };
  const reason = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`).join('; ');
  return { ok: false, reason };
}
