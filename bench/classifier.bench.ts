/**
 * Classifier throughput: posts per second with the shipped rules and with 10, 100, 1,000 and 10,000
 * synthetic rules, on the dev set's posts. Not a test: numbers depend on the machine; the ratios between
 * sizes are what to watch (the phrase trie should keep growth far below linear).
 *
 *   npm run bench:classifier [-- --json] [-- --seconds 2] [-- --data FILE.jsonl]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { classify, loadRuleset, parseRuleset, type ClassifierInput, type Ruleset } from '../src/classifier/index.js';
import { syntheticRules } from './synthetic-rules.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '1.5' },
    data: { type: 'string', default: fileURLToPath(new URL('../../shared/eval/dev/posts.jsonl', import.meta.url)) },
  },
});
const seconds = Number(values.seconds);

function loadPosts(path: string): ClassifierInput[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { text: string; platform?: string; lang?: string })
      .map((r) => ({ text: r.text, platform: r.platform === 'facebook' ? 'facebook' : 'twitter', isReply: false, ...(r.lang ? { lang: r.lang } : {}) }));
  } catch {
    // Without the dev set (another checkout), posts of the same shape made from a fixed template.
    return Array.from({ length: 300 }, (_, i) => ({
      text: `@brand order ${i} still not here after 2 weeks, how much is the express option?? sooo annoyed 😡 https://t.co/x${i}`,
      platform: 'twitter',
      isReply: i % 3 === 0,
    }));
  }
}

function measure(ruleset: Ruleset, posts: readonly ClassifierInput[]) {
  for (const p of posts) classify(p, ruleset); // warm-up: JIT, and every lazy path taken once
  let n = 0;
  let fired = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (const p of posts) fired += classify(p, ruleset).rules.length;
    n += posts.length;
    elapsed = process.hrtime.bigint() - start;
  }
  const secs = Number(elapsed) / 1e9;
  return {
    postsPerSecond: Math.round(n / secs),
    microsPerPost: Math.round((secs / n) * 1e6 * 10) / 10,
    rulesFiredPerPost: Math.round((fired / n) * 100) / 100,
  };
}

const posts = loadPosts(values.data);
const results: { rules: number | string; matching: string; compileMs: number; postsPerSecond: number; microsPerPost: number; rulesFiredPerPost: number }[] = [];

const t0 = performance.now();
const shipped = loadRuleset(fileURLToPath(new URL('../rules/default.yaml', import.meta.url)));
results.push({
  rules: `rules/default.yaml (${shipped.rules.length})`,
  matching: 'shipped',
  compileMs: Math.round(performance.now() - t0),
  ...measure(shipped, posts),
});

const series: [string, number][] = [
  ['half real', 0.5],
  ['none match', 0],
];
for (const [matching, share] of series) {
  for (const n of [10, 100, 1_000, 10_000]) {
    const yamlText = syntheticRules(n, posts, share);
    const c0 = performance.now();
    const ruleset = parseRuleset(yamlText, `synthetic-${n}`);
    const compileMs = Math.round(performance.now() - c0);
    results.push({ rules: n, matching, compileMs, ...measure(ruleset, posts) });
  }
}

const bySize = new Map(results.filter((r) => r.matching === 'half real').map((r) => [r.rules as number, r]));
const flat = results.filter((r) => r.matching === 'none match');
const flatGrowth = Math.round((flat[flat.length - 1]!.microsPerPost / flat[0]!.microsPerPost) * 100) / 100;
const slowdown = (from: number, to: number) => Math.round((bySize.get(to)!.microsPerPost / bySize.get(from)!.microsPerPost) * 100) / 100;
const growth = { '10→100': slowdown(10, 100), '100→1000': slowdown(100, 1_000), '1000→10000': slowdown(1_000, 10_000), '10→10000': slowdown(10, 10_000) };

if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ posts: posts.length, seconds, node: process.version, results, timePerPostGrowth: growth, timePerPostGrowthWhenNoRuleMatches: { '10→10000': flatGrowth } }, null, 2)}\n`,
  );
} else {
  process.stdout.write(`classifier benchmark: ${posts.length} posts, ${seconds}s per size, node ${process.version}\n\n`);
  process.stdout.write('rules                     phrases      compile ms   posts/s   µs/post   rules fired/post\n');
  for (const r of results) {
    process.stdout.write(
      `${String(r.rules).padEnd(26)}${r.matching.padEnd(11)}${String(r.compileMs).padStart(10)}${String(r.postsPerSecond).padStart(10)}${String(r.microsPerPost).padStart(10)}${String(r.rulesFiredPerPost).padStart(19)}\n`,
    );
  }
  process.stdout.write(
    `\ntime per post (half real phrases) grows ×${growth['10→100']} from 10 to 100 rules, ×${growth['100→1000']} from 100 to 1,000, ×${growth['1000→10000']} from 1,000 to 10,000 (×${growth['10→10000']} from 10 to 10,000)\n` +
      `with rules whose phrases never occur (the trie scan alone), ×${flatGrowth} from 10 to 10,000 rules\n`,
  );
}
