import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';

/** What the receiver does with one request: answer with a status (and headers), after a pause. */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Wait this long before answering (a slow receiver). */
  delayMs?: number;
}

/** One request as received: verified or not, with its parsed body. */
export interface Received {
  webhookId: string;
  verified: boolean;
  status: number;
  body: { id: string; type: string; aggregate: { type: string; id: number; sequence: number } } & Record<string, unknown>;
  at: number;
}

/**
 * A real HTTP webhook receiver on 127.0.0.1, as a subscriber would run one: verifies each request's
 * Standard Webhooks signature with the secret it is given, and answers as `answer` says for the
 * n-th request. `listen()` and `down()` take it up and down on the same port.
 */
export function webhookReceiver(port: number, answer: (n: number, r: Received) => Answer = () => ({ status: 204 })) {
  const received: Received[] = [];
  let secret = '';
  let server: Server | null = null;
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      try {
        new Webhook(secret).verify(raw, req.headers as Record<string, string>);
        verified = true;
      } catch {
        verified = false;
      }
      const r: Received = { webhookId: String(req.headers['webhook-id']), verified, status: 0, body: JSON.parse(raw) as Received['body'], at: Date.now() };
      const a = verified ? answer(received.length, r) : { status: 401 };
      r.status = a.status;
      received.push(r);
      setTimeout(() => {
        res.writeHead(a.status, a.headers ?? {});
        res.end();
      }, a.delayMs ?? 0);
    });
  };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    setSecret(s: string) {
      secret = s;
    },
    /** Verified requests answered 2xx, first receipt per webhook-id, in order of receipt. */
    accepted(): Received[] {
      const seen = new Set<string>();
      return received.filter((r) => r.verified && r.status < 300 && !seen.has(r.webhookId) && seen.add(r.webhookId));
    },
    async listen() {
      server = createServer(handler);
      server.keepAliveTimeout = 1;
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    },
    async down() {
      const s = server;
      server = null;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
