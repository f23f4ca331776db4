import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', destination }) };
}

describe('logger', () => {
  it.each([
    [{ source: { token: 'tw-secret-123' } }],
    [{ headers: { authorization: 'Bearer tw-secret-123' } }],
    [{ req: { headers: { authorization: 'Bearer tw-secret-123' } } }],
    [{ client: { bearerToken: 'tw-secret-123' } }],
    [{ db: { password: 'tw-secret-123' } }],
    [{ fb: { appSecret: 'tw-secret-123' } }],
  ])('never writes a secret: %j', (fields) => {
    const { lines, log } = capture();
    log.info(fields, 'connecting');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('tw-secret-123');
    expect(lines[0]).toContain('[redacted]');
  });

  it('writes facts as JSON fields', () => {
    const { lines, log } = capture();
    log.child({ component: 'capture' }).info({ postKey: 'x-1', label: 'case' }, 'case created');
    expect(JSON.parse(lines[0]!)).toMatchObject({ component: 'capture', postKey: 'x-1', label: 'case', msg: 'case created' });
  });
});
