/**
 * Classifier throughput: posts per second with the shipped rules and with 10, 100, 1,000 and 10,000
 * synthetic rules, on the dev set's posts. Not a test: numbers depend on the machine; the ratios between
 * sizes are what to watch (the phrase trie should keep growth far below linear).
 *
 * Time is the process's CPU time, not the clock's: on a shared machine the clock also counts the time other
 * processes hold the cores. Each round measures every ruleset once, in turn, so a busy spell hits them all;
 * the figures are the median of the rounds.
 *
 *   [EVAL_DIR=../shared/eval] npm run bench:classifier [-- --json] [-- --seconds 1] [-- --rounds 3] [-- --data FILE.jsonl]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { classify, loadRuleset, parseRuleset, type ClassifierInput, type Ruleset } from '../src/classifier/index.js';
import { syntheticRules } from './synthetic-rules.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    /** CPU seconds per ruleset per round. */
    seconds: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    // EVAL_DIR as for `npm run eval:cv`.
    data: {
      type: 'string',
      default: process.env.EVAL_DIR ? `${process.env.EVAL_DIR}/dev/posts.jsonl` : fileURLToPath(new URL('../../shared/eval/dev/posts.jsonl', import.meta.url)),
    },
  },
});
const seconds = Number(values.seconds);
const rounds = Math.max(1, Number(values.rounds));

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

/** CPU time of this process, in microseconds. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Classify the posts over and over for `seconds` of CPU time; microseconds per post and rules fired per post. */
function measureOnce(ruleset: Ruleset, posts: readonly ClassifierInput[]) {
  let n = 0;
  let fired = 0;
  const start = cpuMicros();
  const budget = seconds * 1e6;
  let elapsed = 0;
  while (elapsed < budget) {
    for (const p of posts) fired += classify(p, ruleset).rules.length;
    n += posts.length;
    elapsed = cpuMicros() - start;
  }
  return { micros: elapsed / n, fired: fired / n };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Case {
  rules: number | string;
  matching: string;
  compileMs: number;
  ruleset: Ruleset;
  micros: number[];
  fired: number;
}

const posts = loadPosts(values.data);
const cases: Case[] = [];

const t0 = performance.now();
const shipped = loadRuleset(fileURLToPath(new URL('../rules/default.yaml', import.meta.url)));
cases.push({
  rules: `rules/default.yaml (${shipped.rules.length})`,
  matching: 'shipped',
  compileMs: Math.round(performance.now() - t0),
  ruleset: shipped,
  micros: [],
  fired: 0,
});

/**
 * The 100 half-real rules, then N − 100 rules whose phrases never occur: as many rules fire on a post at 10,000
 * rules as at 100, so this series shows what the number of rules costs by itself.
 */
function fixedMatches(n: number): string {
  const real = syntheticRules(100, posts, 0.5);
  const rest = syntheticRules(n - 100, posts, 0).split('\nrules:\n')[1] ?? '';
  return `${real}${rest.replace(/\bid: r(\d+)/g, 'id: f$1')}`;
}

const series: [string, (n: number) => string][] = [
  ['half real', (n) => syntheticRules(n, posts, 0.5)],
  ['none match', (n) => syntheticRules(n, posts, 0)],
  ['100 match', fixedMatches],
];
for (const [matching, make] of series) {
  for (const n of [10, 100, 1_000, 10_000]) {
    if (matching === '100 match' && n <= 100) continue;
    const yamlText = make(n);
    const c0 = performance.now();
    const ruleset = parseRuleset(yamlText, `synthetic-${n}`);
    cases.push({ rules: n, matching, compileMs: Math.round(performance.now() - c0), ruleset, micros: [], fired: 0 });
  }
}

for (const c of cases) for (const p of posts) classify(p, c.ruleset); // warm-up: JIT, and every lazy path taken once
for (let round = 0; round < rounds; round++) {
  for (const c of cases) {
    const { micros, fired } = measureOnce(c.ruleset, posts);
    c.micros.push(micros);
    c.fired = fired;
  }
}

const results = cases.map((c) => {
  const micros = median(c.micros);
  return {
    rules: c.rules,
    matching: c.matching,
    compileMs: c.compileMs,
    postsPerSecond: Math.round(1e6 / micros),
    microsPerPost: Math.round(micros * 10) / 10,
    rulesFiredPerPost: Math.round(c.fired * 100) / 100,
  };
});

const bySize = (matching: string) => new Map(results.filter((r) => r.matching === matching).map((r) => [r.rules as number, r.microsPerPost]));
const ratio = (sizes: Map<number, number>, from: number, to: number) => Math.round(((sizes.get(to) as number) / (sizes.get(from) as number)) * 100) / 100;
const half = bySize('half real');
const flat = bySize('none match');
const fixed = bySize('100 match');
const growth = {
  '10→100': ratio(half, 10, 100),
  '100→1000': ratio(half, 100, 1_000),
  '1000→10000': ratio(half, 1_000, 10_000),
  '10→10000': ratio(half, 10, 10_000),
};
const flatGrowth = ratio(flat, 10, 10_000);
const fixedGrowth = ratio(fixed, 1_000, 10_000);

if (values.json) {
  process.stdout.write(
    `${JSON.stringify(
      {
        posts: posts.length,
        seconds,
        rounds,
        time: 'cpu',
        node: process.version,
        results,
        timePerPostGrowth: growth,
        timePerPostGrowthWhenNoRuleMatches: { '10→10000': flatGrowth },
        timePerPostGrowthAtFixedMatches: { '1000→10000': fixedGrowth },
      },
      null,
      2,
    )}\n`,
  );
} else {
  process.stdout.write(
    `classifier benchmark: ${posts.length} posts, ${seconds} CPU s per ruleset per round, median of ${rounds} rounds, node ${process.version}\n\n`,
  );
  process.stdout.write('rules                     phrases      compile ms   posts/s   µs/post   rules fired/post\n');
  for (const r of results) {
    process.stdout.write(
      `${String(r.rules).padEnd(26)}${r.matching.padEnd(11)}${String(r.compileMs).padStart(10)}${String(r.postsPerSecond).padStart(10)}${String(r.microsPerPost).padStart(10)}${String(r.rulesFiredPerPost).padStart(19)}\n`,
    );
  }
  process.stdout.write(
    `\ntime per post (half real phrases) grows ×${growth['10→100']} from 10 to 100 rules, ×${growth['100→1000']} from 100 to 1,000, ×${growth['1000→10000']} from 1,000 to 10,000 (×${growth['10→10000']} from 10 to 10,000)\n` +
      `with rules whose phrases never occur (the trie scan alone), ×${flatGrowth} from 10 to 10,000 rules\n` +
      `with the same 100 rules matching and the rest never, ×${fixedGrowth} from 1,000 to 10,000 rules\n`,
  );
}
