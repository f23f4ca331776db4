import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import { captureEvents, typePatterns } from '../../src/db/outbox.repo.js';
import { outcomeOf, parseRetryAfter, retryDelay, signedHeaders } from '../../src/workers/webhook-delivery.worker.js';

const S = { backoffBaseMs: 1000, backoffMaxMs: 60_000 };

describe('webhook delivery policy', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [null, 'retry'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [301, 'failed'],
    [400, 'failed'],
    [401, 'failed'],
    [410, 'failed'],
  ] as const)('an answer %s means %s', (status, outcome) => {
    expect(outcomeOf(status)).toBe(outcome);
  });

  it.each([
    ['5', 5000],
    ['0', 0],
    ['Wed, 02 Dec 2026 17:00:30 GMT', 30_000],
    ['Wed, 02 Dec 2026 16:00:00 GMT', 0],
    ['soon', null],
    ['', null],
    [null, null],
  ] as const)('Retry-After %j is %j ms', (header, ms) => {
    expect(parseRetryAfter(header, Date.parse('2026-12-02T17:00:00Z'))).toBe(ms);
  });

  it('honours Retry-After over the back-off', () => {
    expect(retryDelay(7, S, 2500, () => 0)).toBe(2500);
  });

  it('doubles the back-off per attempt up to the maximum, jittered between half and all of it', () => {
    const low = [1, 2, 3, 4, 10].map((n) => retryDelay(n, S, null, () => 0));
    const high = [1, 2, 3, 4, 10].map((n) => retryDelay(n, S, null, () => 1));
    expect(low).toEqual([500, 1000, 2000, 4000, 30_000]);
    expect(high).toEqual([1000, 2000, 4000, 8000, 60_000]);
  });
});

describe('capture events', () => {
  const post = (id: number, action: string, o: { contactId?: number; leadId?: number; caseId?: number } = {}) => ({
    row: { id, platform: 'twitter' as const, externalId: String(id) },
    outcome: { action, contactId: o.contactId ?? null, leadId: o.leadId ?? null, caseId: o.caseId ?? null },
  });

  it('derives each event from what the batch wrote, once per contact, with escalation checked last', () => {
    const events = captureEvents([
      post(1, 'case-created', { contactId: 10, caseId: 100 }),
      post(2, 'recorded', { contactId: 11 }),
      post(3, 'case-attached', { contactId: 10, caseId: 100 }),
      post(4, 'lead-created', { contactId: 12, leadId: 200 }),
      post(5, 'case-reopened', { contactId: 13, caseId: 101 }),
      post(6, 'already-decided'),
      post(7, 'lead-attached', { contactId: 12, leadId: 200 }),
    ]);
    expect(events.map((e) => [e.type, e.aggregateId, e.when ?? ''])).toEqual([
      ['contact.created', 10, 'first'],
      ['case.created', 100, ''],
      ['case.post_attached', 100, ''],
      ['contact.created', 12, 'first'],
      ['lead.created', 200, ''],
      ['contact.created', 13, 'first'],
      ['case.status_changed', 101, ''],
      ['case.post_attached', 101, ''],
      ['case.priority_changed', 100, 'changed:priority'],
      ['case.priority_changed', 101, 'changed:priority'],
    ]);
  });

  it.each([
    ['case.*,lead.created', ['case.%', 'lead.created']],
    ['*', []],
    ['', []],
  ])('type filter %j', (types, patterns) => {
    expect(typePatterns(types)).toEqual(patterns);
  });

  it('names an unknown type', () => {
    expect(() => typePatterns('case.*,leads.created')).toThrow(/leads\.created/);
    expect(() => typePatterns('nope.*')).toThrow(/nope/);
  });
});

describe('webhook signatures', () => {
  // the example secret of the Standard Webhooks spec
  const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const body = '{"id" : "evt_1", "type" : "case.created", "data" : {"id": 7, "text": "ça ne marche pas 🙁"}}';
  const now = new Date('2026-12-03T10:00:00Z');

  it('the node:crypto signature is the one the standardwebhooks package makes, and it verifies with the package', () => {
    const headers = signedHeaders({ eventId: 'evt_1', secret: SECRET, body }, now);
    expect(headers['webhook-signature']).toBe(new Webhook(SECRET).sign('evt_1', now, body));
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['content-length']).toBe(String(Buffer.byteLength(body)));
    vi.useFakeTimers({ now });
    try {
      expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(body));
    } finally {
      vi.useRealTimers();
    }
  });

  it('a wrong secret, another id or a changed body fails verification with the package', () => {
    const headers = signedHeaders({ eventId: 'evt_1', secret: SECRET, body }, now);
    vi.useFakeTimers({ now });
    try {
      const other = `whsec_${Buffer.from('another key of thirty-two bytes!').toString('base64')}`;
      expect(() => new Webhook(other).verify(body, headers)).toThrow(WebhookVerificationError);
      expect(() => new Webhook(SECRET).verify(body, { ...headers, 'webhook-id': 'evt_2' })).toThrow(WebhookVerificationError);
      expect(() => new Webhook(SECRET).verify(body.replace('case.created', 'case.nope'), headers)).toThrow(WebhookVerificationError);
    } finally {
      vi.useRealTimers();
    }
  });
});
