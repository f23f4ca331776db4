import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Sql = postgres.Sql;
/** A transaction's handle; repositories' helpers take it to run inside the caller's transaction. */
export type Tx = postgres.TransactionSql;
export type Db = PostgresJsDatabase<typeof schema>;

/** The database handles a process holds: postgres.js for the hot path, drizzle for typed queries. */
export interface Database {
  readonly sql: Sql;
  readonly db: Db;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Pool size. Workers want about their concurrency. @defaultValue 10 */
  max?: number;
}

export function createDatabase(url: string, opts: DatabaseOptions = {}): Database {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    connect_timeout: 10,
    // int8 → number: our bigint columns are identity ids and counts, far below 2^53. Platform ids
    // (which exceed 2^53) are stored as text and never pass through here.
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number | bigint) => x.toString(), parse: (x: string) => Number(x) },
    },
  });
  const db = drizzle(sql, { schema });
  return { sql, db, close: () => sql.end({ timeout: 5 }) };
}
