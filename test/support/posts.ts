import type { SocialPost } from '../../src/types.js';

let seq = 0n;

/** A post in the normalized format; ids beyond 2^53 like real X ids, unique per call unless given. */
export function makePost(p: Partial<SocialPost> & { text: string; authorId?: string; handle?: string }): SocialPost {
  seq += 1n;
  const { authorId, handle, ...rest } = p;
  return {
    platform: 'twitter',
    id: (1_800_000_000_000_000_000n + BigInt(process.pid) * 1_000_000n + seq).toString(),
    created_at: '2026-11-20T10:00:00Z',
    author: { id: authorId ?? `9${seq.toString().padStart(18, '0')}`, handle: handle ?? `user${seq}`, name: 'Sam Example' },
    ...rest,
  };
}
