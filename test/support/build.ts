import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Vitest global setup: compile src/ to dist/ before any test runs, so tests that spawn `bin/capture.js`
 * run the JavaScript that `npm start` ships, never a stale build (incremental: a no-op when nothing changed).
 */
export default function setup(): void {
  const root = join(import.meta.dirname, '../..');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
}
