import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { PLATFORMS, PRIORITIES, type Platform, type Priority } from '../types.js';
import { FEATURE_NAMES, type FeatureName } from './features.js';
import { normalizeText } from './normalize.js';
import { PhraseTrie } from './phrase-trie.js';
import { indexPhrases, packRules, type PhraseIndex, type RuleRecords } from './rule-records.js';
import { compileSafeRegex } from './safe-regex.js';

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

const phraseList = z.array(z.string().min(1));
// A language tag as posts carry it ("en", "pt-BR"), or "*" for phrases that match whatever the language.
const LANG = /^(?:\*|[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)$/;
const LANG_MESSAGE = 'must be a language code such as en, es, pt-BR, or *';
/** A list of phrases, or phrases by language: `{ en: [...], es: [...] }`. */
const phrases = z.union([phraseList, z.record(z.string().regex(LANG, LANG_MESSAGE), phraseList)]);

const NEGATION_MODES = ['keep', 'cancel', 'flip'] as const;
/** What a negated phrase ("not interested", "no problems") does to a rule. */
export type NegationMode = (typeof NEGATION_MODES)[number];

const nearSchema = z.strictObject({
  /** Two terms; each a phrase or a list of alternative phrases. */
  terms: z.tuple([z.union([z.string().min(1), phraseList]), z.union([z.string().min(1), phraseList])]),
  /** Most words allowed between the two. */
  within: z.number().int().min(0).max(50),
});

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

const whenSchema = z.strictObject({
  platform: oneOrMany(z.enum(PLATFORMS)).optional(),
  lang: oneOrMany(z.string().regex(LANG, LANG_MESSAGE)).optional(),
  is_reply: z.boolean().optional(),
  followers: z.strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }).optional(),
  /** Named features that must all hold (src/classifier/features.ts). */
  features: oneOrMany(z.enum(FEATURE_NAMES)).optional(),
  /** Named features none of which may hold. */
  not_features: oneOrMany(z.enum(FEATURE_NAMES)).optional(),
  /** The post's sentiment (VADER compound, -1 to 1) must lie within these bounds. */
  sentiment: z.strictObject({ min: z.number().min(-1).max(1).optional(), max: z.number().min(-1).max(1).optional() }).optional(),
});

const ruleSchema = z.strictObject({
  id: z.string().regex(SLUG, SLUG_MESSAGE),
  label: z.enum(['lead', 'case']),
  weight: z.number(),
  any: phrases.optional(),
  all: phrases.optional(),
  none: phrases.optional(),
  near: oneOrMany(nearSchema).optional(),
  regex: z.array(z.string().min(1)).optional(),
  when: whenSchema.optional(),
  negation: z.enum(NEGATION_MODES).optional(),
  priority: z.enum(PRIORITIES).optional(),
  description: z.string().optional(),
});

/** Words that negate what follows them, used when a ruleset has no `negation.cues` of its own. */
export const DEFAULT_NEGATION_CUES: readonly string[] = [
  'not',
  'no',
  'never',
  'without',
  'nothing',
  'none',
  'neither',
  'nor',
  'hardly',
  'zero',
  "don't",
  "doesn't",
  "didn't",
  "isn't",
  "aren't",
  "wasn't",
  "weren't",
  "won't",
  "wouldn't",
  "can't",
  'cannot',
  "couldn't",
  "haven't",
  "hasn't",
  "hadn't",
  "shouldn't",
  'nobody',
  'nowhere',
  'nunca',
  'sin',
  'nada',
  'kein',
  'keine',
  'keinen',
  'nicht',
  'nie',
  'ohne',
  'pas',
  'jamais',
  'sans',
  'aucun',
  'aucune',
  'não',
  'nem',
  'sem',
  'nessun',
  'nessuna',
  'senza',
  'mai',
];

const negationSchema = z.strictObject({
  /** Words that negate the phrase after them. */
  cues: phraseList.optional(),
  /** How many words before a phrase a cue may stand. */
  window: z.number().int().min(1).max(10).optional(),
  /** The mode of rules that set none. */
  default: z.enum(NEGATION_MODES).optional(),
});

