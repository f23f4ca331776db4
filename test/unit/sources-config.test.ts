import { describe, expect, it } from 'vitest';
import { parseConfigFile } from '../../src/config.js';

/** Source settings of issue 21: overlap, backfill, budget and cost; a bad value names its field. */
describe('source windows, budget and cost in the config file', () => {
  const parse = (yaml: string) => parseConfigFile(yaml, 'capture.config.yaml');

  it('reads overlap, backfill and budget per source, and cost defaults', () => {
    const c = parse(`sources:
  - { id: s, platform: twitter, kind: search, query: acme, overlap: 10m, backfill: 3d, budget: { posts_per_month: 5000 } }
`);
    expect(c.sources[0]).toMatchObject({ overlap: 600_000, backfill: 3 * 86_400_000, budget: { posts_per_month: 5000 } });
    expect(c.cost).toEqual({ x_post_read_usd: 0.005, x_own_mention_read_usd: 0.001, monthly_cap_posts: 3_000_000, warn_at: 0.8 });
  });

  it.each([
    ['overlap: ten', 'sources[0] (id "s").overlap: invalid duration'],
    ['backfill: 8d', 'sources[0] (id "s").backfill: at most 7d: X recent search serves the last 7 days'],
    ['budget: { posts_per_month: 0 }', 'sources[0] (id "s").budget.posts_per_month'],
    ['budget: { posts: 10 }', 'sources[0] (id "s").budget: unknown field(s) posts'],
  ])('%s is refused naming the field', (setting, message) => {
    expect(() => parse(`sources:\n  - { id: s, platform: twitter, kind: search, query: acme, ${setting} }\n`)).toThrow(message);
  });

  it('names the field of a bad cost setting', () => {
    expect(() => parse('cost: { warn_at: 1.5 }\n')).toThrow('cost.warn_at');
    expect(() => parse('cost: { x_post_read_usd: -1 }\n')).toThrow('cost.x_post_read_usd');
  });

  it('lets a mentions backfill reach as far as it likes: the timeline itself stops at its 800 newest', () => {
    expect(parse('sources:\n  - { id: m, platform: twitter, kind: mentions, user_id: "1", backfill: 30d }\n').sources[0]).toMatchObject({
      backfill: 30 * 86_400_000,
    });
  });
});
