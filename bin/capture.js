#!/usr/bin/env -S node --max-semi-space-size=32
// --max-semi-space-size=32 (MB; Node 20's default is 16): the capture worker makes many short-lived
// objects per post, and a larger young generation collects them in fewer, cheaper scavenges. It only
// takes effect on the command line, so `npm start` and `npm run bench` pass it too.
// Runs the TypeScript sources through tsx: no build step between a clone and a first run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exit(await main(process.argv.slice(2)));
