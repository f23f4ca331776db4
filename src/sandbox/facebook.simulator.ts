import { createHmac } from 'node:crypto';
import type http from 'node:http';
import { appSecretProof, type FbComment, type FbErrorBody, type FbListResponse, type FbPost, type FbWebhookPayload } from '../connectors/facebook.connector.js';
import type { SocialPost } from '../types.js';
import { decodeToken, encodeToken, listen, sendJson, sendMalformed, type RunningServer, type SeenRequest } from './http.js';

/**
 * A local Graph API that speaks the wire format (reference/social-apis.md, section C):
 * `GET /vNN.N/{page-id}/feed`, `GET /vNN.N/{page-id}/tagged` and `GET /vNN.N/{object-id}/comments`,
 * newest first, `since`, the field expansion `comments.summary(true)` (with `filter(stream)`),
 * cursor paging with absolute `paging.next` URLs, `access_token` and `appsecret_proof` checked,
 * usage headers, Graph error objects, and faults a test switches on. Also builds signed Page
 * webhook bodies for the same items.
 */

export type FbFaultKind =
  /** A rate-limit error (code 4 unless `code` says 17, 32 or 613), usage headers at 100. */
  | 'rate_limit'
  | 'server_error'
  | 'timeout'
  | 'malformed'
  /** Drops what a token may not always see: `from.name`, `permalink_url`, `updated_time`. */
  | 'missing_fields'
  /** Error 190/463: the Page token has expired. */
  | 'expired_token'
  /** Repeats the previous page's last item at the top of a follow-up page. */
  | 'duplicate';

export interface FbFault {
  kind: FbFaultKind;
  edge?: 'feed' | 'comments' | 'tagged';
  followUpOnly?: boolean;
  /** @defaultValue 1 */
  times?: number;
  code?: 4 | 17 | 32 | 613;
  /** @defaultValue 60000 */
  hangMs?: number;
}

export interface FacebookSimulatorOptions {
  /** The Page token it accepts. @defaultValue 'sandbox-page-token' */
  pageToken?: string;
  /** When set, every call must carry the matching appsecret_proof. */
  appSecret?: string;
  /** Calls per window before error 4; the usage headers report the share used. @defaultValue 200 per hour */
  usage?: { callsPerWindow: number; windowMs: number };
  port?: number;
}

/** What {@link FacebookSimulator.publish} made of a post: a Page feed post or a comment. */
export interface PublishedFbItem {
  kind: 'post' | 'comment';
  id: string;
  pageId: string;
  /** The feed post it belongs to (itself for a post). */
  postId: string;
  parentId?: string;
  createdTime: number;
  from: { id: string; name?: string };
  message: string;
}

export interface FacebookSimulator extends RunningServer {
  /**
   * A root post (no `in_reply_to`) becomes a feed post of `pageId`, or with `tagged` a post on its
   * author's timeline that tags the Page (served by `/tagged`, not `/feed`); a reply becomes a
   * comment on its conversation's post, under its parent comment when it answers one, and moves the
   * post's `updated_time`. `lateByMs` back-dates it.
   */
  publish(pageId: string, post: SocialPost, opts?: PublishOptions): PublishedFbItem;
  faults: FbFault[];
  requests: SeenRequest[];
  /** Force the usage headers to report this share (0–100); null: computed from the calls made. */
  setUsage(percent: number | null): void;
}

export interface PublishOptions {
  lateByMs?: number;
  /** A post by a person that tags the Page, rather than one on the Page. */
  tagged?: boolean;
}

interface StoredPost {
  raw: FbPost;
  created: number;
  comments: { raw: FbComment; created: number }[];
}

const graphError = (code: number, message: string, extra: Partial<FbErrorBody['error']> = {}): FbErrorBody => ({
  error: { message, type: 'OAuthException', code, fbtrace_id: `Asim${Math.random().toString(36).slice(2, 10)}`, ...extra },
});

/**
 * The `comments.summary(true).limit(0)` field expansion, when the fields ask for it: an empty list
 * and the count, of top-level comments only unless `filter(stream)` asks for replies too.
 */
