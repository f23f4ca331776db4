import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of src/, checked over the real import graph: a lower layer never imports a higher one.
 * connectors/, classifier/, db/, sandbox/ and util/ are below workers/; workers/ is below api/ and cli/;
 * src/service.ts (the composition root that wires the roles) is imported by the CLI alone.
 */
const SRC = join(import.meta.dirname, '../../src');

const FORBIDDEN: Record<string, string[]> = {
  connectors: ['workers', 'api', 'cli', 'service.ts', 'console'],
  classifier: ['workers', 'api', 'cli', 'service.ts', 'console', 'db', 'connectors'],
  db: ['workers', 'api', 'cli', 'service.ts', 'console'],
  sandbox: ['workers', 'api', 'cli', 'service.ts', 'console'],
  util: ['workers', 'api', 'cli', 'service.ts', 'console', 'db'],
  workers: ['api', 'cli', 'service.ts', 'console'],
  api: ['cli', 'service.ts'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The top-level part of src/ a path is in: a folder name, or a file name for files directly in src/. */
function layerOf(file: string): string {
  return relative(SRC, file).split('/')[0]!;
}

/** Every relative import (static, re-export or dynamic) of a file, resolved to a path under src/. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

function violations(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = layerOf(file);
    const banned = FORBIDDEN[from] ?? [];
    for (const target of importsOf(file)) {
      const to = layerOf(target);
      if (banned.includes(to)) found.push(`${relative(SRC, file)} imports ${relative(SRC, target)} (${from}/ may not import ${to})`);
    }
  }
  return found;
}

describe('layering of src/', () => {
  it('finds the imports it checks (static, type-only, re-exports and dynamic)', () => {
    const f = join(SRC, 'workers/x.ts');
    const text = `import { a } from '../api/server.js';\nimport type { B } from './queues.js';\nexport { c } from '../cli/main.js';\nconst m = await import('../service.js');\n`;
    expect(importsOf(f, text).map((p) => relative(SRC, p))).toEqual(['api/server.ts', 'workers/queues.ts', 'cli/main.ts', 'service.ts']);
  });

  it('has no import from a lower layer to a higher one', () => {
    expect(violations()).toEqual([]);
  });
});
