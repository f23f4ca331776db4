import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The console's cookies. */
export const SESSION_COOKIE = 'capture_session';
export const LOGIN_COOKIE = 'capture_login';
export const FLASH_COOKIE = 'capture_flash';

/** A signed-in person. */
export interface Session {
  /** Random per sign-in; the CSRF token is derived from it. */
  id: string;
  /** The name they gave at sign-in, recorded with what they publish. */
  name: string;
  expiresAt: number;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * Stateless sessions signed with a key derived from the API token: any api process with the same token accepts
 * them (no session store to share), and changing the token signs everyone out.
 */
export class Sessions {
  private readonly key: Buffer;

  constructor(
    apiToken: string,
    /** How long a sign-in lasts. @defaultValue 12 hours */
    readonly ttlMs = 12 * 3_600_000,
  ) {
    this.key = createHmac('sha256', 'social-capture console session').update(apiToken).digest();
  }

  private mac(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }

  /** A new session's cookie value. */
  create(name: string, now = Date.now()): { session: Session; cookie: string } {
    const session: Session = { id: randomBytes(18).toString('base64url'), name, expiresAt: now + this.ttlMs };
    const payload = b64(JSON.stringify(session));
    return { session, cookie: `${payload}.${this.mac(payload)}` };
  }

  /** The session a cookie value carries, or null if it is forged, malformed or expired. */
  read(cookie: string | undefined, now = Date.now()): Session | null {
    if (!cookie) return null;
    const [payload, mac] = cookie.split('.');
    if (!payload || !mac || !equal(mac, this.mac(payload))) return null;
    try {
      const s = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Session;
      return typeof s.id === 'string' && typeof s.name === 'string' && typeof s.expiresAt === 'number' && s.expiresAt > now ? s : null;
    } catch {
      return null;
    }
  }

  /** The CSRF token of a session (synchronizer token, derived so nothing is stored). */
  csrf(session: Session): string {
    return this.mac(`csrf:${session.id}`);
  }

  /** Whether `given` is the session's CSRF token. */
  checkCsrf(session: Session, given: unknown): boolean {
    return typeof given === 'string' && equal(given, this.csrf(session));
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The cookies of a request's `Cookie` header. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 1) continue;
    const name = pair.slice(0, eq).trim();
    try {
      out[name] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      // a malformed value is ignored, as browsers do
    }
  }
  return out;
}

/** A `Set-Cookie` value: HttpOnly and SameSite=Strict always; Secure when served over HTTPS. */
export function cookie(name: string, value: string, opts: { maxAgeS: number; secure: boolean }): string {
  return `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${opts.maxAgeS}${opts.secure ? '; Secure' : ''}`;
}
