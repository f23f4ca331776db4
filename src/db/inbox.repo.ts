import type { SocialPost } from '../types.js';
import type { Sql, Tx } from './client.js';
import { erasureKey, withoutErasedAuthors } from './erasure.repo.js';
import type { PostRef } from './post-key.js';

export interface StorePageResult {
  /** Posts this call stored for the first time: the ones to enqueue. */
  inserted: PostRef[];
  /** Posts already in the inbox (refetched, or pushed twice). */
  duplicates: number;
}

/**
 * Store a page of posts, their authors' identities and (when given) the source's advanced cursor
 * in ONE transaction: the cursor never moves past posts that are not stored (invariant 2), and the
 * unique key on (platform, external id) absorbs every refetch (invariant 1). Posts of erased authors
 * are left out (counted as duplicates).
 */
export async function storePage(sql: Sql, sourceId: string, posts: readonly SocialPost[], nextCursor: string | null): Promise<StorePageResult> {
  const key = posts.length > 0 ? await erasureKey(sql) : '';
  return sql.begin(async (tx) => {
    const kept = await withoutErasedAuthors(tx, key, posts);
    const inserted = kept.length > 0 ? await insertPosts(tx, sourceId, storable(kept)) : [];
    if (nextCursor !== null || posts.length > 0) {
      await tx`
        insert into source_cursors (source_id, cursor, last_success_at, posts_fetched, healthy)
        values (${sourceId}, ${nextCursor}, now(), ${inserted.length}, true)
        on conflict (source_id) do update set
          cursor = coalesce(excluded.cursor, source_cursors.cursor),
          last_success_at = now(),
          posts_fetched = source_cursors.posts_fetched + excluded.posts_fetched,
          healthy = true,
          updated_at = now()`;
    }
    return { inserted, duplicates: posts.length - inserted.length };
  }) as Promise<StorePageResult>;
}

/**
 * The two things Postgres refuses in text and jsonb, as JSON.stringify writes them: U+0000 and a
 * lone UTF-16 surrogate are the only characters it writes as `\u0000` and `\udXXX` escapes (paired
 * surrogates it writes as they are). An escape counts only after an even run of backslashes: `\\u0000`
 * is a backslash and "u0000".
 */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(0000|d[89a-f][0-9a-f]{2})/gi;

/**
 * Every source's posts pass here, so one post with a NUL or a broken surrogate pair cannot fail the
 * page it came in: NULs are dropped, lone surrogates become U+FFFD. Returns the page as the JSON
 * the insert sends, and as objects for the identities (the same objects unless something was cleaned).
 */
function storable(posts: readonly SocialPost[]): { json: string; posts: readonly SocialPost[] } {
  const raw = JSON.stringify(posts);
  const json = raw.replace(UNSTORABLE_ESCAPE, (_m, evenBackslashes: string, code: string) => `${evenBackslashes}${code === '0000' ? '' : '\\ufffd'}`);
  return { json, posts: json === raw ? posts : (JSON.parse(json) as SocialPost[]) };
}

