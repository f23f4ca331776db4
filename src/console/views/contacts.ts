import { html, type Html } from '../html.js';
import { actionForm, page, when, type PageContext } from './layout.js';

type Contact = Record<string, any> & { id: number; identities: { platform: string; handle: string | null; userId: string }[] };
type Suggestion = { contactId: number; otherContactId: number; reason: string; evidence: string };
type Merge = {
  id: number;
  survivorId: number;
  mergedId: number;
  survivorName: string | null;
  mergedName: string | null;
  createdAt: string;
  undoneAt: string | null;
};

const identities = (c: Contact) =>
  html`${c.identities.map((i, n) => html`${n > 0 ? ', ' : ''}${i.platform} ${i.handle ? `@${i.handle}` : ''} <span class="muted">(${i.userId})</span>`)}`;

/** Contacts: search, identities, merge suggestions with Merge, merge history with Undo. */
export function contactsPage(ctx: PageContext, q: string, found: Contact[], suggestions: Suggestion[], merges: Merge[]): Html {
  return page(
    ctx,
    'Contacts',
    html`<form method="get" action="/contacts" class="filters" role="search" aria-label="Search contacts">
<label for="q">Name, handle or platform id</label> <input id="q" name="q" type="search" value="${q}" maxlength="200"> <button type="submit">Search</button></form>
<table class="grid"><caption>${q ? `Contacts matching “${q}”` : 'Newest contacts'}</caption>
<thead><tr><th scope="col">Contact</th><th scope="col">Name</th><th scope="col">Identities</th><th scope="col">Open leads</th><th scope="col">Open cases</th></tr></thead>
<tbody>${found.map((c) => html`<tr id="contact-${c.id}"><th scope="row">Contact ${c.id}</th><td>${c.name ?? ''}</td><td>${identities(c)}</td><td>${c.openLeads}</td><td>${c.openCases}</td></tr>`)}</tbody></table>
<h2>Merge suggestions</h2>
${
  suggestions.length > 0
    ? html`<table class="grid"><caption>Contacts that are probably one person</caption>
<thead><tr><th scope="col">Keep</th><th scope="col">Merge into it</th><th scope="col">Why</th><th scope="col">Action</th></tr></thead>
<tbody>${suggestions.map(
        (
          s,
        ) => html`<tr id="suggestion-${s.contactId}-${s.otherContactId}"><td>Contact ${s.contactId}</td><td>Contact ${s.otherContactId}</td><td>${s.reason}: ${s.evidence}</td>
<td>${actionForm(ctx, '/merges', 'Merge', html`<input type="hidden" name="survivorId" value="${s.contactId}"><input type="hidden" name="mergedId" value="${s.otherContactId}">`, `Merge contact ${s.otherContactId} into contact ${s.contactId}`)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">No suggestions.</p>`
}
<h2>Merge history</h2>
${
  merges.length > 0
    ? html`<table class="grid"><caption>Merges, newest first</caption>
<thead><tr><th scope="col">Merge</th><th scope="col">Kept</th><th scope="col">Merged</th><th scope="col">When</th><th scope="col">Action</th></tr></thead>
<tbody>${merges.map(
        (
          m,
        ) => html`<tr id="merge-${m.id}"><th scope="row">Merge ${m.id}</th><td>Contact ${m.survivorId} ${m.survivorName ?? ''}</td><td>Contact ${m.mergedId} ${m.mergedName ?? ''}</td><td>${when(m.createdAt)}</td>
<td>${m.undoneAt ? html`undone ${when(m.undoneAt)}` : actionForm(ctx, `/merges/${m.id}/undo`, 'Undo', html``, `Undo merge ${m.id}`)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">No merges yet.</p>`
}`,
  );
}
