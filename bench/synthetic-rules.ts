/**
 * Synthetic rulesets of any size, shaped like real ones, for the classifier benchmark and the differential test.
 */
import { normalizeText, type ClassifierInput } from '../src/classifier/index.js';

/** A small deterministic PRNG, so every run benchmarks the same rules. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * N rules shaped like real ones: 3–8 `any` phrases of 1–2 words, some `all`, `none` and `near`. With
 * `realShare` > 0, that share of the phrases are word sequences taken from the posts (so rules do fire, as in
 * production; the 150 commonest words are left out, as nobody writes a rule on "the" or "you"), the rest are
 * made-up words (brand and product names a post rarely holds).
 */
export function syntheticRules(n: number, posts: readonly ClassifierInput[], realShare: number): string {
  const rand = prng(n);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const counts = new Map<string, number>();
  const all = posts.map((p) =>
    normalizeText(p.text)
      .tokens.map((t) => t.value)
      .filter((v) => /^\p{L}{3,}$/u.test(v)),
  );
  for (const words of all) for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  const common = new Set(
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 150)
      .map(([w]) => w),
  );
  const sequences = all.map((words) => words.filter((w) => !common.has(w))).filter((s) => s.length >= 3);
  // A few short posts (the generated ones, without the eval set) may hold no word outside the commonest.
  const source = sequences.length > 0 ? sequences : all.filter((s) => s.length >= 3);
  const realPhrase = () => {
    const words = pick(source);
    const len = 1 + Math.floor(rand() * 2);
    const start = Math.floor(rand() * (words.length - len));
    return words.slice(start, start + len).join(' ');
  };
  const fakePhrase = () => Array.from({ length: 1 + Math.floor(rand() * 2) }, () => `zq${Math.floor(rand() * 1e6).toString(36)}`).join(' ');
  const phrase = () => (rand() < realShare ? realPhrase() : fakePhrase());
  const list = (k: number) => JSON.stringify(Array.from({ length: k }, phrase));
  const lines = ['name: synthetic', 'thresholds: { lead: 1, case: 1 }', 'negation: { default: cancel }', 'rules:'];
  for (let i = 0; i < n; i++) {
    const label = rand() < 0.5 ? 'lead' : 'case';
    const parts = [`id: r${i}`, `label: ${label}`, `weight: ${(0.3 + rand()).toFixed(2)}`, `any: ${list(3 + Math.floor(rand() * 6))}`];
    if (rand() < 0.2) parts.push(`all: ${list(1)}`);
    if (rand() < 0.3) parts.push(`none: ${list(2)}`);
    if (rand() < 0.1) parts.push(`near: { terms: [${JSON.stringify(phrase())}, ${JSON.stringify(phrase())}], within: 3 }`);
    lines.push(`  - { ${parts.join(', ')} }`);
  }
  return `${lines.join('\n')}\n`;
}
