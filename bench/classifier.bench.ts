/**
 * Classifier throughput: posts per second with the shipped rules and with 10, 100, 1,000 and 10,000
 * synthetic rules, on the dev set's posts. Not a test: numbers depend on the machine; the ratios between
 * sizes are what to watch (the phrase trie should keep growth far below linear).
 *
 * Time is the process's CPU time, not the clock's: on a shared machine the clock also counts the time other
 * processes hold the cores. Each round measures every ruleset once, in turn, so a busy spell hits them all;
 * the figures are the median of the rounds. A growth from one size to another is the median of the rounds' own
 * ratios: the two sizes are measured one after the other in a round, so a spell that slows the machine for a
 * round (they last seconds here) slows both, where a ratio of two medians would compare different rounds.
 *
 * `--baseline DIR` also measures another checkout's classifier (DIR/src/classifier/index.ts, for example
 * `git worktree add /tmp/old <commit>` or `git archive <commit> | tar -x -C /tmp/old`, with a node_modules
 * link) on the same rules, taking turns with this one in every round: on a shared machine, before and after are
 * only comparable measured together.
 *
 *   [EVAL_DIR=../shared/eval] npm run bench:classifier [-- --json] [-- --seconds 1] [-- --rounds 5] [-- --data FILE.jsonl]
 *     [-- --baseline DIR]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as current from '../src/classifier/index.js';
import type { ClassifierInput, Decision, Ruleset } from '../src/classifier/index.js';
import { syntheticRules } from './synthetic-rules.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    /** CPU seconds per ruleset per round. */
    seconds: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    /** Another checkout whose classifier is measured too, in turn with this one. */
    baseline: { type: 'string' },
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

/** A classifier implementation: this checkout's, or the baseline's. */
interface Code {
  name: string;
  classify: (input: ClassifierInput, ruleset: Ruleset) => Decision;
  parseRuleset: (yamlText: string, origin?: string) => Ruleset;
}

const codes: Code[] = [{ name: 'this', classify: current.classify, parseRuleset: current.parseRuleset }];
if (values.baseline !== undefined) {
  const m = (await import(pathToFileURL(join(values.baseline, 'src/classifier/index.ts')).href)) as typeof current;
  codes.push({ name: 'baseline', classify: m.classify, parseRuleset: m.parseRuleset });
}

/** Classify the posts over and over for `seconds` of CPU time; microseconds per post and rules fired per post. */
function measureOnce(classify: Code['classify'], ruleset: Ruleset, posts: readonly ClassifierInput[]) {
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

/** One ruleset measured with one code. */
interface Run {
  ruleset: Ruleset;
  compileMs: number;
  micros: number[];
  fired: number;
}

interface Case {
  rules: number | string;
  matching: string;
  /** By code, in the order of {@link codes}. */
  runs: Run[];
}

const posts = loadPosts(values.data);
const cases: Case[] = [];

function compileWith(code: Code, yamlText: string, origin: string): Run {
  const c0 = performance.now();
  const ruleset = code.parseRuleset(yamlText, origin);
  return { ruleset, compileMs: Math.round(performance.now() - c0), micros: [], fired: 0 };
}

const shippedPath = fileURLToPath(new URL('../rules/default.yaml', import.meta.url));
const shippedText = readFileSync(shippedPath, 'utf8');
const shippedRuns = codes.map((code) => compileWith(code, shippedText, shippedPath));
cases.push({ rules: `rules/default.yaml (${(shippedRuns[0] as Run).ruleset.rules.length})`, matching: 'shipped', runs: shippedRuns });

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
    cases.push({ rules: n, matching, runs: codes.map((code) => compileWith(code, yamlText, `synthetic-${n}`)) });
  }
}

