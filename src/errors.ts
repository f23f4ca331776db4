/** A config or rules file that does not validate; the message names the file and the field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A CLI call whose words are off: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Something is wrong with one post itself (not the infrastructure): retrying cannot help, so the
 * post is quarantined as `failed` with this message at once.
 */
export class PostError extends Error {
  override readonly name = 'PostError';
}

export type ConnectorErrorCode = 'rate_limited' | 'auth' | 'temporary' | 'bad_response' | 'not_found';

/** What a connector throws; the error policy maps the code to an action. */
export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  constructor(
    readonly code: ConnectorErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN']);

/**
 * One line for an error a person reads: an unreachable Redis or Postgres says which and where,
 * anything else gives its message, never a stack.
 */
export function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string; address?: string; port?: number; errors?: unknown[] };
  if (e && typeof e === 'object') {
    const inner = Array.isArray(e.errors) && e.errors.length > 0 ? (e.errors[0] as typeof e) : e;
    if (inner.code && NETWORK_CODES.has(inner.code)) {
      const where = inner.address ? ` at ${inner.address}${inner.port ? `:${inner.port}` : ''}` : '';
      return `${inner.code}${where}`;
    }
    if (e.message) return e.message.split('\n')[0] ?? String(err);
  }
  return String(err);
}

/** A record the caller named does not exist: HTTP 404. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** A transition the record's current state does not allow (qualify a disqualified lead): HTTP 409; the message says why. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** What the caller asks for existed once and is gone for good (a feed cursor older than the events kept): HTTP 410. */
export class GoneError extends Error {
  override readonly name = 'GoneError';
  readonly statusCode = 410;
}
