import type { OpeningPost } from '../../db/console.repo.js';
import { html, type Html } from '../html.js';
import { authorLink, fullPost, matchedText, ruleList, wrongLabelForm } from './common.js';
import { actionForm, duration, page, versionLink, when, type PageContext } from './layout.js';

/** A case as crm.repo reads it. */
export type CaseRow = Record<string, any> & { id: number; status: string; priority: string; resolveBy: string };

export interface CaseFilters {
  status?: string | undefined;
  priority?: string | undefined;
  platform?: string | undefined;
}

/** The buttons a case's status allows. */
export function caseActions(ctx: PageContext, c: CaseRow): Html {
  const b = (action: string, label: string) => actionForm(ctx, `/cases/${c.id}/${action}`, label, html``, `${label} case ${c.id}`);
  const open = c.status === 'new' || c.status === 'in_progress';
  return html`<div class="actions">${c.status === 'new' ? b('start', 'Start') : ''}${open ? html`${b('resolve', 'Resolve')}${b('cancel', 'Cancel')}` : b('reopen', 'Reopen')}</div>`;
}

function sla(c: CaseRow, now: number): Html {
  if (c.status !== 'new' && c.status !== 'in_progress') return html`<span class="muted">—</span>`;
  const left = Date.parse(c.resolveBy) - now;
  return left < 0 ? html`<strong class="overdue">Overdue by ${duration(left)}</strong>` : html`${duration(left)} left`;
}

function filterForm(f: CaseFilters): Html {
  const select = (name: string, label: string, options: string[], value: string | undefined) =>
    html`<label for="f-${name}">${label}</label> <select id="f-${name}" name="${name}"><option value="">${name === 'status' ? 'open (new or in progress)' : 'any'}</option>${options.map((o) => html`<option value="${o}"${value === o ? html` selected` : ''}>${o}</option>`)}</select>`;
  return html`<form method="get" action="/cases" class="filters" aria-label="Filter cases">
${select('status', 'Status', ['new', 'in_progress', 'resolved', 'cancelled'], f.status)}
${select('priority', 'Priority', ['urgent', 'high', 'normal', 'low'], f.priority)}
${select('platform', 'Platform', ['twitter', 'facebook'], f.platform)}
<button type="submit">Filter</button></form>`;
}

/** Cases: the queue by priority then resolve-by, time to SLA breach, overdue marked, the transitions. */
export function casesPage(ctx: PageContext, cases: CaseRow[], posts: Map<number, OpeningPost>, f: CaseFilters, now: number): Html {
  const rows = cases.map((c) => {
    const p = posts.get(c.id);
    const overdue = (c.status === 'new' || c.status === 'in_progress') && Date.parse(c.resolveBy) < now;
    return html`<tr id="case-${c.id}"${overdue ? html` class="overdue-row"` : ''}>
<th scope="row"><a href="/cases/${c.id}">Case ${c.id}</a></th>
<td>${c.priority}</td><td>${c.status.replace('_', ' ')}</td>
<td>${p ? html`${authorLink(p)} · ${p.platform}<br><span class="excerpt">${matchedText(p.text, p.decision, 160)}</span>` : c.title}</td>
<td>${when(c.resolveBy)}</td><td>${sla(c, now)}</td><td>${caseActions(ctx, c)}</td></tr>`;
  });
  return page(
    ctx,
    'Cases',
    html`${filterForm(f)}
<table class="grid"><caption>${cases.length} case(s), by priority then resolve-by</caption>
<thead><tr><th scope="col">Case</th><th scope="col">Priority</th><th scope="col">Status</th><th scope="col">Customer and post</th><th scope="col">Resolve by</th><th scope="col">Time to SLA breach</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows}</tbody></table>`,
  );
}

/** A case: the thread, the customer's other recent cases, entitlement, priority reason, transitions. */
export function casePage(
  ctx: PageContext,
  c: CaseRow & { postList: Record<string, any>[]; otherRecentCases: Record<string, any>[]; entitlements: Record<string, any>[] },
  now: number,
): Html {
  return page(
    ctx,
    `Case ${c.id}`,
    html`<p class="meta">Status <strong>${c.status.replace('_', ' ')}</strong> · priority <strong>${c.priority}</strong>${c.priorityReason ? html` (${c.priorityReason})` : ''} · ${c.origin} · resolve by ${when(c.resolveBy)} · ${sla(c, now)}${c.reopenCount > 0 ? html` · reopened ${c.reopenCount}×` : ''}</p>
<p class="meta">Rules ${ruleList(c.rules)} · decided by ${versionLink(c.rulesetVersion)}</p>
${caseActions(ctx, c)}
<h2>Thread</h2>
<ol class="thread">${c.postList.map(
      (
        p,
        i,
      ) => html`<li${i > 0 ? html` class="reply"` : ''}><article class="card" aria-label="Post ${p.id}"><p class="meta">${i > 0 ? 'Reply · ' : ''}${p.platform} · ${when(p.receivedAt)} · label ${p.label ?? 'undecided'}</p>
${fullPost(p.text, p.decision)}${wrongLabelForm(ctx, p.id)}</article></li>`,
    )}</ol>
<h2>Entitlement</h2>
${c.entitlements.length > 0 ? html`<ul>${c.entitlements.map((e) => html`<li>${e.name} (${e.accountId ? `account ${e.accountId}` : `contact ${e.contactId}`}) until ${when(e.endsAt)}</li>`)}</ul>` : html`<p class="muted">No active entitlement.</p>`}
<h2>Other recent cases of this customer</h2>
${c.otherRecentCases.length > 0 ? html`<ul>${c.otherRecentCases.map((o) => html`<li><a href="/cases/${o.id}">Case ${o.id}</a> · ${o.status} · ${o.priority} · ${when(o.createdAt)}</li>`)}</ul>` : html`<p class="muted">None in the last 90 days.</p>`}`,
    { section: 'Cases' },
  );
}
