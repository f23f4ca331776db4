import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { SocialPost } from '../types.js';
import { parseSocialPost } from './post-schema.js';

/**
 * Reading the JSON Lines import format (DESIGN.md, "Import format"): one post a line. A line that
 * does not conform is reported with its line number and reason and the others are kept.
 * Duplicated ids are not an error here: the inbox dedups on the post key.
 */

/** A post read from an import, with its 1-based line number. */
export interface ImportedPost {
  line: number;
  post: SocialPost;
}

/** A line that was refused, with its 1-based line number and why. */
export interface ImportError {
  line: number;
  reason: string;
}

/** What a whole content, or one batch of a file, yielded. Blank lines appear in neither list. */
export interface ImportBatch {
  posts: ImportedPost[];
  errors: ImportError[];
}

/** Progress after each batch of {@link readImportFile}, cumulative. */
export interface ImportProgress {
  /** Lines read so far, blank ones included. */
  lines: number;
  posts: number;
  errors: number;
  /** Bytes read from the file so far (read-ahead included), for a percentage against `totalBytes`. */
  bytesRead: number;
  totalBytes: number;
}

/** Lines per batch of {@link readImportFile}: bounds memory whatever the file size. */
export const IMPORT_BATCH_LINES = 1000;

/**
 * Parses one line into `batch`. Blank lines are skipped; a byte-order mark at the start of the
 * file (line 1) is ignored, as editors on Windows add one.
 */
function parseLineInto(batch: ImportBatch, text: string, line: number): void {
  const source = line === 1 && text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (source.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    batch.errors.push({ line, reason: `invalid JSON: ${(error as Error).message}` });
    return;
  }
  const parsed = parseSocialPost(value);
  if (parsed.ok) batch.posts.push({ line, post: parsed.post });
  else batch.errors.push({ line, reason: parsed.reason });
}

/** Parses a whole JSONL content held in memory. For files, prefer {@link readImportFile}. */
export function parseImportLines(content: string): ImportBatch {
  const batch: ImportBatch = { posts: [], errors: [] };
  const lines = content.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) parseLineInto(batch, lines[i] ?? '', i + 1);
  return batch;
}

/**
 * Streams a JSONL file line by line, yielding one batch per {@link IMPORT_BATCH_LINES} lines read
 * (batches with nothing in them, all blank lines, are not yielded), so a 1 GB file never sits in
 * memory. Line numbers are those of the file. Rejects if the file cannot be read.
 */
export async function* readImportFile(path: string, onProgress?: (progress: ImportProgress) => void): AsyncGenerator<ImportBatch, void, undefined> {
  const { size: totalBytes } = await stat(path);
  const input = createReadStream(path, { encoding: 'utf8' });
  const reader = createInterface({ input, crlfDelay: Infinity });

  const progress: ImportProgress = { lines: 0, posts: 0, errors: 0, bytesRead: 0, totalBytes };
  let batch: ImportBatch = { posts: [], errors: [] };
  let linesInBatch = 0;
  const flush = (): ImportBatch | undefined => {
    const full = batch;
    progress.posts += full.posts.length;
    progress.errors += full.errors.length;
    progress.bytesRead = input.bytesRead;
    batch = { posts: [], errors: [] };
    linesInBatch = 0;
    onProgress?.({ ...progress });
    return full.posts.length + full.errors.length > 0 ? full : undefined;
  };

  try {
    for await (const text of reader) {
      progress.lines += 1;
      linesInBatch += 1;
      parseLineInto(batch, text, progress.lines);
      if (linesInBatch === IMPORT_BATCH_LINES) {
        const full = flush();
        if (full) yield full;
      }
    }
    if (linesInBatch > 0) {
      const last = flush();
      if (last) yield last;
    }
  } finally {
    reader.close();
    input.destroy();
  }
}
