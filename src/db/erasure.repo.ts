import { createHmac, randomBytes } from 'node:crypto';
import type { SocialPost } from '../types.js';
import type { Sql, Tx } from './client.js';
import { SETTING, settingOrCreate } from './settings.repo.js';

const configured = new WeakMap<Sql, string>();
const stored = new WeakMap<Sql, Promise<string>>();

/**
 * Use `key` (CAPTURE_ERASURE_KEY) for the erased-author hashes of this pool. Set it before the first
 * erasure and keep it: hashes made under another key no longer match.
 */
export function configureErasureKey(sql: Sql, key: string): void {
  configured.set(sql, key);
}

/** The HMAC key of the erased-author hashes: the configured one, else one made once and kept in the database. */
export function erasureKey(sql: Sql): Promise<string> {
  const set = configured.get(sql);
  if (set) return Promise.resolve(set);
  let p = stored.get(sql);
  if (!p) {
    p = settingOrCreate(sql, SETTING.erasureKey, () => randomBytes(32).toString('base64url')).catch((err: unknown) => {
      stored.delete(sql);
      throw err;
    });
    stored.set(sql, p);
  }
  return p;
}

/** The keyed hash kept for an erased author: HMAC-SHA256 of their platform user id, never the id itself. */
export function authorHash(key: string, userId: string): string {
  return createHmac('sha256', key).update(userId).digest('hex');
}

/** Record erased authors by hash, so that no source stores their posts again. */
export async function recordErasedAuthors(tx: Tx, key: string, authors: readonly { platform: string; userId: string }[]): Promise<void> {
  if (authors.length === 0) return;
  await tx`
    insert into erased_authors (platform, user_hash)
    select * from unnest(${tx.array(authors.map((a) => a.platform))}::platform[], ${tx.array(authors.map((a) => authorHash(key, a.userId)))}::text[])
    on conflict do nothing`;
}

/**
 * The posts of a page whose authors were not erased: an erased person's posts are never stored again.
 * Until someone is erased this costs one probe and no hashing; after that, one HMAC per author of the
 * page (a page repeats its loud authors) and one lookup per author.
 */
export async function withoutErasedAuthors(tx: Tx, key: string, posts: readonly SocialPost[]): Promise<readonly SocialPost[]> {
  if (posts.length === 0) return posts;
  const [row] = await tx<{ erased: boolean }[]>`select exists (select 1 from erased_authors) as erased`;
  if (!row!.erased) return posts;
  const authorOf = (p: SocialPost) => `${p.platform}/${p.author.id}`;
  const authors = new Map<string, SocialPost>();
  for (const p of posts) if (!authors.has(authorOf(p))) authors.set(authorOf(p), p);
  const list = [...authors.values()];
  // Which of the page's authors were erased, by their place in the list (1-based).
  const erased = await tx<{ n: number }[]>`
    select a.n::int as n
    from unnest(${tx.array(list.map((p) => p.platform))}::platform[], ${tx.array(list.map((p) => authorHash(key, p.author.id)))}::text[])
         with ordinality as a(platform, user_hash, n)
    where exists (select 1 from erased_authors e where e.platform = a.platform and e.user_hash = a.user_hash)`;
  if (erased.length === 0) return posts;
  const gone = new Set(erased.map((e) => authorOf(list[e.n - 1]!)));
  return posts.filter((p) => !gone.has(authorOf(p)));
}
