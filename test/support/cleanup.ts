import { afterAll } from 'vitest';
import { deleteRedisKeys, takeRedisPrefixes } from './services.js';

// After each test file (this hook runs after the file's own ones, so its workers are closed): the
// queue keys it left on the machine's shared Redis go, as its databases already do.
afterAll(async () => {
  for (const prefix of takeRedisPrefixes()) await deleteRedisKeys(prefix).catch(() => {});
});
