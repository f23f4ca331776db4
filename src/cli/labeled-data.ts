import { readFileSync } from 'node:fs';
import { parseLabelMap, readLabeledJsonl, type Dataset, type LabelMap } from '../classifier/index.js';

// Bad rows listed on stderr before the rest are summed up: a wrong file would otherwise flood the terminal.
const SHOWN = 10;

/** A data file or map that cannot be used: one line, exit 1. */
export class DataError extends Error {
  override readonly name = 'DataError';
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new DataError(`${path}: cannot read: ${(err as Error).message}`);
  }
}

/** Read a `--map FILE.json` (dataset label → lead, case, none or null). */
export function loadLabelMap(path: string): LabelMap {
  let value: unknown;
  try {
    value = JSON.parse(readText(path));
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  const map = parseLabelMap(value);
  if ('error' in map && typeof map.error === 'string') throw new DataError(`${path}: ${map.error}`);
  return map as LabelMap;
}

/**
 * Read a labeled JSON Lines file. Rows that cannot be used are written to stderr as `FILE:LINE: reason`
 * (unless `quiet`), and the run is refused: scores on a silently shrunk set would mislead.
 */
export function loadDataset(path: string, opts: { map?: LabelMap; requireLabels?: boolean; quiet?: boolean }): Dataset {
  const ds = readLabeledJsonl(readText(path), opts);
  if (ds.problems.length > 0) {
    if (!opts.quiet) {
      for (const p of ds.problems.slice(0, SHOWN)) process.stderr.write(`${path}:${p.line}: ${p.reason}\n`);
      if (ds.problems.length > SHOWN) process.stderr.write(`${path}: … ${ds.problems.length - SHOWN} more\n`);
    }
    const first = ds.problems[0]!;
    throw new DataError(
      `${path}: ${ds.problems.length} row${ds.problems.length === 1 ? '' : 's'} refused (first: line ${first.line}: ${first.reason})`,
    );
  }
  return ds;
}
