import { createHash } from 'node:crypto';
import type { SourceConfig } from '../config.js';
import { sandboxPost } from '../connectors/sandbox.connector.js';
import type { Logger } from '../logger.js';
import { startFacebookSimulator, type FacebookSimulator } from './facebook.simulator.js';
import { startTwitterSimulator, type TwitterSimulator } from './twitter.simulator.js';

/**
 * `npm start` without platform credentials: the simulators run in-process, a live stream of
 * sandbox posts is published into them, and the real connectors poll them over HTTP.
 */

export interface LiveSandboxOptions {
  /** Sources of kind search, mentions and page that have no credentials. */
  sources: readonly SourceConfig[];
  log: Logger;
  /** Posts published per source per tick. @defaultValue 3 */
  perTick?: number;
  /** @defaultValue 1000 */
  tickMs?: number;
  /** Published per source before the first poll, so the first leads and cases come at once. @defaultValue 20 */
  initial?: number;
}

export interface LiveSandbox {
  twitter?: { sim: TwitterSimulator; bearerToken: string };
  facebook?: { sim: FacebookSimulator; pageToken: string };
  close(): Promise<void>;
}

const seedOf = (id: string) => createHash('sha256').update(id).digest().readUInt32BE(0) % 10_000;

export async function startLiveSandbox(opts: LiveSandboxOptions): Promise<LiveSandbox> {
  const x = opts.sources.filter((s) => s.kind === 'search' || s.kind === 'mentions' || s.kind === 'stream');
  const fb = opts.sources.filter((s) => s.kind === 'page');
  const out: LiveSandbox = { close: async () => {} };
  if (x.length > 0) out.twitter = { sim: await startTwitterSimulator({ bearerToken: 'sandbox-token' }), bearerToken: 'sandbox-token' };
  if (fb.length > 0) {
    // Generous usage quota: the demo should show posts, not Meta's throttling (the tests show that).
    out.facebook = {
      sim: await startFacebookSimulator({ pageToken: 'sandbox-page-token', usage: { callsPerWindow: 1_000_000, windowMs: 3_600_000 } }),
      pageToken: 'sandbox-page-token',
    };
  }
  const counters = new Map<string, number>();
  const publishNext = (source: SourceConfig) => {
    const n = (counters.get(source.id) ?? 0) + 1;
    counters.set(source.id, n);
    if (source.kind === 'search' || source.kind === 'mentions' || source.kind === 'stream') {
      const idBase = (1_790_000_000_000_000_000n + BigInt(seedOf(source.id)) * 10_000_000_000n).toString();
      const post = sandboxPost({ sourceId: source.id, platform: 'twitter', seed: seedOf(source.id), idBase, now: () => new Date() }, n);
      // A stream source's posts match its first rule: published under that query, the simulator streams them.
      const target =
        source.kind === 'search' ? { search: source.query } : source.kind === 'stream' ? { search: source.rules[0]!.value } : { mentions: source.user_id };
      out.twitter!.sim.publish(target, post);
    } else if (source.kind === 'page') {
      const post = sandboxPost({ sourceId: source.id, platform: 'facebook', seed: seedOf(source.id), pageId: source.page_id, now: () => new Date() }, n);
      out.facebook!.sim.publish(source.page_id, post);
    }
  };
  const live = [...x, ...fb];
  for (const s of live) for (let i = 0; i < (opts.initial ?? 20); i++) publishNext(s);
  const timer = setInterval(() => {
    for (const s of live) for (let i = 0; i < (opts.perTick ?? 3); i++) publishNext(s);
  }, opts.tickMs ?? 1000);
  timer.unref();
  opts.log.info(
    { twitter: out.twitter?.sim.url, facebook: out.facebook?.sim.url, sources: live.map((s) => s.id) },
    'no platform credentials: polling the built-in simulators through the real connectors',
  );
  out.close = async () => {
    clearInterval(timer);
    await Promise.all([out.twitter?.sim.close(), out.facebook?.sim.close()]);
  };
  return out;
}
