import type { Platform } from '../types.js';
import type { Sql } from './client.js';
import { parsePostKey, postKey } from './post-key.js';
import { ISO } from './read-models/common.js';

/** One publication of a ruleset (a publish or a roll back). */
export interface RulesetVersionRow {
  id: number;
  version: string;
  publishedAt: string;
  publishedBy: string;
}

/** The publications, newest first, without their YAML. */
export async function listRulesetVersions(sql: Sql, limit: number): Promise<RulesetVersionRow[]> {
  return sql<RulesetVersionRow[]>`
    select id, version, to_char(published_at at time zone 'UTC', ${ISO}) as "publishedAt", published_by as "publishedBy"
    from ruleset_versions order by id desc limit ${limit}`;
}

/** The YAML of a version (any of its publications: the version is a hash of the text), or null. */
export async function rulesetYaml(sql: Sql, version: string): Promise<string | null> {
  const [row] = await sql<{ yaml: string }[]>`select yaml from ruleset_versions where version = ${version} order by id desc limit 1`;
  return row?.yaml ?? null;
}

/** Record a publication. */
export async function recordRulesetVersion(sql: Sql, v: { version: string; yaml: string; publishedBy: string }): Promise<RulesetVersionRow> {
  const [row] = await sql<RulesetVersionRow[]>`
    insert into ruleset_versions (version, yaml, published_by) values (${v.version}, ${v.yaml}, ${v.publishedBy})
    returning id, version, to_char(published_at at time zone 'UTC', ${ISO}) as "publishedAt", published_by as "publishedBy"`;
  return row!;
}

/** The rule ids stored with each post's decision, by post key (`x-<id>`, `fb-<id>`): the "before" of a backtest. */
export async function storedRulesOf(sql: Sql, keys: readonly string[]): Promise<Map<string, string[]>> {
  const refs = keys.flatMap((k) => parsePostKey(k) ?? []);
  if (refs.length === 0) return new Map();
  const rows = await sql<{ platform: Platform; externalId: string; rules: string[] | null }[]>`
    select p.platform, p.external_id as "externalId",
           (select json_agg(r->>'id') from jsonb_array_elements(coalesce(p.decision->'rules', '[]'::jsonb)) r) as rules
    from social_posts p
    join unnest(${sql.array(refs.map((r) => r.platform))}::platform[], ${sql.array(refs.map((r) => r.externalId))}::text[]) as k(platform, external_id)
      on p.platform = k.platform and p.external_id = k.external_id`;
  return new Map(rows.map((r) => [postKey(r), r.rules ?? []]));
}