const rulesetSchema = z.strictObject({
  name: z.string().regex(SLUG, SLUG_MESSAGE),
  description: z.string().optional(),
  thresholds: z.strictObject({ lead: z.number().positive(), case: z.number().positive() }),
  negation: negationSchema.optional(),
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

/** A phrase of a rule: as written, its id in the trie, and the languages it is for (null: any). */
export interface CompiledPhrase {
  term: string;
  id: number;
  langs: ReadonlySet<string> | null;
}

/** A `near` condition: an occurrence of one of `a` at most `within` words from one of `b`. */
export interface CompiledNear {
  a: CompiledPhrase[];
  b: CompiledPhrase[];
  within: number;
}

export interface CompiledRegex {
  /** The pattern as written, shown as the matched term. */
  term: string;
  regex: RegExp;
}

export interface CompiledConditions {
  platforms: ReadonlySet<Platform> | null;
  langs: ReadonlySet<string> | null;
  isReply: boolean | null;
  followersMin: number | null;
  followersMax: number | null;
  features: FeatureName[];
  notFeatures: FeatureName[];
  sentimentMin: number | null;
  sentimentMax: number | null;
  /** Whether the post's features must be computed to check these conditions. */
  needsFeatures: boolean;
}

export interface CompiledRule {
  id: string;
  label: 'lead' | 'case';
  weight: number;
  priority: Priority | undefined;
  any: CompiledPhrase[];
  all: CompiledPhrase[];
  none: CompiledPhrase[];
  near: CompiledNear[];
  regex: CompiledRegex[];
  when: CompiledConditions | null;
  negation: NegationMode;
}

export interface CompiledRuleset {
  trie: PhraseTrie;
  rules: CompiledRule[];
  /** How many phrase ids the trie gave out (rule phrases and negation cues): ids are 0 to phraseCount - 1. */
  phraseCount: number;
  /** Which rules each phrase concerns, and how. */
  phrases: PhraseIndex;
  /** The rules packed for classify()'s inner loop. */
  records: RuleRecords;
  thresholds: { lead: number; case: number };
  /** Trie ids of the negation cues. */
  negationCues: ReadonlySet<number>;
  negationWindow: number;
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
  record: 'a mapping',
  tuple: 'a list',
  boolean: 'true or false',
};

/** Zod's defaults speak to programmers; these speak to whoever edits the YAML. */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `must be ${ARTICLE[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'number') return issue.minimum === 0 && issue.inclusive ? 'must not be negative' : 'must be greater than 0';
      return 'must not be empty';
    case 'invalid_key':
      return LANG_MESSAGE;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
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

/**
 * A union (a phrase list or phrases by language; one item or a list) fails in every branch. Report the
 * branch that got the right kind of value, else one line saying what kinds are accepted.
 */
function unionIssues(issue: z.core.$ZodIssueInvalidUnion): z.core.$ZodIssue[] {
  const wrongKind = (errs: readonly z.core.$ZodIssue[]) => errs.length === 1 && errs[0]?.code === 'invalid_type' && errs[0].path.length === 0;
  const branch = issue.errors.find((errs) => !wrongKind(errs));
  if (branch === undefined) {
    const kinds = issue.errors.map((errs) => ARTICLE[(errs[0] as z.core.$ZodIssueInvalidType).expected] ?? 'a mapping');
    return [{ ...issue, code: 'custom', message: `must be ${[...new Set(kinds)].join(' or ')}` } as z.core.$ZodIssue];
  }
  return branch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
}

function formatIssues(issues: readonly z.core.$ZodIssue[], rawRules: unknown): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      problems.push(...formatIssues(unionIssues(issue), rawRules));
      continue;
    }
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
 * Validate a rules file and compile it once: every phrase (and negation cue) is normalized like a post and
 * added to one token trie; every regex is checked for safety and compiled. Throws {@link RulesetError}
 * listing every problem found.
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
  const negationDefault: NegationMode = def.negation?.default ?? 'keep';

  const toValues = (term: string) => normalizeText(term).tokens.map((t) => t.value);

  def.rules.forEach((rule, index) => {
    const where = describeRule(rule, index);
    const first = seen.get(rule.id);
    if (first !== undefined) problems.push(`${where}: field "id": duplicate of rule #${first + 1}`);
    else seen.set(rule.id, index);

    const count = (list: RuleDefinition['any']) =>
      list === undefined ? 0 : Array.isArray(list) ? list.length : Object.values(list).reduce((n, l) => n + l.length, 0);
    const byFeatures = rule.when?.features !== undefined || rule.when?.sentiment !== undefined;
    if (count(rule.any) + count(rule.all) + (rule.near === undefined ? 0 : 1) + (rule.regex?.length ?? 0) === 0 && !byFeatures) {
      problems.push(`${where}: field "any": a rule needs at least one phrase in "any" or "all", a "near", a "regex", or "when.features" or "when.sentiment"`);
    }
    if (rule.priority !== undefined && rule.label !== 'case') {
      problems.push(`${where}: field "priority": only case rules set a priority`);
    }
    if (rule.priority !== undefined && rule.weight <= 0) {
      problems.push(`${where}: field "priority": only a rule with a positive weight sets a priority`);
    }

    const phrase = (field: string, term: string, langs: ReadonlySet<string> | null): CompiledPhrase[] => {
      const values = toValues(term);
      if (values.length === 0) {
        problems.push(`${field}: "${term}" has no words or emoji to match`);
        return [];
      }
      return [{ term, id: trie.add(values), langs }];
    };
    const compile = (field: 'any' | 'all' | 'none'): CompiledPhrase[] => {
      const list = rule[field];
      if (list === undefined) return [];
      if (Array.isArray(list)) return list.flatMap((term, i) => phrase(`${where}: field "${field}", item ${i + 1}`, term, null));
      return Object.entries(list).flatMap(([lang, terms]) => {
        const langs = lang === '*' ? null : new Set([primaryLang(lang)]);
        return terms.flatMap((term, i) => phrase(`${where}: field "${field}.${lang}", item ${i + 1}`, term, langs));
      });
    };
    const nears = rule.near === undefined ? [] : Array.isArray(rule.near) ? rule.near : [rule.near];
    const near = nears.map((n, k): CompiledNear => {
      const side = (t: string | string[], s: number) =>
        (typeof t === 'string' ? [t] : t).flatMap((term, i) =>
          phrase(`${where}: field "near${nears.length > 1 ? `[${k + 1}]` : ''}.terms", item ${s + 1}${typeof t === 'string' ? '' : `.${i + 1}`}`, term, null),
        );
      return { a: side(n.terms[0], 0), b: side(n.terms[1], 1), within: n.within };
    });
    const regex = (rule.regex ?? []).flatMap((pattern, i): CompiledRegex[] => {
      const safe = compileSafeRegex(pattern);
      if ('error' in safe) {
        problems.push(`${where}: field "regex", item ${i + 1}: ${safe.error}`);
        return [];
      }
      return [{ term: `/${pattern}/`, regex: safe.regex }];
    });
    const w = rule.when;
    const list = <T>(x: T | T[] | undefined): T[] | null => (x === undefined ? null : Array.isArray(x) ? x : [x]);
    const when: CompiledConditions | null =
      w === undefined
        ? null
        : {
            platforms: w.platform === undefined ? null : new Set(list(w.platform)),
            langs: w.lang === undefined ? null : new Set((list(w.lang) ?? []).map(primaryLang)),
            isReply: w.is_reply ?? null,
            followersMin: w.followers?.min ?? null,
            followersMax: w.followers?.max ?? null,
            features: list(w.features) ?? [],
            notFeatures: list(w.not_features) ?? [],
            sentimentMin: w.sentiment?.min ?? null,
            sentimentMax: w.sentiment?.max ?? null,
            needsFeatures: w.features !== undefined || w.not_features !== undefined || w.sentiment !== undefined,
          };
    if (w?.followers?.min !== undefined && w.followers.max !== undefined && w.followers.min > w.followers.max) {
      problems.push(`${where}: field "when.followers": min is greater than max`);
    }

    rules.push({
      id: rule.id,
      label: rule.label,
      weight: rule.weight,
      priority: rule.priority,
      any: compile('any'),
      all: compile('all'),
      none: compile('none'),
      near,
      regex,
      when,
      negation: rule.negation ?? negationDefault,
    });
  });

  const negationCues = new Set<number>();
  (def.negation?.cues ?? DEFAULT_NEGATION_CUES).forEach((cue, i) => {
    const values = toValues(cue);
    if (values.length === 0) problems.push(`field "negation.cues", item ${i + 1}: "${cue}" has no words to match`);
    else negationCues.add(trie.add(values));
  });
  if (problems.length > 0) throw new RulesetError(origin, problems);

  // Only rules with a phrase in the post can fire, so classify() looks at those and not at every rule.
  const records = packRules(rules);
  const phraseCount = trie.size;
  trie.pack();

  const hash = createHash('sha256').update(yamlText).digest('hex').slice(0, 12);
  const ruleset: Ruleset = Object.freeze({
    name: def.name,
    version: `${def.name}@${hash}`,
    thresholds: Object.freeze({ ...def.thresholds }),
    rules: Object.freeze(def.rules.map(freezeRule)),
  });
  compiledRulesets.set(ruleset, {
    trie,
    rules,
    phraseCount,
    phrases: indexPhrases(rules, phraseCount, records),
    records,
    thresholds: { ...def.thresholds },
    negationCues,
    negationWindow: def.negation?.window ?? 3,
  });
  return ruleset;
}

/** "pt-BR" → "pt": rules and posts compare languages by their primary subtag. */
export function primaryLang(tag: string): string {
  return (tag.split('-')[0] ?? tag).toLowerCase();
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
