import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseRuleset } from '../../src/classifier/index.js';

/** Run `capture …` in this process; stdout and stderr are captured, not printed. */
async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const RULES = `name: cli-tune
thresholds: { lead: 1, case: 1 }
rules:
  - id: price
    label: lead
    weight: 1
    any: [price]
  # too weak as written: "broken" alone never makes a case
  - id: broken
    label: case
    weight: 0.4
    any: [broken]
`;

const rows = (domain: string, n: number, text: string, label: string) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${domain}-${text}-${i}`, domain, text: `${text} ${i}`, label }));

describe('capture tune', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capture-tune-'));
  const path = (name: string) => join(dir, name);
  writeFileSync(path('rules.yaml'), RULES);
  // Two domains that agree: "broken" is a case in both, so fitting lifts its weight and every fold gains.
  writeFileSync(
    path('agree-a.jsonl'),
    [...rows('a', 4, 'what price', 'lead'), ...rows('a', 4, 'it is broken', 'case'), ...rows('a', 4, 'hello', 'none')].join('\n'),
  );
  writeFileSync(
    path('agree-b.jsonl'),
    [...rows('b', 4, 'price list please', 'lead'), ...rows('b', 4, 'broken again', 'case'), ...rows('b', 4, 'nice day', 'none')].join('\n'),
  );
  // Two domains that disagree about "price": whatever one fold teaches, the other contradicts.
  writeFileSync(
    path('disagree.jsonl'),
    [
      ...rows('a', 5, 'price please', 'lead'),
      ...rows('a', 5, 'broken again', 'none'),
      ...rows('b', 5, 'price went up lol', 'none'),
      ...rows('b', 5, 'broken now', 'case'),
    ].join('\n'),
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fits on several files, validates each fold held out, and writes the same YAML with new numbers', async () => {
    const res = await run(
      'tune',
      '--data',
      path('agree-a.jsonl'),
      '--data',
      path('agree-b.jsonl'),
      '--rules',
      path('rules.yaml'),
      '--out',
      path('out.yaml'),
      '--json',
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report.before.folds.map((f: { fold: string }) => f.fold)).toEqual(['a', 'b']);
    expect(report.after.mean.case.recall).toBe(1);
    expect(report.after.mean.macro_f1).toBeGreaterThan(report.before.mean.macro_f1);
    const written = readFileSync(path('out.yaml'), 'utf8');
    expect(written).toContain('# too weak as written');
    const tuned = parseRuleset(written);
    expect(tuned.rules.map((r) => r.id)).toEqual(['price', 'broken']);
    expect(tuned.rules[1]!.weight).toBeGreaterThanOrEqual(tuned.thresholds.case);
    expect(report.fit.weights).toEqual({ price: tuned.rules[0]!.weight, broken: tuned.rules[1]!.weight });
  });

  it('refuses to write rules that score worse held out, exit 1', async () => {
    const res = await run('tune', '--data', path('disagree.jsonl'), '--rules', path('rules.yaml'), '--out', path('worse.yaml'));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/refused to write .*worse\.yaml: held-out macro-F1 ([\d.]+) < ([\d.]+)/);
    expect(existsSync(path('worse.yaml'))).toBe(false);
  });

  it('suggests terms seen in two folds, and says what bad usage is', async () => {
    const res = await run(
      'tune',
      '--data',
      path('agree-a.jsonl'),
      '--data',
      path('agree-b.jsonl'),
      '--rules',
      path('rules.yaml'),
      '--out',
      path('s.yaml'),
      '--suggest',
      '--json',
    );
    const terms = JSON.parse(res.stdout).suggestions.map((s: { term: string; label: string }) => `${s.label}:${s.term}`);
    // "it is broken" (a) and "broken again" (b) share only "broken", already a rule: nothing for case.
    expect(terms.filter((t: string) => t.startsWith('case:'))).toEqual([]);
    expect((await run('tune', '--rules', path('rules.yaml'))).code).toBe(2);
    expect((await run('tune', '--help')).code).toBe(0);
  });

  it('capture eval --folds domain reports each held-out fold, and --fit fits on the others', async () => {
    const asWritten = await run('eval', '--rules', path('rules.yaml'), '--folds', 'domain', '--json', path('disagree.jsonl'));
    expect(asWritten.code).toBe(0);
    const a = JSON.parse(asWritten.stdout);
    expect(a.folds.map((f: { fold: string; posts: number }) => [f.fold, f.posts])).toEqual([
      ['a', 10],
      ['b', 10],
    ]);
    expect(a.folds[0].lead).toEqual({ precision: 1, recall: 1, f1: 1 });
    const fitted = JSON.parse((await run('eval', '--rules', path('rules.yaml'), '--folds', 'domain', '--fit', '--json', path('disagree.jsonl'))).stdout);
    // Fitted on b alone, where "price" never made a lead, fold a's leads are missed.
    expect(fitted.folds[0].lead.recall).toBe(0);
    expect((await run('eval', '--rules', path('rules.yaml'), '--fit', path('disagree.jsonl'))).code).toBe(2);
    const table = await run('eval', '--rules', path('rules.yaml'), '--folds', 'domain', path('disagree.jsonl'));
    expect(table.stdout).toMatch(/^a\s+10\s/m);
    expect(table.stdout).toMatch(/^mean\s/m);
  });
});