function commentSummary(fields: string) {
  const m = /(?:^|,)comments((?:\.[a-z_]+\([^)]*\))*)/.exec(fields);
  if (!m || !m[1]!.includes('.summary(true)')) return undefined;
  const stream = m[1]!.includes('.filter(stream)');
  return (p: StoredPost) => ({
    data: [],
    summary: { order: 'ranked', total_count: p.comments.filter((c) => stream || !c.raw.parent).length, can_comment: true },
  });
}

const graphTime = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, '+0000');

export async function startFacebookSimulator(opts: FacebookSimulatorOptions = {}): Promise<FacebookSimulator> {
  const token = opts.pageToken ?? 'sandbox-page-token';
  const usageLimit = opts.usage ?? { callsPerWindow: 200, windowMs: 3_600_000 };
  const feeds = new Map<string, StoredPost[]>();
  const tagged = new Map<string, StoredPost[]>();
  const byPostId = new Map<string, StoredPost>();
  const published = new Map<string, PublishedFbItem>(); // SocialPost id → item
  const faults: FbFault[] = [];
  const requests: SeenRequest[] = [];
  // A fresh id range per instance: two simulators (two tests on one database) never mint the same ids.
  let objectSeq = 100_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1_000_000;
  let usageWindow = { start: Date.now(), calls: 0 };
  let forcedUsage: number | null = null;
  let server: RunningServer;

  function publish(pageId: string, post: SocialPost, o: PublishOptions = {}): PublishedFbItem {
    const created = Math.floor((Date.now() - (o.lateByMs ?? 0)) / 1000);
    const from = { id: post.author.id, ...(post.author.name ? { name: post.author.name } : {}) };
    const root = post.conversation_id ? published.get(post.conversation_id) : undefined;
    const parent = post.in_reply_to ? published.get(post.in_reply_to) : undefined;
    let item: PublishedFbItem;
    if (!post.in_reply_to || !root) {
      // A tagged post lives on its author's timeline: its id starts with theirs.
      const id = `${o.tagged ? post.author.id : pageId}_${objectSeq++}`;
      const stored: StoredPost = {
        raw: {
          id,
          message: post.text,
          created_time: graphTime(created),
          updated_time: graphTime(created),
          from,
          permalink_url: `https://www.facebook.com/${pageId}/posts/${id.split('_')[1]}`,
        },
        created,
        comments: [],
      };
      const edge = o.tagged ? tagged : feeds;
      const list = edge.get(pageId) ?? [];
      list.push(stored);
      edge.set(pageId, list);
      byPostId.set(id, stored);
      item = { kind: 'post', id, pageId, postId: id, createdTime: created, from, message: post.text };
    } else {
      const stored = byPostId.get(root.postId)!;
      const id = `${root.postId.split('_')[1]}_${objectSeq++}`;
      const parentId = parent && parent.kind === 'comment' ? parent.id : undefined;
      stored.comments.push({
        raw: { id, message: post.text, created_time: graphTime(created), from, ...(parentId ? { parent: { id: parentId } } : {}) },
        created,
      });
      // Graph moves a post's updated_time when someone comments on it.
      if (created > Date.parse(stored.raw.updated_time!.replace('+0000', 'Z')) / 1000) stored.raw.updated_time = graphTime(created);
      item = { kind: 'comment', id, pageId, postId: root.postId, ...(parentId ? { parentId } : {}), createdTime: created, from, message: post.text };
    }
    published.set(post.id, item);
    return item;
  }

  function usageHeaders(pageId: string, version = 'v27.0'): { headers: Record<string, string>; percent: number } {
    const now = Date.now();
    if (now - usageWindow.start >= usageLimit.windowMs) usageWindow = { start: now, calls: 0 };
    const percent = forcedUsage ?? Math.min(100, Math.round((usageWindow.calls / usageLimit.callsPerWindow) * 100));
    const app = { call_count: percent, total_cputime: Math.round(percent / 2), total_time: Math.round(percent / 2) };
    return {
      percent,
      headers: {
        'x-app-usage': JSON.stringify(app),
        'x-business-use-case-usage': JSON.stringify({ [pageId]: [{ type: 'pages', ...app, estimated_time_to_regain_access: 0 }] }),
        // Graph names the version that answered: the one asked for.
        'facebook-api-version': version,
      },
    };
  }

  function takeFault(edge: 'feed' | 'comments' | 'tagged', followUp: boolean): FbFault | undefined {
    const i = faults.findIndex((f) => (!f.edge || f.edge === edge) && (!f.followUpOnly || followUp));
    if (i < 0) return undefined;
    const f = faults[i]!;
    const left = (f.times ?? 1) - 1;
    if (left <= 0) faults.splice(i, 1);
    else f.times = left;
    return f;
  }

  /** Newest first, ties by id; `after` resumes strictly after the item the token names. */
  function pageOf<T extends { created: number; id: string }>(items: T[], q: URLSearchParams, order: 'newest' | 'oldest', limit: number) {
    const sign = order === 'newest' ? -1 : 1;
    const sorted = [...items].sort((a, b) => sign * (a.created - b.created) || (a.id < b.id ? sign : a.id > b.id ? -sign : 0));
    const since = q.get('since') ? Number(q.get('since')) : null;
    const until = q.get('until') ? Number(q.get('until')) : null;
    const inRange = sorted.filter((x) => (since === null || x.created >= since) && (until === null || x.created <= until));
    let start = 0;
    const after = q.get('after');
    if (after) {
      const id = decodeToken(after);
      start = inRange.findIndex((x) => x.id === id) + 1;
    }
    const page = inRange.slice(start, start + limit);
    return { page, more: start + limit < inRange.length, previous: start > 0 ? inRange[start - 1] : undefined };
  }

  function serve(req: http.IncomingMessage, res: http.ServerResponse, url: URL): number {
    const m = /^\/(v\d+\.\d+)\/([0-9_]+)\/(feed|comments|tagged)$/.exec(url.pathname);
    const q = url.searchParams;
    const pageIdOf = (objectId: string) => (objectId.includes('_') ? objectId.split('_')[0]! : objectId);
    const usage = usageHeaders(m ? pageIdOf(m[2]!) : 'unknown', m?.[1]);
    if (!m) {
      sendJson(
        res,
        400,
        graphError(100, 'Unsupported get request. Object does not exist, cannot be loaded due to missing permissions, or does not support this operation.', {
          type: 'GraphMethodException',
          error_subcode: 33,
        }),
        usage.headers,
      );
      return 400;
    }
    const [, version, objectId, edge] = m as unknown as [string, string, string, 'feed' | 'comments' | 'tagged'];
    if (q.get('access_token') !== token) {
      sendJson(res, 400, graphError(190, 'Invalid OAuth access token - Cannot parse access token', { error_subcode: 467 }), usage.headers);
      return 400;
    }
    if (opts.appSecret && q.get('appsecret_proof') !== appSecretProof(opts.appSecret, token)) {
      sendJson(res, 400, graphError(100, 'Invalid appsecret_proof provided in the API argument', { type: 'GraphMethodException' }), usage.headers);
      return 400;
    }
    const fault = takeFault(edge, q.has('after'));
    if (fault?.kind === 'expired_token') {
      sendJson(
        res,
        400,
        graphError(190, 'Error validating access token: Session has expired on Friday, 14-Mar-25 10:00:00 PDT.', { error_subcode: 463 }),
        usage.headers,
      );
      return 400;
    }
    if (fault?.kind === 'timeout') {
      setTimeout(() => res.destroy(), fault.hangMs ?? 60_000).unref();
      return 0;
    }
    usageWindow.calls += 1;
    if (fault?.kind === 'rate_limit' || usage.percent >= 100) {
      const code = fault?.code ?? 4;
      const message = {
        4: '(#4) Application request limit reached',
        17: '(#17) User request limit reached',
        32: '(#32) Page request limit reached',
        613: '(#613) Calls to this api have exceeded the rate limit.',
      }[code];
      const full = usageHeaders(pageIdOf(objectId));
      const headers = { ...full.headers, 'x-app-usage': JSON.stringify({ call_count: 100, total_cputime: 40, total_time: 40 }) };
      sendJson(res, 403, graphError(code, message, { is_transient: true }), headers);
      return 403;
    }
    if (fault?.kind === 'server_error') {
      sendJson(res, 500, graphError(2, 'An unexpected error has occurred. Please retry your request later.', { is_transient: true }), usage.headers);
      return 500;
    }
    if (fault?.kind === 'malformed') {
      sendMalformed(res, usage.headers);
      return 200;
    }
    const limit = Number(q.get('limit') ?? 25);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      sendJson(res, 400, graphError(100, '(#100) The limit parameter must be between 1 and 100', { type: 'OAuthException' }), usage.headers);
      return 400;
    }

    let data: unknown[];
    let more: boolean;
    let previous: { raw: unknown } | undefined;
    if (edge === 'feed' || edge === 'tagged') {
      const list = ((edge === 'feed' ? feeds : tagged).get(objectId) ?? []).map((p) => ({ ...p, id: p.raw.id }));
      const r = pageOf(list, q, 'newest', limit);
      const summary = commentSummary(q.get('fields') ?? '');
      data = r.page.map((p) => ({ ...p.raw, ...(summary ? { comments: summary(p) } : {}) }));
      more = r.more;
      previous = r.previous;
    } else {
      const post = byPostId.get(objectId);
      if (!post) {
        sendJson(
          res,
          400,
          graphError(100, `Unsupported get request. Object with ID '${objectId}' does not exist`, { type: 'GraphMethodException', error_subcode: 33 }),
          usage.headers,
        );
        return 400;
      }
      const stream = q.get('filter') === 'stream';
      const list = post.comments.filter((c) => stream || !c.raw.parent).map((c) => ({ ...c, id: c.raw.id }));
      const r = pageOf(list, q, q.get('order') === 'reverse_chronological' ? 'newest' : 'oldest', limit);
      data = r.page.map((c) => ({ ...c.raw }));
      more = r.more;
      previous = r.previous;
    }
    if (fault?.kind === 'duplicate' && previous) data.unshift({ ...(previous.raw as object) });
    if (fault?.kind === 'missing_fields') {
      for (const d of data as Record<string, unknown>[]) {
        delete d.permalink_url;
        delete d.updated_time;
        if (d.from) d.from = { id: (d.from as { id: string }).id };
      }
    }
    const body: FbListResponse<FbPost | FbComment> = { data: data as FbPost[] };
    const last = data[data.length - 1] as { id: string } | undefined;
    const first = data[0] as { id: string } | undefined;
    if (first && last) {
      body.paging = { cursors: { before: encodeToken(first.id), after: encodeToken(last.id) } };
      if (more) {
        const next = new URL(`${server.url}/${version}/${objectId}/${edge}`);
        for (const [k, v] of q) if (k !== 'after') next.searchParams.set(k, v);
        next.searchParams.set('after', encodeToken(last.id));
        body.paging.next = next.toString();
      }
    }
    sendJson(res, 200, body, usage.headers);
    return 200;
  }

  server = await listen((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const seen: SeenRequest = { at: Date.now(), method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, status: 0 };
    requests.push(seen);
    try {
      seen.status = serve(req, res, url);
    } catch (err) {
      seen.status = 500;
      sendJson(res, 500, graphError(1, (err as Error).message));
    }
  }, opts.port);

  return {
    ...server,
    publish,
    faults,
    requests,
    setUsage(percent) {
      forcedUsage = percent;
    },
  };
}

/** The Page webhook body Meta would POST for these items (verb add), as compact JSON. */
export function fbWebhookBody(items: readonly PublishedFbItem[]): string {
  const payload: FbWebhookPayload = {
    object: 'page',
    entry: items.map((it) => ({
      id: it.pageId,
      time: it.createdTime + 2,
      changes: [
        {
          field: 'feed',
          value:
            it.kind === 'comment'
              ? {
                  item: 'comment',
                  verb: 'add',
                  post_id: `${it.pageId}_${it.postId.split('_')[1]}`,
                  comment_id: it.id,
                  parent_id: it.parentId ?? it.postId,
                  created_time: it.createdTime,
                  from: it.from,
                  message: it.message,
                }
              : { item: 'status', verb: 'add', post_id: it.id, created_time: it.createdTime, from: it.from, message: it.message },
        },
      ],
    })),
  };
  // Meta signs the bytes it sends, with non-ASCII escaped as \uXXXX.
  return JSON.stringify(payload).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `X-Hub-Signature-256` for a raw body. */
export function fbWebhookSignature(appSecret: string, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}
