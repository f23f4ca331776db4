import { describe, expect, it } from 'vitest';
import { parseConfigFile, parseDuration } from '../../src/config.js';
import { parsePostKey, postKey } from '../../src/db/post-key.js';
import { describeError } from '../../src/errors.js';

describe('parseDuration', () => {
  it.each([
    ['60s', 60_000],
    ['5m', 300_000],
    ['72h', 259_200_000],
    ['7d', 604_800_000],
    ['250ms', 250],
    [1500, 1500],
    ['1.5s', 1500],
  ])('%s → %s ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(['', '6o s', '5 minutes', '-1s', 'h'])('refuses %j', (input) => expect(parseDuration(input)).toBeNull());
});

describe('parseConfigFile', () => {
  it('reads the shipped example shape, with defaults', () => {
    const c = parseConfigFile(
      `sources:
  - { id: acme-x-search, platform: twitter, kind: search, query: '@acme -is:retweet', every: 60s }
  - { id: acme-x-mentions, platform: twitter, kind: mentions, user_id: "1234567890123456789" }
  - { id: acme-fb, platform: facebook, kind: page, page_id: "1122334455", every: 120s }
`,
      'c.yaml',
    );
    expect(c.sources.map((s) => [s.id, s.every])).toEqual([
      ['acme-x-search', 60_000],
      ['acme-x-mentions', 60_000],
      ['acme-fb', 120_000],
    ]);
    expect(c.capture.attempts).toBe(5);
    expect(c.queue.prefix).toBe('capture');
    expect(c.capture.reopen_window).toBe(3 * 86_400_000);
    expect(c.erasure.mode).toBe('anonymize');
    expect(c.sources[0]!.retweets).toBeUndefined();
    expect(c.events).toEqual({ retention: 30 * 86_400_000, prune_every: 3_600_000 });
  });

  it('reads the events retention, or off to keep every event', () => {
    expect(parseConfigFile('events: { retention: 90d, prune_every: 10m }\n', 'c.yaml').events).toEqual({ retention: 90 * 86_400_000, prune_every: 600_000 });
    expect(parseConfigFile('events: { retention: "off" }\n', 'c.yaml').events.retention).toBe('off');
  });

  it('reads how long webhook delivery gives way to a capture burst: 30 s by default, 0 for never', () => {
    expect(parseConfigFile('webhooks: {}\n', 'c.yaml').webhooks?.yield_to_capture).toBe(30_000);
    expect(parseConfigFile('webhooks: { yield_to_capture: 0 }\n', 'c.yaml').webhooks?.yield_to_capture).toBe(0);
    expect(parseConfigFile('webhooks: { yield_to_capture: 2m }\n', 'c.yaml').webhooks?.yield_to_capture).toBe(120_000);
    expect(() => parseConfigFile('webhooks: { yield_to_capture: always }\n', 'c.yaml')).toThrow(/c\.yaml: webhooks\.yield_to_capture/);
  });

  it('reads the CRM settings: reopen window, erasure mode, a source that captures retweets', () => {
    const c = parseConfigFile(
      `sources:\n  - { id: rt, platform: twitter, kind: search, query: q, retweets: capture }\ncapture: { reopen_window: 12h }\nerasure: { mode: delete }\n`,
      'c.yaml',
    );
    expect(c.capture.reopen_window).toBe(12 * 3_600_000);
    expect(c.erasure.mode).toBe('delete');
    expect(c.sources[0]!.retweets).toBe('capture');
  });

  it.each([
    ['sources:\n  - { id: a, platform: twitter, kind: search, query: q, every: 6o s }', /c\.yaml: sources\[0\] \(id "a"\)\.every: invalid duration "6o s"/],
    ['sources:\n  - { id: a, platform: twitter, kind: search, qurey: q }', /sources\[0\] \(id "a"\): unknown field\(s\) qurey/],
    ['sources:\n  - { id: a, platform: twitter, kind: mentions, user_id: 12 }', /sources\[0\] \(id "a"\)\.user_id/],
    ['sources:\n  - { id: a, platform: myspace, kind: page, page_id: "1" }', /sources\[0\] \(id "a"\)/],
    ['sources:\n  - { id: a, platform: twitter, kind: sandbox }\n  - { id: a, platform: twitter, kind: sandbox }', /duplicate source id "a"/],
    ['capture: { concurrency: 0 }', /c\.yaml: capture\.concurrency/],
    ['capture: { case_window: soon }', /capture\.case_window: invalid duration/],
    ['capture: { reopen_window: later }', /c\.yaml: capture\.reopen_window: invalid duration "later"/],
    ['erasure: { mode: shred }', /c\.yaml: erasure\.mode/],
    ['events: { retention: forever }', /c\.yaml: events\.retention/],
    [
      'sources:\n  - { id: s1, platform: twitter, kind: stream, rules: [{ value: a }] }\n  - { id: s2, platform: twitter, kind: stream, rules: [{ value: b }] }',
      /sources\[1\] \(id "s2"\)\.kind: a second enabled stream source \(after "s1"\)/,
    ],
    ['sources:\n  - { id: a, platform: twitter, kind: search, query: q, retweets: sometimes }', /sources\[0\] \(id "a"\)\.retweets/],
    ['colour: blue', /c\.yaml: \(top level\): unknown field\(s\) colour/],
    ['sources: [', /c\.yaml: not valid YAML/],
  ])('refuses %j naming the field', (text, message) => {
    expect(() => parseConfigFile(text, 'c.yaml')).toThrow(message);
  });
});

describe('post keys', () => {
  it.each([
    [{ platform: 'twitter' as const, externalId: '1790000000000000001' }, 'x-1790000000000000001'],
    [{ platform: 'facebook' as const, externalId: '1122334455_987' }, 'fb-1122334455_987'],
  ])('%j ↔ %s', (ref, key) => {
    expect(postKey(ref)).toBe(key);
    expect(parsePostKey(key)).toEqual(ref);
    expect(key).not.toMatch(/:/);
  });

  it.each(['123', 'y-1', '-1', 'x-'])('refuses %j', (key) => expect(parsePostKey(key)).toBeNull());
});

describe('describeError', () => {
  it('names the address of an unreachable service in one line', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5499\n    at stack'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 5499 });
    expect(describeError(err)).toBe('ECONNREFUSED at 127.0.0.1:5499');
  });
  it('keeps the first line of any other message', () => {
    expect(describeError(new Error('boom\n  at x'))).toBe('boom');
  });
});
