import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigFile } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const SHIPPED = join(import.meta.dirname, '../../capture.config.yaml');

describe('platform settings from the environment', () => {
  it('reads tokens and base URLs from the environment only', () => {
    const c = loadConfig({
      CAPTURE_CONFIG: SHIPPED,
      TWITTER_BEARER_TOKEN: 'bearer',
      FACEBOOK_PAGE_TOKEN: 'page',
      FACEBOOK_APP_SECRET: 'secret',
      FACEBOOK_VERIFY_TOKEN: 'verify',
      TWITTER_API_BASE_URL: 'http://127.0.0.1:4010',
      FACEBOOK_GRAPH_BASE_URL: 'https://graph.facebook.com/v25.0',
    });
    expect(c.secrets).toEqual({
      twitterBearerToken: 'bearer',
      facebookPageToken: 'page',
      facebookAppSecret: 'secret',
      facebookVerifyToken: 'verify',
      apiToken: undefined,
    });
    expect(c.twitterApiBaseUrl).toBe('http://127.0.0.1:4010');
    expect(c.facebookGraphBaseUrl).toBe('https://graph.facebook.com/v25.0');
  });

  it('treats unset tokens as "use the simulators"', () => {
    const c = loadConfig({ CAPTURE_CONFIG: SHIPPED, TWITTER_BEARER_TOKEN: '' });
    expect(c.secrets?.twitterBearerToken).toBeUndefined();
    expect(c.facebookGraphBaseUrl).toBeUndefined();
  });

  it.each(['TWITTER_API_BASE_URL', 'FACEBOOK_GRAPH_BASE_URL'])('names %s when it is not an http(s) URL', (name) => {
    expect(() => loadConfig({ CAPTURE_CONFIG: SHIPPED, [name]: 'ftp://example.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ CAPTURE_CONFIG: SHIPPED, [name]: 'ftp://example.com' })).toThrow(new RegExp(`environment: ${name}: must be an http\\(s\\) URL`));
  });

  it('ships a config whose X and Facebook sources are of the real kinds', () => {
    const file = parseConfigFile(readFileSync(SHIPPED, 'utf8'), SHIPPED);
    expect(file.sources.map((s) => s.kind).sort()).toEqual(['mentions', 'page', 'search']);
  });
});