async function insertPosts(tx: Tx, sourceId: string, { json, posts }: { json: string; posts: readonly SocialPost[] }): Promise<PostRef[]> {
  // One row per author. Existing identities are not locked unless their handle or name changed,
  // and then in id order, the order the capture worker locks them in: no deadlock between them.
  const authors = new Map<string, SocialPost>();
  for (const p of posts) authors.set(`${p.platform}\u0000${p.author.id}`, p);
  const list = [...authors.values()];
  const aPlatform = tx.array(list.map((p) => p.platform));
  const aId = tx.array(list.map((p) => p.author.id));
  const aHandle = tx.array(list.map((p) => p.author.handle ?? null) as string[]);
  const aName = tx.array(list.map((p) => p.author.name ?? null) as string[]);
  // Only authors not yet known reach the insert: its unique check would otherwise wait on every
  // known author's row that a capture transaction in flight is updating (linking it to a contact).
  await tx`
    insert into identities (platform, external_user_id, handle, name)
    select * from unnest(${aPlatform}::platform[], ${aId}::text[], ${aHandle}::text[], ${aName}::text[]) as u(platform, user_id, handle, name)
    where not exists (select 1 from identities i where i.platform = u.platform and i.external_user_id = u.user_id)
    on conflict (platform, external_user_id) do nothing`;
  await tx`
    with changed as (
      select i.id, u.handle, u.name
      from identities i
      join unnest(${aPlatform}::platform[], ${aId}::text[], ${aHandle}::text[], ${aName}::text[]) as u(platform, user_id, handle, name)
        on i.platform = u.platform and i.external_user_id = u.user_id
      where i.handle is distinct from coalesce(u.handle, i.handle) or i.name is distinct from coalesce(u.name, i.name)
      order by i.id
      for no key update of i
    )
    update identities i set handle = coalesce(c.handle, i.handle), name = coalesce(c.name, i.name), last_seen_at = now()
    from changed c where i.id = c.id`;

  // The page goes as one jsonb document rather than a column array per field: Postgres parses it
  // once, each post's payload is its element as it is, and nothing is escaped twice on the way.
  const rows = await tx<PostRef[]>`
    insert into social_posts (platform, external_id, source_id, identity_id, author_external_id, text,
                              posted_at, in_reply_to, conversation_id, lang, payload)
    select p.platform, p.external_id, ${sourceId}, i.id, p.author_id, p.text, p.posted_at, p.in_reply_to,
           p.conversation_id, p.lang, p.payload
    from (
      select (e.payload->>'platform')::platform as platform, e.payload->>'id' as external_id, e.payload->'author'->>'id' as author_id,
             e.payload->>'text' as text, (e.payload->>'created_at')::timestamptz as posted_at, e.payload->>'in_reply_to' as in_reply_to,
             e.payload->>'conversation_id' as conversation_id, e.payload->>'lang' as lang, e.payload
      from jsonb_array_elements(${json}::jsonb) as e(payload)
    ) p
    left join identities i on i.platform = p.platform and i.external_user_id = p.author_id
    on conflict (platform, external_id) do nothing
    returning platform, external_id as "externalId", author_external_id as "authorId"`;
  return rows.map((r) => ({ platform: r.platform, externalId: r.externalId, ...(r.authorId ? { authorId: r.authorId } : {}) }));
}

/** Pending posts received before the grace period: their job may have been lost with Redis. */
export async function findStalePending(sql: Sql, graceMs: number, limit: number): Promise<PostRef[]> {
  return sql<PostRef[]>`
    select platform, external_id as "externalId", author_external_id as "authorId" from social_posts
    where status = 'pending' and received_at < now() - ${graceMs} * interval '1 millisecond'
    order by received_at
    limit ${limit}`;
}

/**
 * Record a failed poll on the source's health row; the cursor is left where it was. With
 * `blockedUntil` the source makes no request before then (a rate-limit reset, a back-off).
 */
export async function recordSourceError(sql: Sql, sourceId: string, message: string, healthy: boolean, blockedUntil: Date | null = null): Promise<void> {
  const until = blockedUntil?.toISOString() ?? null;
  await sql`
    insert into source_cursors (source_id, last_error, last_error_at, healthy, blocked_until, next_poll_at, consecutive_failures)
    values (${sourceId}, ${message}, now(), ${healthy}, ${until}::timestamptz, ${until}::timestamptz, 1)
    on conflict (source_id) do update set
      last_error = excluded.last_error, last_error_at = now(), healthy = excluded.healthy,
      blocked_until = excluded.blocked_until, next_poll_at = excluded.next_poll_at,
      consecutive_failures = source_cursors.consecutive_failures + 1, updated_at = now()`;
}

/** A poll that walked to the end: healthy, no back-off, and when the next one is due. */
export async function recordPollSuccess(sql: Sql, sourceId: string, nextPollAt: Date | null): Promise<void> {
  await sql`
    insert into source_cursors (source_id, last_success_at, healthy, next_poll_at, consecutive_failures)
    values (${sourceId}, now(), true, ${nextPollAt?.toISOString() ?? null}::timestamptz, 0)
    on conflict (source_id) do update set
      last_success_at = now(), healthy = true, blocked_until = null, next_poll_at = excluded.next_poll_at,
      consecutive_failures = 0, updated_at = now()`;
}

/** Whether a source may make requests now, and how many polls in a row have failed. */
export async function sourceGate(sql: Sql, sourceId: string): Promise<{ blockedUntil: Date | null; consecutiveFailures: number }> {
  const [row] = await sql<{ blockedUntil: string | null; consecutiveFailures: number }[]>`
    select blocked_until::text as "blockedUntil", consecutive_failures as "consecutiveFailures"
    from source_cursors where source_id = ${sourceId}`;
  return {
    blockedUntil: row?.blockedUntil ? new Date(row.blockedUntil) : null,
    consecutiveFailures: row?.consecutiveFailures ?? 0,
  };
}
