import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { PRIORITIES, type Priority } from '../types.js';
import { normalizeText } from './normalize.js';
import { PhraseTrie } from './phrase-trie.js';

/** A rules file that cannot be used. The message names the file, the rule and the field, one problem a line. */
export class RulesetError extends Error {
  override name = 'RulesetError';
  /** Each problem on its own, without the origin prefix. */
  readonly problems: readonly string[];

  constructor(origin: string, problems: readonly string[]) {
    super(problems.map((p) => `${origin}: ${p}`).join('\n'));
    this.problems = problems;
  }
}

// Ids end up in the database and in logs, so keep them to plain slugs.
const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SLUG_MESSAGE = 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-"';

const phrases = z.array(z.string().min(1));

const ruleSchema = z.strictObject({
  id: z.string().regex(SLUG, SLUG_MESSAGE),
  label: z.enum(['lead', 'case']),
  weight: z.number(),
  any: phrases.optional(),
  all: phrases.optional(),
  none: phrases.optional(),
  priority: z.enum(PRIORITIES).optional(),
  description: z.string().optional(),
});

const rulesetSchema = z.strictObject({
  name: z.string().regex(SLUG, SLUG_MESSAGE),
  description: z.string().optional(),
  thresholds: z.strictObject({ lead: z.number().positive(), case: z.number().positive() }),
  rules: z.array(ruleSchema),
});

/** A rule as written in the YAML file (after validation). */
export type RuleDefinition = z.infer<typeof ruleSchema>;

/** A validated, compiled ruleset. Build one with {@link parseRuleset} or {@link loadRuleset}. */
export interface Ruleset {
  readonly name: string;
  /** `name@` + the first 12 hex digits of the file's SHA-256: changes whenever the content does. */
  readonly version: string;
  readonly thresholds: Readonly<{ lead: number; case: number }>;
  /** The rules as written, in file order. */
  readonly rules: readonly Readonly<RuleDefinition>[];
}

/** A phrase of a rule: as written, and its id in the trie. */
export interface CompiledPhrase {
  term: string;
  id: number;
}

export interface CompiledRule {
  id: string;
  label: 'lead' | 'case';
  weight: number;
  priority: Priority | undefined;
  any: CompiledPhrase[];
  all: CompiledPhrase[];
  none: CompiledPhrase[];
}

export interface CompiledRuleset {
  trie: PhraseTrie;
  rules: CompiledRule[];
  /** By phrase id: the indexes of the rules that phrase can make fire (it is in their any or all), ascending. */
  rulesByPhrase: number[][];
  thresholds: { lead: number; case: number };
}

// The compiled form stays out of the public object so the Ruleset interface is only what callers may read.
const compiledRulesets = new WeakMap<Ruleset, CompiledRuleset>();

/** The compiled internals of a ruleset made by parseRuleset. */
export function compiledOf(ruleset: Ruleset): CompiledRuleset {
  const compiled = compiledRulesets.get(ruleset);
  if (compiled === undefined) throw new TypeError('not a compiled ruleset: build it with parseRuleset or loadRuleset');
  return compiled;
}

const ARTICLE: Record<string, string> = {
  number: 'a number',
  string: 'a string',
  array: 'a list',
  object: 'a mapping',
};

/** Zod's defaults speak to programmers; these speak to whoever edits the YAML. */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `must be ${ARTICLE[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return issue.origin === 'number' ? 'must be greater than 0' : 'must not be empty';
    default:
      return undefined;
  }
};

function describeRule(raw: unknown, index: number): string {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id !== '' ? `rule "${id}" (#${index + 1})` : `rule #${index + 1}`;
}

/** "rule "x" (#2): field "any", item 3" for a path inside a rule, "field "thresholds.lead"" outside. */
function describePath(path: readonly PropertyKey[], rawRules: unknown): string {
  const parts: string[] = [];
  let rest = path;
  if (path[0] === 'rules' && typeof path[1] === 'number') {
    const index = path[1];
    parts.push(describeRule(Array.isArray(rawRules) ? rawRules[index] : undefined, index));
    rest = path.slice(2);
  }
  const names = rest.filter((p) => typeof p !== 'number').map(String);
  const item = rest.find((p) => typeof p === 'number');
  if (names.length > 0) parts.push(`field "${names.join('.')}"${item === undefined ? '' : `, item ${item + 1}`}`);
  return parts.join(': ');
}

