import type http from 'node:http';
import type { XProblem, XTweet, XUser } from '../connectors/twitter.connector.js';
import { sendJson } from './http.js';

/**
 * The filtered stream of the X API v2 simulator: `GET|POST /2/tweets/search/stream/rules` (with
 * `dry_run`) and `GET /2/tweets/search/stream`, one connection per app, newline-delimited JSON
 * (`\r\n`) with a keep-alive `\r\n` every `heartbeatMs`, and faults a test switches on.
 */

export type XStreamFaultKind =
  /** The connection is cut when the next post would go out; the post is not sent. */
  | 'drop'
  /** The connection stays open but nothing more comes, not even keep-alives; the next post is not sent. */
  | 'stall'
  /** The next post goes out as a line cut off mid-JSON. */
  | 'malformed'
  /** The next connect is answered with this HTTP status (429: too many connections, 503: unavailable). */
  | 'connect_error';

export interface XStreamFault {
  kind: XStreamFaultKind;
  /** For `connect_error`. @defaultValue 503 */
  status?: 429 | 503;
}

/** A filtered-stream rule as X stores it. */
export interface XStreamRule {
  id: string;
  value: string;
  tag?: string;
}

interface Connection {
  res: http.ServerResponse;
  stalled: boolean;
  timer: NodeJS.Timeout;
  fields: URLSearchParams;
}

export interface XStreamHub {
  rules: Map<string, XStreamRule>;
  faults: XStreamFault[];
  /** Open stream connections. */
  connections(): number;
  /** Send a post published under `query` to the connection, if a rule's value is that query. */
  deliver(query: string, tweet: XTweet, user: XUser): void;
  /** Serve a request under /2/tweets/search/stream; false when the path is not one of them. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, authorized: boolean): boolean;
  close(): void;
}

const problem = (status: number, title: string, detail: string, type: string, extra: Record<string, unknown> = {}): XProblem & Record<string, unknown> => ({
  title,
  detail,
  type,
  status,
  ...extra,
});

export function createXStreamHub(opts: { heartbeatMs?: number } = {}): XStreamHub {
  const heartbeatMs = opts.heartbeatMs ?? 20_000;
  const rules = new Map<string, XStreamRule>();
  const faults: XStreamFault[] = [];
  const open = new Set<Connection>();
  let ruleSeq = 1_600_000_000_000_000_000n;

  function end(c: Connection, destroy: boolean): void {
    clearInterval(c.timer);
    open.delete(c);
    if (destroy) c.res.destroy();
    else c.res.end();
  }

  function line(tweet: XTweet, user: XUser, rule: XStreamRule, fields: URLSearchParams): string {
    const wanted = new Set((fields.get('tweet.fields') ?? '').split(',').filter(Boolean));
    const data: Record<string, unknown> = { id: tweet.id, text: tweet.text, edit_history_tweet_ids: tweet.edit_history_tweet_ids };
    for (const f of wanted) if (f in tweet) data[f] = (tweet as unknown as Record<string, unknown>)[f];
    const body: Record<string, unknown> = { data, matching_rules: [{ id: rule.id, ...(rule.tag ? { tag: rule.tag } : {}) }] };
    if ((fields.get('expansions') ?? '').split(',').includes('author_id'))
      body.includes = { users: [{ id: user.id, name: user.name, username: user.username }] };
    return `${JSON.stringify(body)}\r\n`;
  }

  function deliver(query: string, tweet: XTweet, user: XUser): void {
    const rule = [...rules.values()].find((r) => r.value === query);
    if (!rule) return;
    for (const c of [...open]) {
      if (c.stalled) continue;
      const i = faults.findIndex((f) => f.kind !== 'connect_error');
      const fault = i >= 0 ? faults.splice(i, 1)[0] : undefined;
      if (fault?.kind === 'drop') end(c, true);
      else if (fault?.kind === 'stall') c.stalled = true;
      else if (fault?.kind === 'malformed') c.res.write(`{"data":{"id":"${tweet.id}","text":"cut of\r\n`);
      else c.res.write(line(tweet, user, rule, c.fields));
    }
  }

  function readBody(req: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (text += chunk));
      req.on('end', () => resolve(text));
      req.on('error', reject);
    });
  }

  /** https://docs.x.com/x-api/posts/filtered-stream — rules: add, delete, dry_run. */
  async function updateRules(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const dryRun = url.searchParams.get('dry_run') === 'true';
    let body: { add?: { value?: unknown; tag?: unknown }[]; delete?: { ids?: unknown[] } };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch {
      sendJson(
        res,
        400,
        problem(400, 'Invalid Request', 'One or more parameters to your request was invalid.', 'https://api.twitter.com/2/problems/invalid-request'),
      );
      return;
    }
    const sent = new Date().toISOString();
    if (Array.isArray(body.add)) {
      const invalid = body.add.filter((r) => typeof r.value !== 'string' || r.value.length === 0 || r.value.length > 1024);
      const duplicate = body.add.filter((r) => [...rules.values()].some((x) => x.value === r.value));
      const created: XStreamRule[] = body.add
        .filter((r) => !invalid.includes(r) && !duplicate.includes(r))
        .map((r) => ({ id: String((ruleSeq += 1n)), value: r.value as string, ...(typeof r.tag === 'string' ? { tag: r.tag } : {}) }));
      if (!dryRun) for (const r of created) rules.set(r.id, r);
      sendJson(res, 200, {
        ...(created.length ? { data: created } : {}),
        meta: {
          sent,
          summary: {
            created: created.length,
            not_created: invalid.length + duplicate.length,
            valid: created.length + duplicate.length,
            invalid: invalid.length,
          },
        },
        ...(duplicate.length
          ? { errors: duplicate.map((r) => ({ value: r.value, title: 'DuplicateRule', type: 'https://api.twitter.com/2/problems/duplicate-rules' })) }
          : {}),
      });
      return;
    }
    const ids = Array.isArray(body.delete?.ids) ? body.delete!.ids.map(String) : [];
    const found = ids.filter((id) => rules.has(id));
    if (!dryRun) for (const id of found) rules.delete(id);
    sendJson(res, 200, { meta: { sent, summary: { deleted: found.length, not_deleted: ids.length - found.length } } });
  }

