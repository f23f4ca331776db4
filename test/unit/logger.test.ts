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
    [{ config: { secrets: { twitterBearerToken: 'tw-secret-123' } } }],
    [{ secrets: { facebookPageToken: 'tw-secret-123' } }],
    [{ source: { facebookAppSecret: 'tw-secret-123' } }],
    [{ params: { access_token: 'tw-secret-123', appsecret_proof: 'tw-secret-123' } }],
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

describe('logger and the loaded config', () => {
  it('never writes a platform secret from the environment, even when the whole config is logged', async () => {
    const { loadConfig } = await import('../../src/config.js');
    const config = loadConfig({
      CAPTURE_CONFIG: '',
      TWITTER_BEARER_TOKEN: 'tw-secret-123',
      FACEBOOK_PAGE_TOKEN: 'fb-secret-456',
      FACEBOOK_APP_SECRET: 'app-secret-789',
      FACEBOOK_VERIFY_TOKEN: 'verify-000',
    });
    expect(config.secrets?.twitterBearerToken).toBe('tw-secret-123');
    const { lines, log } = capture();
    log.info({ config }, 'configured');
    log.info({ secrets: config.secrets }, 'configured');
    for (const line of lines) for (const s of ['tw-secret-123', 'fb-secret-456', 'app-secret-789', 'verify-000']) expect(line).not.toContain(s);
  });
});