// Warm-up: JIT, and every lazy path taken once.
for (const c of cases) {
  c.runs.forEach((run, k) => {
    for (const p of posts) (codes[k] as Code).classify(p, run.ruleset);
  });
}
for (let round = 0; round < rounds; round++) {
  for (const c of cases) {
    // The codes take turns, in alternating order, so neither always runs first.
    const order = round % 2 === 0 ? codes.map((_, k) => k) : codes.map((_, k) => codes.length - 1 - k);
    for (const k of order) {
      const run = c.runs[k] as Run;
      const { micros, fired } = measureOnce((codes[k] as Code).classify, run.ruleset, posts);
      run.micros.push(micros);
      run.fired = fired;
    }
  }
}

/** One code's figures: per ruleset, and the growth of the time per post with the number of rules. */
function summary(k: number) {
  const results = cases.map((c) => {
    const run = c.runs[k] as Run;
    const micros = median(run.micros);
    return {
      rules: c.rules,
      matching: c.matching,
      compileMs: run.compileMs,
      postsPerSecond: Math.round(1e6 / micros),
      microsPerPost: Math.round(micros * 10) / 10,
      rulesFiredPerPost: Math.round(run.fired * 100) / 100,
    };
  });
  // Per size, the run's time per post in each round.
  const bySize = (matching: string) => new Map(cases.filter((c) => c.matching === matching).map((c) => [c.rules as number, (c.runs[k] as Run).micros]));
  const ratio = (sizes: Map<number, number[]>, from: number, to: number) => {
    const a = sizes.get(from) as number[];
    const b = sizes.get(to) as number[];
    return Math.round(median(b.map((micros, round) => micros / (a[round] as number))) * 100) / 100;
  };
  const half = bySize('half real');
  return {
    results,
    timePerPostGrowth: {
      '10→100': ratio(half, 10, 100),
      '100→1000': ratio(half, 100, 1_000),
      '1000→10000': ratio(half, 1_000, 10_000),
      '10→10000': ratio(half, 10, 10_000),
    },
    timePerPostGrowthWhenNoRuleMatches: { '10→10000': ratio(bySize('none match'), 10, 10_000) },
    timePerPostGrowthAtFixedMatches: { '1000→10000': ratio(bySize('100 match'), 1_000, 10_000) },
  };
}

const summaries = codes.map((_, k) => summary(k));
const head = { posts: posts.length, seconds, rounds, time: 'cpu', node: process.version };

if (values.json) {
  const [mine, baseline] = summaries;
  process.stdout.write(`${JSON.stringify({ ...head, ...mine, ...(baseline ? { baseline: { dir: values.baseline, ...baseline } } : {}) }, null, 2)}\n`);
} else {
  process.stdout.write(
    `classifier benchmark: ${posts.length} posts, ${seconds} CPU s per ruleset per round, median of ${rounds} rounds, node ${process.version}\n`,
  );
  summaries.forEach((s, k) => {
    const g = s.timePerPostGrowth;
    process.stdout.write(`\n${k === 0 ? 'this checkout' : `baseline ${values.baseline}`}\n`);
    process.stdout.write('rules                     phrases      compile ms   posts/s   µs/post   rules fired/post\n');
    for (const r of s.results) {
      process.stdout.write(
        `${String(r.rules).padEnd(26)}${r.matching.padEnd(11)}${String(r.compileMs).padStart(10)}${String(r.postsPerSecond).padStart(10)}${String(r.microsPerPost).padStart(10)}${String(r.rulesFiredPerPost).padStart(19)}\n`,
      );
    }
    process.stdout.write(
      `\ntime per post (half real phrases) grows ×${g['10→100']} from 10 to 100 rules, ×${g['100→1000']} from 100 to 1,000, ×${g['1000→10000']} from 1,000 to 10,000 (×${g['10→10000']} from 10 to 10,000)\n` +
        `with rules whose phrases never occur (the trie scan alone), ×${s.timePerPostGrowthWhenNoRuleMatches['10→10000']} from 10 to 10,000 rules\n` +
        `with the same 100 rules matching and the rest never, ×${s.timePerPostGrowthAtFixedMatches['1000→10000']} from 1,000 to 10,000 rules\n`,
    );
  });
}
