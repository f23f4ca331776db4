import { createHmac } from 'node:crypto';
import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { ConnectorError } from '../errors.js';
import type { FbErrorBody } from './facebook.wire.js';
import { isObject } from './facebook.mapper.js';

// The Graph API client (axios, appsecret_proof) and how its usage headers and errors are read.

// --- usage headers and errors ------------------------------------------------------------

/** The highest share of any quota the usage headers report (0–100), and Meta's wait estimate. */
export function fbUsage(headers: Record<string, unknown>): { percent: number; regainMs: number } {
  let percent = 0;
  let regainMs = 0;
  const parse = (name: string): unknown => {
    const raw = headers[name];
    if (typeof raw !== 'string') return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      return undefined;
    }
  };
  const take = (u: unknown) => {
    if (!isObject(u)) return;
    for (const k of ['call_count', 'total_cputime', 'total_time']) {
      const v = u[k];
      if (typeof v === 'number' && v > percent) percent = v;
    }
    const regain = u.estimated_time_to_regain_access;
    if (typeof regain === 'number' && regain * 60_000 > regainMs) regainMs = regain * 60_000; // minutes
  };
  take(parse('x-app-usage'));
  take(parse('x-page-usage'));
  const buc = parse('x-business-use-case-usage');
  if (isObject(buc)) for (const list of Object.values(buc)) if (Array.isArray(list)) list.forEach(take);
  return { percent, regainMs };
}

/** Graph error codes that mean "slow down": app, user, Page, custom and Pages BUC limits. */
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80001, 341]);
const TOKEN_CODES = new Set([190, 102]);

/** A Graph/axios failure → the ConnectorError the error policy acts on. */
export function fbError(err: unknown, rateLimitWaitMs: number): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (err instanceof AxiosError) {
    const res = err.response;
    if (!res) return new ConnectorError('temporary', `Graph request failed: ${err.code ?? ''} ${err.message}`.trim());
    const body = isObject(res.data) && isObject(res.data.error) ? (res.data as unknown as FbErrorBody).error : undefined;
    if (!body) {
      return res.status >= 500
        ? new ConnectorError('temporary', `Graph answered ${res.status}`)
        : new ConnectorError('bad_response', `Graph answered ${res.status} without an error object`);
    }
    const said = `Graph error ${body.code}${body.error_subcode ? `/${body.error_subcode}` : ''}: ${body.message}`;
    if (TOKEN_CODES.has(body.code)) return new ConnectorError('auth', `${said} (set a valid FACEBOOK_PAGE_TOKEN)`);
    if (RATE_LIMIT_CODES.has(body.code)) {
      const { regainMs } = fbUsage(res.headers as Record<string, unknown>);
      return new ConnectorError('rate_limited', said, Math.max(regainMs, rateLimitWaitMs));
    }
    if (body.code === 10 || (body.code >= 200 && body.code <= 299)) return new ConnectorError('auth', `${said} (the token lacks a permission)`);
    if (body.code === 100 && body.error_subcode === 33) return new ConnectorError('not_found', said);
    if (body.code === 803) return new ConnectorError('not_found', said);
    if (body.is_transient || body.code === 1 || body.code === 2 || res.status >= 500) return new ConnectorError('temporary', said);
    return new ConnectorError('bad_response', said);
  }
  return new ConnectorError('temporary', `Graph request failed: ${(err as Error)?.message ?? String(err)}`);
}

// --- client ------------------------------------------------------------------------------

/** The Graph version used when the base URL names none. */
export const DEFAULT_GRAPH_VERSION = 'v27.0';
export const DEFAULT_GRAPH_BASE_URL = `https://graph.facebook.com/${DEFAULT_GRAPH_VERSION}`;

/** `appsecret_proof`: lowercase hex HMAC-SHA256 of the access token, keyed with the app secret. */
export function appSecretProof(appSecret: string, accessToken: string): string {
  return createHmac('sha256', appSecret).update(accessToken).digest('hex');
}

/** A base URL with a version segment: `…/v27.0`, the default version appended when none is given. */
export function versionedGraphBase(baseUrl: string | undefined): string {
  const base = (baseUrl ?? DEFAULT_GRAPH_BASE_URL).replace(/\/+$/, '');
  return /\/v\d+\.\d+$/.test(base) ? base : `${base}/${DEFAULT_GRAPH_VERSION}`;
}

/** Options of {@link createGraphClient}. */
export interface GraphClientOptions {
  pageToken: string;
  /** Enables `appsecret_proof` on every call. */
  appSecret?: string | undefined;
  /** @defaultValue https://graph.facebook.com/v27.0 */
  baseUrl?: string | undefined;
  /** @defaultValue 15000 */
  timeoutMs?: number;
}

export interface GraphClient {
  readonly base: string;
  /** GET a path under the base, or an absolute `paging.next` URL of the same origin. */
  get<T>(pathOrUrl: string, params?: Record<string, string | number>): Promise<AxiosResponse<T>>;
}

export function createGraphClient(opts: GraphClientOptions): GraphClient {
  const base = versionedGraphBase(opts.baseUrl);
  const origin = new URL(base).origin;
  const http: AxiosInstance = axios.create({ timeout: opts.timeoutMs ?? 15_000, headers: { accept: 'application/json' } });
  const auth: Record<string, string> = { access_token: opts.pageToken };
  if (opts.appSecret) auth.appsecret_proof = appSecretProof(opts.appSecret, opts.pageToken);
  return {
    base,
    async get<T>(pathOrUrl: string, params: Record<string, string | number> = {}) {
      const url = new URL(/^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${base}/${pathOrUrl.replace(/^\/+/, '')}`);
      // paging.next carries the token in its query: follow it only where the token may go.
      if (url.origin !== origin) throw new ConnectorError('bad_response', `Graph paging led off ${origin}: ${url.origin}`);
      for (const [k, v] of Object.entries({ ...params, ...auth })) url.searchParams.set(k, String(v));
      return http.get<T>(url.toString());
    },
  };
}
