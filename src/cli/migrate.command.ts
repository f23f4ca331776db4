import { sql } from 'drizzle-orm';
import { UsageError } from '../errors.js';
import { openContext } from './context.js';
import { printObject } from './output.js';

/** `capture migrate`: apply the committed migrations; idempotent (opening the context applies them). */
export async function migrateCommand(args: string[], json: boolean): Promise<number> {
  if (args.length > 0) throw new UsageError('usage: capture migrate [--json]');
  const ctx = await openContext();
  try {
    const rows = await ctx.database.db.execute<{ n: number }>(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    printObject({ migrations: rows[0]?.n ?? 0, status: 'up to date' }, json);
    return 0;
  } finally {
    await ctx.close();
  }
}
