import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

/** Run `capture …` in this process; stdout and stderr are captured, not printed. */
async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('capture eval and diff', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capture-eval-'));
  const path = (name: string) => join(dir, name);

  beforeAll(() => {
    writeFileSync(
      path('old.yaml'),
      `name: old
thresholds: { lead: 1, case: 1 }
rules:
  - { id: buy, label: lead, weight: 1, any: [price] }
  - { id: broken, label: case, weight: 1, any: [broken] }
`,
    );
    writeFileSync(
      path('new.yaml'),
      `name: new
thresholds: { lead: 1, case: 1 }
negation: { default: cancel }
rules:
  - { id: buy, label: lead, weight: 1, any: [price] }
  - { id: broken, label: case, weight: 1, any: [broken] }
  - { id: late, label: case, weight: 1, any: [late] }
`,
    );
    writeFileSync(path('bad.yaml'), 'name: bad\nthresholds: { lead: 1, case: 1 }\nrules:\n  - { id: r, label: case, weight: 1, regex: ["(a+)+"] }\n');
    const rows = [
      { id: '1', text: 'what is the price', label: 'lead' },
      { id: '2', text: 'screen broken', label: 'case' },
      { id: '3', text: 'parcel is late', label: 'case' },
      { id: '4', text: 'not broken at all, love it', label: 'none' },
      { id: '5', text: 'hello', label: 'none' },
    ];
    writeFileSync(path('data.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
    writeFileSync(
      path('foreign.jsonl'),
      [
        { id: 'a', text: 'price please', label: 'BUY' },
        { id: 'b', text: 'broken', label: 'COMPLAINT' },
        { id: 'c', text: 'meh', label: 'UNCLEAR' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    writeFileSync(path('map.json'), JSON.stringify({ labels: { BUY: 'lead', COMPLAINT: 'case', UNCLEAR: null } }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('eval --json prints one object with the agreed keys', async () => {
    const r = await run('eval', '--rules', path('old.yaml'), path('data.jsonl'), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    for (const l of ['lead', 'case', 'none']) expect(Object.keys(report.labels[l])).toEqual(expect.arrayContaining(['precision', 'recall', 'f1']));
    expect(report).toMatchObject({ posts: 5, accuracy: 0.6, macro_f1: 0.75 });
    // "late" is missed; "not broken" is called a case
    expect(report.confusion).toEqual({ lead: { lead: 1, case: 0, none: 0 }, case: { lead: 0, case: 1, none: 1 }, none: { lead: 0, case: 1, none: 1 } });
    expect(report.rules).toEqual([
      { id: 'buy', label: 'lead', hits: 1, right: 1, precision: 1 },
      { id: 'broken', label: 'case', hits: 2, right: 1, precision: 0.5 },
    ]);
  });

  it('eval prints a table and writes predictions, one line per post', async () => {
    const out = path('pred.jsonl');
    const r = await run('eval', '--rules', path('new.yaml'), '--predictions', out, path('data.jsonl'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('macro-F1 (lead, case): 1.000');
    expect(r.stderr).toBe(''); // no progress line when stderr is not a TTY
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines[2]).toEqual({ id: '3', label: 'case', predicted: 'case', score: 1, rules: ['late'] });
  });

  it('eval refuses labels outside lead/case/none with their line numbers, and --map maps them', async () => {
    const refused = await run('eval', '--rules', path('old.yaml'), path('foreign.jsonl'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${path('foreign.jsonl')}:1: row "a": label "BUY" is not lead, case or none`);
    expect(refused.stderr).toContain(`${path('foreign.jsonl')}:3: row "c": label "UNCLEAR"`);
    expect(refused.stderr).toContain('capture: ');
    const mapped = await run('eval', '--rules', path('old.yaml'), '--map', path('map.json'), path('foreign.jsonl'), '--json');
    expect(mapped.code).toBe(0);
    expect(JSON.parse(mapped.stdout)).toMatchObject({ posts: 2, skipped: 1, accuracy: 1 });
  });

  it('eval exits 1 on a ruleset that does not validate, naming the rule and field', async () => {
    const r = await run('eval', '--rules', path('bad.yaml'), path('data.jsonl'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rule "r" (#1): field "regex", item 1');
  });

  it.each([
    [['eval', path('data.jsonl')]],
    [['eval', '--rules', 'x.yaml']],
    [['diff', '--rules', 'x.yaml', path('data.jsonl')]],
    [['backtest']],
    [['backtest', '--rules', 'x.yaml', '--since', 'yesterday']],
  ])('bad usage exits 2: %j', async (argv) => {
    expect((await run(...argv)).code).toBe(2);
  });

  it('diff lists the posts that change label and why', async () => {
    const r = await run('diff', '--rules', path('old.yaml'), '--against', path('new.yaml'), path('data.jsonl'), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ posts: 5, changed: 2, fixed: 2, broken: 0, transitions: { 'none→case': 1, 'case→none': 1 } });
    expect(report.changes.map((c: { id: string; why: unknown }) => [c.id, c.why])).toEqual([
      ['3', { added: [{ id: 'late', weight: 1 }], removed: [], reweighted: [] }],
      ['4', { added: [], removed: [{ id: 'broken', weight: 1 }], reweighted: [] }],
    ]);
    const text = await run('diff', '--rules', path('old.yaml'), '--against', path('new.yaml'), path('data.jsonl'));
    expect(text.stdout).toContain('3: none → case (labeled case)  fixed');
    expect(text.stdout).toContain('why: +late (1)');
  });
});
