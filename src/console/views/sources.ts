import type { SourceConfig } from '../../config.js';
import type { sourceHealth } from '../../db/console.repo.js';
import { html, type Html } from '../html.js';
import { actionForm, duration, page, when, type PageContext } from './layout.js';

type Health = Awaited<ReturnType<typeof sourceHealth>>[number];

/** Sources: each configured source with its health, and Retry now for an unhealthy or blocked one. */
export function sourcesPage(ctx: PageContext, configured: readonly SourceConfig[], health: Health[], now: number): Html {
  const byId = new Map(health.map((h) => [h.sourceId, h]));
  const ids = [...new Set([...configured.map((s) => s.id), ...health.map((h) => h.sourceId)])];
  const rows = ids.map((id) => {
    const s = configured.find((c) => c.id === id);
    const h = byId.get(id);
    const blocked = h?.blockedUntil && Date.parse(h.blockedUntil) > now;
    // Unhealthy, blocked, or its last poll failed: worth a retry now.
    const failing = h?.lastErrorAt != null && (h.lastSuccessAt == null || Date.parse(h.lastErrorAt) > Date.parse(h.lastSuccessAt));
    const unhealthy = h ? !h.healthy || blocked || failing : false;
    return html`<tr id="source-${id}"><th scope="row"><code>${id}</code></th><td>${s?.platform ?? '—'}</td><td>${s?.kind ?? '(not configured)'}</td>
<td>${h ? (h.healthy ? 'healthy' : html`<strong class="overdue">unhealthy</strong>`) : html`<span class="muted">not polled yet</span>`}</td>
<td>${when(h?.lastSuccessAt)}</td><td>${h?.lastError ? html`${when(h.lastErrorAt)}: ${h.lastError}` : html`<span class="muted">none</span>`}</td>
<td>${blocked ? when(h.blockedUntil) : html`<span class="muted">no</span>`}</td><td>${when(h?.nextPollAt)}</td><td>${h?.postsFetched ?? 0}</td>
<td>${h?.lastSuccessAt ? duration(now - Date.parse(h.lastSuccessAt)) : '—'}</td>
<td>${unhealthy ? actionForm(ctx, `/sources/${encodeURIComponent(id)}/retry`, 'Retry now', html``, `Retry ${id} now`) : ''}</td></tr>`;
  });
  return page(
    ctx,
    'Sources',
    html`<table class="grid"><caption>${ids.length} source(s)</caption>
<thead><tr><th scope="col">Source</th><th scope="col">Platform</th><th scope="col">Kind</th><th scope="col">Health</th><th scope="col">Last success</th><th scope="col">Last error</th><th scope="col">Blocked until</th><th scope="col">Next poll</th><th scope="col">Posts fetched</th><th scope="col">Lag</th><th scope="col">Action</th></tr></thead>
<tbody>${rows}</tbody></table>
<p class="muted">Lag: time since the last successful poll.</p>`,
  );
}
