import { DISQUALIFY_REASONS } from '../../db/crm.repo.js';
import type { OpeningPost } from '../../db/console.repo.js';
import { html, postText, type Html } from '../html.js';
import { authorLink, fullPost, matchedText, ruleList, wrongLabelForm } from './common.js';
import { actionForm, page, versionLink, when, type PageContext } from './layout.js';

/** A lead as the list reads it (crm.repo listLeads/getLead). */
export type LeadRow = Record<string, any> & { id: number; status: string; score: number; rulesetVersion: string; rules: unknown };

export interface LeadFilters {
  platform?: string | undefined;
  source?: string | undefined;
  minScore?: number | undefined;
  rule?: string | undefined;
}

function qualifyForm(ctx: PageContext, id: number): Html {
  const f = `q-${id}`;
  return actionForm(
    ctx,
    `/leads/${id}/qualify`,
    'Qualify',
    html`<label for="${f}-kind">Customer type</label>
<select id="${f}-kind" name="kind"><option value="b2c">B2C (a person)</option><option value="b2b">B2B (a company)</option></select>
<label for="${f}-account">Company (B2B)</label> <input id="${f}-account" name="account" maxlength="200">
<label for="${f}-value">Estimated value</label> <input id="${f}-value" name="value" type="number" min="0" step="0.01" inputmode="decimal">`,
    `Qualify lead ${id}`,
  );
}

function disqualifyForm(ctx: PageContext, id: number): Html {
  const f = `d-${id}`;
  return actionForm(
    ctx,
    `/leads/${id}/disqualify`,
    'Disqualify',
    html`<label for="${f}-reason">Reason</label>
<select id="${f}-reason" name="reason">${DISQUALIFY_REASONS.map((r) => html`<option value="${r}">${r.replace('_', ' ')}</option>`)}</select>`,
    `Disqualify lead ${id}`,
  );
}

function filterForm(f: LeadFilters): Html {
  return html`<form method="get" action="/leads" class="filters" aria-label="Filter leads">
<label for="f-platform">Platform</label>
<select id="f-platform" name="platform"><option value="">any</option>${['twitter', 'facebook'].map((p) => html`<option value="${p}"${f.platform === p ? html` selected` : ''}>${p}</option>`)}</select>
<label for="f-source">Source</label> <input id="f-source" name="source" value="${f.source ?? ''}" maxlength="100">
<label for="f-score">Score at least</label> <input id="f-score" name="minScore" type="number" step="0.1" value="${f.minScore ?? ''}">
<label for="f-rule">Rule</label> <input id="f-rule" name="rule" value="${f.rule ?? ''}" maxlength="100">
<button type="submit">Filter</button></form>`;
}

/** Leads: the open leads, newest first, each with author, marked post, rules and score, Qualify and Disqualify. */
export function leadsPage(ctx: PageContext, leads: LeadRow[], posts: Map<number, OpeningPost>, f: LeadFilters): Html {
  const items = leads.map((l) => {
    const p = posts.get(l.id);
    return html`<article class="card" id="lead-${l.id}" aria-labelledby="lead-${l.id}-h">
<h2 id="lead-${l.id}-h"><a href="/leads/${l.id}">Lead ${l.id}</a> <span class="score">score ${l.score.toFixed(2)}</span></h2>
${
  p
    ? html`<p class="meta">${authorLink(p)} · ${p.platform} · source <code>${p.sourceId}</code> · ${when(l.createdAt)}</p>
<blockquote class="post">${matchedText(p.text, p.decision)}</blockquote>`
    : ''
}
<p class="meta">Rules: ${ruleList(l.rules)} · decided by ${versionLink(l.rulesetVersion)} · ${l.posts} post(s)</p>
<div class="actions">${qualifyForm(ctx, l.id)}${disqualifyForm(ctx, l.id)}</div>
</article>`;
  });
  return page(
    ctx,
    'Leads',
    html`${filterForm(f)}<p class="muted">${leads.length} open lead(s), newest first.</p>${items.length > 0 ? items : html`<p>No open leads.</p>`}`,
  );
}

/** A lead: its posts (each with Wrong label), the author's contact, their other posts, history and actions. */
export function leadPage(
  ctx: PageContext,
  lead: LeadRow & { postList: Record<string, any>[] },
  contact: Record<string, any> | null,
  otherPosts: Record<string, any>[],
): Html {
  const open = lead.status === 'open';
  return page(
    ctx,
    `Lead ${lead.id}`,
    html`<p class="meta">Status <strong>${lead.status}</strong>${lead.disqualifyReason ? html` (${lead.disqualifyReason})` : ''} · ${lead.source} · score ${lead.score.toFixed(2)} · rules ${ruleList(lead.rules)} · decided by ${versionLink(lead.rulesetVersion)}</p>
${open ? html`<div class="actions">${qualifyForm(ctx, lead.id)}${disqualifyForm(ctx, lead.id)}</div>` : ''}
<h2>Posts</h2>
${lead.postList.map(
  (p) => html`<article class="card" aria-label="Post ${p.id}"><p class="meta">${p.platform} · ${when(p.receivedAt)} · label ${p.label ?? 'undecided'}</p>
${fullPost(p.text, p.decision)}${wrongLabelForm(ctx, p.id)}</article>`,
)}
<h2>Contact</h2>
${
  contact
    ? html`<p><strong>${contact.name ?? '(no name)'}</strong>${contact.email ? html` · ${contact.email}` : ''} · contact ${contact.id}</p>
<ul>${(contact.identities as { platform: string; handle: string | null; userId: string }[]).map((i) => html`<li>${i.platform}: ${i.handle ? `@${i.handle}` : ''} <span class="muted">(${i.userId})</span></li>`)}</ul>`
    : html`<p class="muted">No contact.</p>`
}
<h2>Other posts by this person</h2>
${otherPosts.length > 0 ? html`<ul>${otherPosts.map((p) => html`<li>${when(p.receivedAt)} · ${p.label ?? 'undecided'}${p.leadId ? html` · <a href="/leads/${p.leadId}">lead ${p.leadId}</a>` : ''}${p.caseId ? html` · <a href="/cases/${p.caseId}">case ${p.caseId}</a>` : ''}: ${postText(p.text, 280)}</li>`)}</ul>` : html`<p class="muted">None.</p>`}
<h2>History</h2>
<ul><li>Opened ${when(lead.createdAt)}</li><li>Last activity ${when(lead.lastActivityAt)}</li><li>Last change ${when(lead.updatedAt)} (${lead.status})</li>
${lead.opportunityId ? html`<li>Opportunity ${lead.opportunityId} created on qualifying</li>` : ''}</ul>`,
    { section: 'Leads' },
  );
}