function formatIssues(issues: readonly z.core.$ZodIssue[], rawRules: unknown): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push(`${describePath([...issue.path, key], rawRules)}: unknown field`);
      }
      continue;
    }
    const where = describePath(issue.path, rawRules);
    problems.push(where === '' ? issue.message : `${where}: ${issue.message}`);
  }
  return problems;
}

function readYaml(yamlText: string, origin: string): unknown {
  const doc = parseDocument(yamlText);
  const error = doc.errors[0];
  if (error !== undefined) {
    const at = error.linePos?.[0];
    const where = at === undefined ? '' : ` at line ${at.line}, column ${at.col}`;
    // The yaml package appends the position and a code excerpt to the message; keep only the reason.
    const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new RulesetError(origin, [`not valid YAML${where}: ${reason}`]);
  }
  const value: unknown = doc.toJS();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RulesetError(origin, ['must be a YAML mapping with name, thresholds and rules']);
  }
  return value;
}

/**
 * Validate a rules file and compile it once: every phrase is normalized like a post and added to one
 * token trie. Throws {@link RulesetError} listing every problem found.
 *
 * @param origin - where the text came from, used in error messages. @defaultValue `"ruleset"`
 */
export function parseRuleset(yamlText: string, origin = 'ruleset'): Ruleset {
  const raw = readYaml(yamlText, origin);
  const parsed = rulesetSchema.safeParse(raw, { error: errorMap });
  const rawRules = (raw as { rules?: unknown }).rules;
  if (!parsed.success) throw new RulesetError(origin, formatIssues(parsed.error.issues, rawRules));
  const def = parsed.data;

  const problems: string[] = [];
  const trie = new PhraseTrie();
  const seen = new Map<string, number>();
  const rules: CompiledRule[] = [];

  def.rules.forEach((rule, index) => {
    const where = describeRule(rule, index);
    const first = seen.get(rule.id);
    if (first !== undefined) problems.push(`${where}: field "id": duplicate of rule #${first + 1}`);
    else seen.set(rule.id, index);

    if ((rule.any?.length ?? 0) + (rule.all?.length ?? 0) === 0) {
      problems.push(`${where}: field "any": a rule needs at least one phrase in "any" or "all"`);
    }
    if (rule.priority !== undefined && rule.label !== 'case') {
      problems.push(`${where}: field "priority": only case rules set a priority`);
    }
    if (rule.priority !== undefined && rule.weight <= 0) {
      problems.push(`${where}: field "priority": only a rule with a positive weight sets a priority`);
    }

    const compile = (field: 'any' | 'all' | 'none'): CompiledPhrase[] =>
      (rule[field] ?? []).flatMap((term, i) => {
        const values = normalizeText(term).tokens.map((t) => t.value);
        if (values.length === 0) {
          problems.push(`${where}: field "${field}", item ${i + 1}: "${term}" has no words or emoji to match`);
          return [];
        }
        return [{ term, id: trie.add(values) }];
      });

    rules.push({
      id: rule.id,
      label: rule.label,
      weight: rule.weight,
      priority: rule.priority,
      any: compile('any'),
      all: compile('all'),
      none: compile('none'),
    });
  });
  if (problems.length > 0) throw new RulesetError(origin, problems);

  // Only rules with a phrase in the post can fire, so classify() looks at those and not at every rule.
  const rulesByPhrase: number[][] = [];
  rules.forEach((rule, index) => {
    for (const { id } of [...rule.any, ...rule.all]) {
      const list = (rulesByPhrase[id] ??= []);
      if (list[list.length - 1] !== index) list.push(index);
    }
  });

  const hash = createHash('sha256').update(yamlText).digest('hex').slice(0, 12);
  const ruleset: Ruleset = Object.freeze({
    name: def.name,
    version: `${def.name}@${hash}`,
    thresholds: Object.freeze({ ...def.thresholds }),
    rules: Object.freeze(def.rules.map(freezeRule)),
  });
  compiledRulesets.set(ruleset, { trie, rules, rulesByPhrase, thresholds: { ...def.thresholds } });
  return ruleset;
}

function freezeRule(rule: RuleDefinition): Readonly<RuleDefinition> {
  for (const list of [rule.any, rule.all, rule.none]) if (list !== undefined) Object.freeze(list);
  return Object.freeze(rule);
}

/** Read a rules file and {@link parseRuleset} it, naming the path in any error. */
export function loadRuleset(path: string): Ruleset {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RulesetError(path, [`cannot read: ${(err as Error).message}`]);
  }
  return parseRuleset(text, path);
}