  function connect(res: http.ServerResponse, url: URL): void {
    const i = faults.findIndex((f) => f.kind === 'connect_error');
    const fault = i >= 0 ? faults.splice(i, 1)[0] : undefined;
    if (fault || open.size > 0) {
      const status = fault?.status ?? 429;
      const body =
        status === 429
          ? problem(
              429,
              'ConnectionException',
              'This stream is currently at the maximum allowed connection limit.',
              'https://api.twitter.com/2/problems/streaming-connection',
              { connection_issue: 'TooManyConnections' },
            )
          : problem(503, 'Service Unavailable', 'Service Unavailable', 'about:blank');
      sendJson(res, status, body, {}, 'application/problem+json');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const c: Connection = { res, stalled: false, fields: url.searchParams, timer: setInterval(() => c.stalled || res.write('\r\n'), heartbeatMs) };
    c.timer.unref();
    open.add(c);
    res.on('close', () => {
      clearInterval(c.timer);
      open.delete(c);
    });
  }

  return {
    rules,
    faults,
    connections: () => open.size,
    deliver,
    handle(req, res, url, authorized) {
      if (url.pathname !== '/2/tweets/search/stream' && url.pathname !== '/2/tweets/search/stream/rules') return false;
      if (!authorized) {
        sendJson(res, 401, problem(401, 'Unauthorized', 'Unauthorized', 'about:blank'), {}, 'application/problem+json');
        return true;
      }
      if (url.pathname === '/2/tweets/search/stream') connect(res, url);
      else if (req.method === 'POST') void updateRules(req, res, url);
      else {
        const data = [...rules.values()];
        sendJson(res, 200, { ...(data.length ? { data } : {}), meta: { sent: new Date().toISOString(), result_count: data.length } });
      }
      return true;
    },
    close() {
      for (const c of [...open]) end(c, true);
    },
  };
}
