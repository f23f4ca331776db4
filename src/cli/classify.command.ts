import { parseArgs } from 'node:util';
import { classify, loadRuleset } from '../classifier/index.js';
import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { PLATFORMS, type Platform } from '../types.js';
import { printObject } from './output.js';

/** `capture classify [--rules FILE] [--platform P] [--reply] TEXT`: decide one text, with the explanation. */
export async function classifyCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      rules: { type: 'string' },
      platform: { type: 'string', default: 'twitter' },
      lang: { type: 'string' },
      reply: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) throw new UsageError('usage: capture classify [--rules FILE] [--platform twitter|facebook] [--reply] TEXT');
  if (!PLATFORMS.includes(values.platform as Platform)) throw new UsageError('--platform is twitter or facebook');
  const ruleset = loadRuleset(values.rules ?? loadConfig().rulesPath);
  const d = classify(
    { text: positionals.join(' '), platform: values.platform as Platform, isReply: values.reply, ...(values.lang ? { lang: values.lang } : {}) },
    ruleset,
  );
  if (json) printObject({ ...d }, true);
  else {
    process.stdout.write(
      `${d.label}  score ${d.score}${d.priority ? `  priority ${d.priority} (${d.priorityRule ?? 'default'})` : ''}  [lead ${d.scores.lead}, case ${d.scores.case}]  rules ${d.rulesetVersion}\n`,
    );
    for (const r of d.rules) {
      const why = [...r.terms.map((t) => JSON.stringify(t.term)), ...Object.entries(r.features ?? {}).map(([k, v]) => `${k}=${String(v)}`)];
      process.stdout.write(`  ${r.label} ${r.weight >= 0 ? '+' : ''}${r.weight}  ${r.id}: ${why.join(', ')}\n`);
    }
    if (d.lang) process.stdout.write(`  language ${d.lang.code} (${d.lang.source})\n`);
  }
  return 0;
}
