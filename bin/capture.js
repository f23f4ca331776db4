#!/usr/bin/env -S node --max-semi-space-size=32
// --max-semi-space-size=32 (MB; Node 20's default is 16): the capture worker makes many short-lived
// objects per post, and a larger young generation collects them in fewer, cheaper scavenges. It only
// takes effect on the command line, so `npm start` and `npm run bench` pass it too.
// Runs the compiled JavaScript in dist/ (built by `npm ci` through the prepare script, or `npm run build`),
// so production runs exactly what the type checker passed; `npm run dev` runs the sources through tsx.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('capture: dist/ is missing; run `npm run build` (npm ci builds it)\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exit(await main(process.argv.slice(2)));
