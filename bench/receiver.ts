/**
 * The webhook receiver of the benches (`npm run bench -- --webhook`, `npm run bench:webhooks`), in a process of its
 * own as a real receiver is (a helpdesk, n8n, a queue's HTTP bridge), so its CPU is not counted as the sender's:
 * it answers 204 and counts requests and distinct webhook-ids, with the time the last new id arrived.
 * {@link forkReceiver} starts it (this same file, run with `--child`) and talks to it over the IPC channel.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

/** What the receiver got since its last reset (requests count retries and duplicates too). */
export interface ReceiverStats {
  requests: number;
  /** Distinct webhook-ids. */
  events: number;
  /** When the last new id arrived, ms since the epoch (0: none yet). */
  lastAt: number;
}

type Request = 'stats' | 'reset' | { until: number };

export interface Receiver {
  url: string;
  stats(): Promise<ReceiverStats>;
  /** Forget the ids of the run before (each run subscribes a new endpoint in a new database). */
  reset(): Promise<void>;
  /** Resolves once the receiver holds `events` distinct ids (at once if it already does). */
  until(events: number): Promise<ReceiverStats>;
  stop(): void;
}

/** Start the receiver in a child process; it listens on a free port of 127.0.0.1. */
export async function forkReceiver(): Promise<Receiver> {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  // one request at a time: each answer is the next message
  const ask = <T>(request: Request | null): Promise<T> =>
    new Promise((resolve) => {
      child.once('message', (m) => resolve(m as T));
      if (request !== null) child.send(request);
    });
  const { port } = await ask<{ port: number }>(null);
  // neither the child nor its channel keeps the bench alive; it exits when the bench does
  child.unref();
  child.channel?.unref();
  return {
    url: `http://127.0.0.1:${port}/hook`,
    stats: () => ask<ReceiverStats>('stats'),
    reset: () => ask<unknown>('reset').then(() => undefined),
    until: (events) => ask<ReceiverStats>({ until: events }),
    stop: () => child.kill(),
  };
}

function serve(): void {
  let requests = 0;
  let ids = new Set<string>();
  let lastAt = 0;
  let waitingFor: number | null = null;
  const stats = (): ReceiverStats => ({ requests, events: ids.size, lastAt });
  const answerWaiter = () => {
    if (waitingFor !== null && ids.size >= waitingFor) {
      waitingFor = null;
      process.send?.(stats());
    }
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      const id = String(req.headers['webhook-id']);
      if (!ids.has(id)) {
        ids.add(id);
        lastAt = Date.now();
        answerWaiter();
      }
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
  process.on('message', (m: Request) => {
    if (m === 'reset') {
      // a run that gave up waiting leaves no waiter behind to answer into the next run's questions
      waitingFor = null;
      requests = 0;
      ids = new Set();
      lastAt = 0;
      process.send?.({ reset: true });
    } else if (m === 'stats') process.send?.(stats());
    else {
      waitingFor = m.until;
      answerWaiter();
    }
  });
  // the bench ends: so does the receiver
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes('--child')) serve();
