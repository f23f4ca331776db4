/**
 * Checks Ajv cannot make with Fastify's defaults (it coerces types, so `"5"`, `"0x10"` and `1e20` pass as
 * integers): run before validation on the raw request, each failure a message naming the field.
 */

type Schema = { type?: string | readonly string[]; properties?: Record<string, Schema>; items?: Schema };

const types = (s: Schema): readonly string[] => (s.type === undefined ? [] : typeof s.type === 'string' ? [s.type] : s.type);

/** A whole number as a path or query string gives it: decimal digits only, no sign, no exponent, no hex. */
const DECIMAL = /^(0|[1-9][0-9]*)$/;

function nulProblem(field: string, value: unknown): string | undefined {
  return typeof value === 'string' && value.includes('\u0000') ? `${field} must not contain NUL bytes` : undefined;
}

/** Path parameters and query strings: integers as plain decimal within 2^53, no NUL in any value. */
export function stringPartProblem(part: 'params' | 'querystring', schema: Schema | undefined, data: unknown): string | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  for (const [name, value] of Object.entries(data as Record<string, unknown>)) {
    const field = `${part}/${name}`;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      const nul = nulProblem(field, v);
      if (nul) return nul;
      const prop = schema?.properties?.[name];
      if (prop && types(prop).includes('integer') && typeof v === 'string' && !(DECIMAL.test(v) && Number.isSafeInteger(Number(v)))) {
        return `${field} must be a whole number below 2^53 written in decimal, not ${JSON.stringify(v.slice(0, 40))}`;
      }
    }
  }
  return undefined;
}

/** A JSON body: numbers must be JSON numbers (never strings), integers safe, and no string may hold a NUL. */
export function bodyProblem(schema: Schema | undefined, value: unknown, field = 'body'): string | undefined {
  const nul = nulProblem(field, value);
  if (nul) return nul;
  if (schema) {
    const t = types(schema);
    const numeric = t.includes('integer') || t.includes('number');
    if (numeric && value !== null && value !== undefined && typeof value !== 'number') return `${field} must be a number, not ${typeof value}`;
    if (t.includes('integer') && typeof value === 'number' && !Number.isSafeInteger(value)) return `${field} must be a whole number below 2^53`;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const p = bodyProblem(schema?.items, v, `${field}/${i}`);
      if (p) return p;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = nulProblem(`${field}/${k}`, k) ?? bodyProblem(schema?.properties?.[k], v, `${field}/${k}`);
      if (p) return p;
    }
  }
  return undefined;
}
