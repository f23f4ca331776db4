import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { classify, parseRuleset, RulesetError, type Decision, type Ruleset } from '../classifier/index.js';
import type { Config } from '../config.js';
import { backtest, type BacktestReport } from '../db/backtest.repo.js';
import type { Sql } from '../db/client.js';
import { listRulesetVersions, recordRulesetVersion, rulesetYaml, storedRulesOf, type RulesetVersionRow } from '../db/ruleset-versions.repo.js';
import { NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Platform } from '../types.js';
import { apiErrorHandler } from './api-scope.js';

export interface RulesRoutesOptions {
  sql: Sql;
  config: Config;
  log: Logger;
}

/** One validation problem, placed at its rule and field where it has them. */
export interface RuleProblem {
  /** `rule "id" (#n)` or `rule #n`; null for a problem outside the rules (thresholds, YAML syntax). */
  rule: string | null;
  /** The field path, e.g. `any` or `thresholds.lead`; null when the problem is the whole document. */
  field: string | null;
  message: string;
}

const PROBLEM = /^(rule (?:"(?:[^"\\]|\\.)*" \(#\d+\)|#\d+))?(?::\s*)?(?:field "([^"]*)"((?:, item [\d.]+)?))?(?::\s*)?([\s\S]*)$/;

/** Split the classifier's "rule …: field …: message" lines into their parts, for an editor to place. */
export function ruleProblems(err: RulesetError): RuleProblem[] {
  return err.problems.map((p) => {
    const m = PROBLEM.exec(p);
    if (!m) return { rule: null, field: null, message: p };
    return { rule: m[1] ?? null, field: m[2] === undefined ? null : `${m[2]}${m[3] ?? ''}`, message: m[4] || p };
  });
}

/** A draft that does not validate: 400 with every problem at its rule and field. */
class DraftError extends Error {
  constructor(readonly problems: RuleProblem[]) {
    super(`the ruleset does not validate: ${problems.map((p) => [p.rule, p.field && `field "${p.field}"`, p.message].filter(Boolean).join(': ')).join('; ')}`);
  }
}

function parseDraft(yaml: string): Ruleset {
  try {
    return parseRuleset(yaml, 'draft');
  } catch (err) {
    if (err instanceof RulesetError) throw new DraftError(ruleProblems(err));
    throw err;
  }
}

/** The rules file in force: its text and version (the capture worker reloads it when it changes). */
export function liveRuleset(config: Config): { yaml: string; ruleset: Ruleset } {
  const yaml = readFileSync(config.rulesPath, 'utf8');
  return { yaml, ruleset: parseRuleset(yaml, config.rulesPath) };
}

/**
 * Put `yaml` in force: write it over the rules file in one rename (the ruleset watcher of every process that reads
 * the file hot-reloads it, as an edit by hand does) and record the publication. The version in force before the
 * first publication is recorded too, so that it can be rolled back to.
 */
async function putInForce(deps: RulesRoutesOptions, yaml: string, ruleset: Ruleset, by: string): Promise<RulesetVersionRow> {
  const { sql, config } = deps;
  const live = liveRuleset(config);
  if ((await rulesetYaml(sql, live.ruleset.version)) === null) {
    await recordRulesetVersion(sql, { version: live.ruleset.version, yaml: live.yaml, publishedBy: '(rules file)' });
  }
  // Same directory, then rename: the watcher never reads a half-written file.
  const tmp = join(dirname(config.rulesPath), `.${basename(config.rulesPath)}.${process.pid}.tmp`);
  writeFileSync(tmp, yaml);
  renameSync(tmp, config.rulesPath);
  const row = await recordRulesetVersion(sql, { version: ruleset.version, yaml, publishedBy: by });
  deps.log.info({ from: live.ruleset.version, to: ruleset.version, by }, 'ruleset published');
  return row;
}

/** A backtest whose changed posts also say which rules fired before, to show side by side with the rules now. */
export type RulesBacktest = Omit<BacktestReport, 'examples'> & { examples: (BacktestReport['examples'][number] & { storedRules: string[] })[] };

const YAML = { type: 'string', minLength: 1, maxLength: 1_000_000 } as const;
const BY = { type: 'string', minLength: 1, maxLength: 200 } as const;
const ERROR = { type: 'object', properties: { error: { type: 'string' }, problems: { type: 'array' } } } as const;
const ANY = { type: 'object', additionalProperties: true } as const;

/**
 * The ruleset under `/api/rules`: the live version and its history, validation with problems placed at their
 * rule and field, a decision trace for a text, a backtest of a draft on stored posts, publish and roll back.
 */
export async function rulesRoutes(app: FastifyInstance, opts: RulesRoutesOptions): Promise<void> {
  const { sql, config, log } = opts;
  // Publications one at a time: each reads the live file, then replaces it.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

  app.setErrorHandler(
    apiErrorHandler(log, (err) => (err instanceof DraftError ? { status: 400, body: { error: err.message, problems: err.problems } } : undefined)),
  );

  app.get<{ Querystring: { limit: number } }>(
    '/rules',
    {
      schema: {
        summary: 'The live ruleset (version, YAML) and its publications, newest first',
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } } },
        response: { 200: ANY, 401: ERROR },
      },
    },
    async (req) => {
      const live = liveRuleset(config);
      return {
        live: { version: live.ruleset.version, name: live.ruleset.name, rules: live.ruleset.rules.length, yaml: live.yaml },
        history: await listRulesetVersions(sql, req.query.limit),
      };
    },
  );
  app.get<{ Params: { version: string } }>(
    '/rules/versions/:version',
    {
      schema: {
        summary: 'The YAML of a published version',
        params: { type: 'object', required: ['version'], properties: { version: { type: 'string', minLength: 1, maxLength: 300 } } },
        response: { 200: ANY, 401: ERROR, 404: ERROR },
      },
    },
    async (req) => {
      const live = liveRuleset(config);
      const yaml = live.ruleset.version === req.params.version ? live.yaml : await rulesetYaml(sql, req.params.version);
      if (yaml === null) throw new NotFoundError(`no ruleset version ${req.params.version}`);
      return { version: req.params.version, live: live.ruleset.version === req.params.version, yaml };
    },
  );
  app.post<{ Body: { yaml: string } }>(
    '/rules/validate',
    {
      schema: {
        summary: 'Validate a draft ruleset: its version, or each problem at its rule and field',
        body: { type: 'object', required: ['yaml'], additionalProperties: false, properties: { yaml: YAML } },
        response: { 200: ANY, 401: ERROR },
      },
    },
    async (req) => {
      try {
        const r = parseRuleset(req.body.yaml, 'draft');
        return { valid: true, version: r.version, rules: r.rules.length, problems: [] };
      } catch (err) {
        if (err instanceof RulesetError) return { valid: false, problems: ruleProblems(err) };
        throw err;
      }
    },
  );
  app.post<{ Body: { text: string; yaml?: string; platform?: Platform; isReply?: boolean; lang?: string } }>(
    '/rules/try',
    {
      schema: {
        summary: 'Decide a text with the live ruleset (or a draft): the decision trace',
        body: {
          type: 'object',
          required: ['text'],
          additionalProperties: false,
          properties: {
            text: { type: 'string', minLength: 1, maxLength: 100_000 },
            yaml: YAML,
            platform: { type: 'string', enum: ['twitter', 'facebook'] },
            isReply: { type: 'boolean' },
            lang: { type: 'string', minLength: 2, maxLength: 20 },
          },
        },
        response: { 200: ANY, 400: ERROR, 401: ERROR },
      },
    },
    async (req): Promise<Decision> => {
      const b = req.body;
      const ruleset = b.yaml === undefined ? liveRuleset(config).ruleset : parseDraft(b.yaml);
      return classify({ text: b.text, platform: b.platform ?? 'twitter', isReply: b.isReply ?? false, ...(b.lang ? { lang: b.lang } : {}) }, ruleset);
    },
  );
  app.post<{ Body: { yaml: string; days: number } }>(
    '/rules/backtest',
    {
      schema: {
        summary: 'Re-decide the stored posts of the last N days with a draft: how many decisions change, and examples',
        body: {
          type: 'object',
          required: ['yaml', 'days'],
          additionalProperties: false,
          properties: { yaml: YAML, days: { type: 'integer', minimum: 1, maximum: 365 } },
        },
        response: { 200: ANY, 400: ERROR, 401: ERROR },
      },
    },
    async (req): Promise<RulesBacktest> => {
      const report = await backtest(sql, parseDraft(req.body.yaml), { sinceMs: req.body.days * 86_400_000, examples: 50 });
      const before = await storedRulesOf(
        sql,
        report.examples.map((e) => e.id),
      );
      return { ...report, examples: report.examples.map((e) => ({ ...e, storedRules: before.get(e.id) ?? [] })) };
    },
  );
  app.post<{ Body: { yaml: string; by?: string } }>(
    '/rules/publish',
    {
      schema: {
        summary: 'Make a draft the live ruleset (hot reload); recorded in the history',
        body: { type: 'object', required: ['yaml'], additionalProperties: false, properties: { yaml: YAML, by: BY } },
        response: { 201: ANY, 400: ERROR, 401: ERROR },
      },
    },
    async (req, reply) => {
      const ruleset = parseDraft(req.body.yaml);
      const row = await serial(() => putInForce(opts, req.body.yaml, ruleset, req.body.by ?? 'api'));
      return reply.code(201).send(row);
    },
  );
  app.post<{ Body: { version: string; by?: string } }>(
    '/rules/rollback',
    {
      schema: {
        summary: 'Make an earlier published version the live ruleset again',
        body: {
          type: 'object',
          required: ['version'],
          additionalProperties: false,
          properties: { version: { type: 'string', minLength: 1, maxLength: 300 }, by: BY },
        },
        response: { 201: ANY, 400: ERROR, 401: ERROR, 404: ERROR },
      },
    },
    async (req, reply) => {
      const row = await serial(async () => {
        const yaml = await rulesetYaml(sql, req.body.version);
        if (yaml === null) throw new NotFoundError(`no published ruleset version ${req.body.version}`);
        return putInForce(opts, yaml, parseDraft(yaml), req.body.by ?? 'api');
      });
      return reply.code(201).send(row);
    },
  );
}
