import { describe, expect, it } from 'vitest';
import { ConnectorError, type ConnectorErrorCode } from '../../src/errors.js';
import { decidePollError, ERROR_POLICY, jitter } from '../../src/workers/error-policy.js';

describe('the error policy table', () => {
  it.each<[ConnectorErrorCode, string, boolean]>([
    ['rate_limited', 'wait-for-reset', true],
    ['temporary', 'retry', true],
    ['bad_response', 'retry-next-poll', true],
    ['auth', 'mark-unhealthy', false],
    ['not_found', 'mark-unhealthy', false],
  ])('%s → %s (healthy %s)', (code, action, healthy) => {
    expect(ERROR_POLICY[code]).toMatchObject({ action, healthy });
    expect(decidePollError(new ConnectorError(code, 'x', 5_000), 9, 1)).toMatchObject({ code, action, healthy, retryInMs: null });
  });

  it("waits exactly for the platform's reset", () => {
    expect(decidePollError(new ConnectorError('rate_limited', 'x', 123_456), 0, 1)).toMatchObject({ retryInMs: null, blockMs: 123_456 });
  });

  it('retries temporary errors twice within the poll with growing jittered waits, then backs off the source', () => {
    const e = new ConnectorError('temporary', '503');
    const first = decidePollError(e, 0, 1);
    const second = decidePollError(e, 1, 1);
    expect(first.retryInMs).toBeGreaterThanOrEqual(250);
    expect(first.retryInMs).toBeLessThanOrEqual(500);
    expect(second.retryInMs).toBeGreaterThanOrEqual(500);
    expect(second.retryInMs).toBeLessThanOrEqual(1000);
    const gaveUp = decidePollError(e, 2, 3);
    expect(gaveUp.retryInMs).toBeNull();
    expect(gaveUp.blockMs).toBeGreaterThanOrEqual(4_000);
    expect(gaveUp.blockMs).toBeLessThanOrEqual(8_000);
  });

  it('lets the next poll retry one bad page, then backs off a platform that keeps sending them', () => {
    const e = new ConnectorError('bad_response', 'garbage');
    expect(decidePollError(e, 0, 1).blockMs).toBe(0);
    expect(decidePollError(e, 0, 3).blockMs).toBeGreaterThan(0);
  });

  it('treats an error that is not a ConnectorError as temporary', () => {
    expect(decidePollError(new TypeError('boom'), 0, 1)).toMatchObject({ code: 'temporary', action: 'retry' });
  });

  it('jitters between half and all of the wait', () => {
    expect(jitter(1000, () => 0)).toBe(500);
    expect(jitter(1000, () => 1)).toBe(1000);
  });
});
