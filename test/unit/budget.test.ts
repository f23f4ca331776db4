import { describe, expect, it } from 'vitest';
import { DEFAULT_COST, parseConfigFile } from '../../src/config.js';
import { billingMonth, budgetVerdict, pricePerPost } from '../../src/capture/budget.js';

const source = (yaml: string) => parseConfigFile(`sources:\n  - ${yaml}\n`, 'test').sources[0]!;
const search = source('{ id: s, platform: twitter, kind: search, query: q, budget: { posts_per_month: 1000 } }');
const open = source('{ id: o, platform: twitter, kind: search, query: q }');
const page = source('{ id: f, platform: facebook, kind: page, page_id: "1" }');

describe('budget policy', () => {
  it.each([
    [search, { source: 0, account: 0 }, 'ok'],
    [search, { source: 799, account: 799 }, 'ok'],
    [search, { source: 800, account: 800 }, 'warning'],
    [search, { source: 1000, account: 1000 }, 'budget exhausted'],
    [open, { source: 2_400_000, account: 2_400_000 }, 'warning'],
    [open, { source: 10, account: 3_000_000 }, 'budget exhausted'],
    [page, { source: 10, account: 3_000_000 }, 'ok'], // the account cap is X's
  ] as const)('%#: %j → %s', (s, use, status) => {
    expect(budgetVerdict(s, DEFAULT_COST, use).status).toBe(status);
  });

  it.each([
    ['{ id: a, platform: twitter, kind: search, query: q }', 0.005],
    ['{ id: b, platform: twitter, kind: mentions, user_id: "1" }', 0.001],
    ['{ id: c, platform: facebook, kind: page, page_id: "1" }', 0],
    ['{ id: d, platform: twitter, kind: sandbox }', 0],
  ])('price per post of %s is %d', (yaml, price) => {
    expect(pricePerPost(source(yaml), DEFAULT_COST)).toBe(price);
  });

  it.each([
    [Date.UTC(2026, 11, 31, 23, 59), { start: '2026-12-01', next: '2027-01-01' }],
    [Date.UTC(2027, 0, 1, 0, 0), { start: '2027-01-01', next: '2027-02-01' }],
  ])('billing month of %d', (at, month) => {
    expect(billingMonth(at)).toEqual(month);
  });
});
