/**
 * The webhook receiver of `npm run bench -- --webhook`, in a process of its own as a real receiver is
 * (a helpdesk, n8n, a queue's HTTP bridge): it answers 204 and counts requests and distinct webhook-ids, with
 * the time the last new id arrived. Run by bench/pipeline.bench.ts with fork(); talks over the IPC channel:
 * it sends `{ port }` once listening, answers `stats` with the counts and forgets the ids on `reset`.
 */
import { createServer } from 'node:http';

let requests = 0;
let ids = new Set<string>();
let lastNewAt = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    requests += 1;
    const id = String(req.headers['webhook-id']);
    if (!ids.has(id)) {
      ids.add(id);
      lastNewAt = Date.now();
    }
    res.writeHead(204).end();
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('message', (m: string) => {
  if (m === 'reset') {
    ids = new Set();
    lastNewAt = 0;
    process.send?.({ reset: true });
  } else if (m === 'stats') {
    process.send?.({ requests, events: ids.size, lastAt: lastNewAt });
  }
});
// the bench ends: so does the receiver
process.on('disconnect', () => process.exit(0));
