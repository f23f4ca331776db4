/**
 * The CRM side, one file per job: single-record reads (read-models/records.read.ts), accounts and entitlements
 * (accounts.repo.ts), lead, opportunity and case transitions (lifecycle.repo.ts), contact merges
 * (merges.repo.ts) and erasure (forget.repo.ts). Callers import from here.
 */
export * from './accounts.repo.js';
export * from './forget.repo.js';
export * from './lifecycle.repo.js';
export * from './merges.repo.js';
export * from './read-models/records.read.js';
