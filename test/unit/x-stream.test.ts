import { describe, expect, it } from 'vitest';
import { backfillQueries, mapStreamLine, reconnectDelay } from '../../src/connectors/x-stream.connector.js';

describe('X filtered stream: pure parts', () => {
  it.each([
    ['network', 0, 250],
    ['network', 3, 1000],
    ['network', 100, 16_000],
    ['http', 0, 5_000],
    ['http', 2, 20_000],
    ['http', 9, 320_000],
    ['auth', 0, 5_000],
    ['rate_limited', 0, 60_000],
    ['rate_limited', 2, 240_000],
  ] as const)('reconnect after %s failure #%i waits %i ms', (kind, attempt, ms) => {
    expect(reconnectDelay(kind, attempt)).toBe(ms);
  });

  it('combines rules into search queries of at most 512 characters', () => {
    expect(backfillQueries([{ value: 'a b' }, { value: '@acme' }])).toEqual(['(a b) OR (@acme)']);
    const many = Array.from({ length: 30 }, (_, i) => ({ value: `keyword${i} lang:en` }));
    const queries = backfillQueries(many);
    expect(queries.length).toBeGreaterThan(1);
    expect(queries.every((q) => q.length <= 512)).toBe(true);
    expect(queries.join(' OR ')).toBe(many.map((r) => `(${r.value})`).join(' OR '));
  });

  it('maps a stream line, and calls a cut-off one malformed', () => {
    const line = JSON.stringify({
      data: { id: '1790000000000000001', text: 'hi', author_id: '5', created_at: '2026-11-20T10:00:00.000Z' },
      includes: { users: [{ id: '5', username: 'jane', name: 'Jane' }] },
      matching_rules: [{ id: '9', tag: 't' }],
    });
    const ev = mapStreamLine(line);
    expect(ev).toMatchObject({ type: 'posts', ids: ['1790000000000000001'], posts: [{ id: '1790000000000000001', author: { handle: 'jane' } }] });
    expect(mapStreamLine('{"data":{"id":"1","text":"cut')).toMatchObject({ type: 'malformed' });
    expect(mapStreamLine('{"errors":[{"title":"operational-disconnect"}]}')).toMatchObject({ type: 'malformed', reason: 'no data.id' });
  });
});
