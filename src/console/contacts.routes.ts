import type { FastifyInstance } from 'fastify';
import { mergeHistory, searchContactIds } from '../db/console.repo.js';
import { getContact, mergeSuggestions } from '../db/crm.repo.js';
import { listContacts } from '../db/read-models/contacts.read.js';
import type { ConsoleKit } from './kit.js';
import { contactsPage } from './views/contacts.js';

/** Contacts: search, merge suggestions with Merge, merge history with Undo. */
export function contactsRoutes(app: FastifyInstance, kit: ConsoleKit): void {
  const { sql } = kit;
  app.get<{ Querystring: { q?: string } }>(
    '/contacts',
    { schema: { querystring: { type: 'object', properties: { q: { type: 'string', maxLength: 200 } } } } },
    async (req, reply) => {
      const q = (req.query.q ?? '').trim();
      const found = q ? await Promise.all((await searchContactIds(sql, q, 50)).map((id) => getContact(sql, id))) : await listContacts(sql, { limit: 50 });
      const [suggestions, merges] = await Promise.all([mergeSuggestions(sql), mergeHistory(sql, 50)]);
      return kit.send(reply, contactsPage(kit.context(req, reply), q, found as never, suggestions, merges));
    },
  );
  app.post('/merges', async (req, reply) => {
    const f = (req.body ?? {}) as Record<string, string | undefined>;
    const res = await kit.callApi('POST', '/api/merges', { survivorId: Number(f.survivorId), mergedId: Number(f.mergedId) });
    return kit.done(req, reply, res, (b) => `Contact ${b?.mergedId} merged into contact ${b?.survivorId} (merge ${b?.mergeId}).`);
  });
  app.post<{ Params: { id: number } }>(
    '/merges/:id/undo',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } } },
    async (req, reply) => {
      const res = await kit.callApi('POST', `/api/merges/${req.params.id}/undo`);
      return kit.done(req, reply, res, () => `Merge ${req.params.id} undone.`);
    },
  );
}
