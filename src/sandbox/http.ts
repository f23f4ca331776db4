import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the simulators share: a node:http server on 127.0.0.1 and a log of the requests it saw. */

export interface SeenRequest {
  at: number;
  method: string;
  path: string;
  query: URLSearchParams;
  status: number;
}

export interface RunningServer {
  /** Origin, e.g. http://127.0.0.1:40123 */
  url: string;
  close(): Promise<void>;
}

export async function listen(handler: http.RequestListener, port = 0): Promise<RunningServer> {
  const server = http.createServer(handler);
  // A request the simulator holds to fake a timeout must not keep close() waiting.
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': contentType, ...headers });
  res.end(JSON.stringify(body));
}

/** A body that claims to be JSON and is cut off half-way: what a proxy that dies mid-response sends. */
export function sendMalformed(res: http.ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end('{"data":[{"id":"1","text":"trunc');
}

export const encodeToken = (value: string): string => Buffer.from(value).toString('base64url');
export const decodeToken = (token: string): string => Buffer.from(token, 'base64url').toString('utf8');
