import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import type { Database } from './client.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Arbitrary constant: every process that migrates this database takes the same lock. */
const MIGRATION_LOCK = 7_345_002_031;

/**
 * Apply the committed migrations in `drizzle/`; idempotent. An advisory lock makes concurrent
 * starters (several workers booting at once) apply them once.
 */
export async function runMigrations(database: Database): Promise<void> {
  const conn = await database.sql.reserve();
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await conn`select pg_advisory_unlock(${MIGRATION_LOCK})`.catch(() => {});
    conn.release();
  }
}
