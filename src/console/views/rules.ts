import type { RuleProblem, RulesBacktest } from '../../api/rules.routes.js';
import type { Decision } from '../../classifier/index.js';
import type { RulesetVersionRow } from '../../db/ruleset-versions.repo.js';
import { html, postText, type Html } from '../html.js';
import { matchedText } from './common.js';
import { actionForm, csrfField, page, versionLink, when, type PageContext } from './layout.js';

export interface RulesView {
  live: { version: string; name: string; rules: number; yaml: string };
  history: RulesetVersionRow[];
  /** The editor's text (the draft, after an action on it; else the live YAML). */
  draft: string;
  days: number;
  problems?: RuleProblem[] | undefined;
  tried?: { text: string; decision: Decision } | undefined;
  backtest?: RulesBacktest | undefined;
  error?: string | undefined;
}

function problemList(problems: RuleProblem[] | undefined): Html {
  const items = (problems ?? []).map(
    (p) => html`<li><span class="where">${[p.rule, p.field && `field "${p.field}"`].filter(Boolean).join(' · ') || 'document'}</span>: ${p.message}</li>`,
  );
  return html`<div id="problems" aria-live="polite">${items.length > 0 ? html`<p>The draft does not validate:</p><ul class="problems">${items}</ul>` : problems ? html`<p class="ok">The draft is valid.</p>` : ''}</div>`;
}

function trace(t: NonNullable<RulesView['tried']>): Html {
  const d = t.decision;
  return html`<section aria-labelledby="trace-h"><h2 id="trace-h">Decision trace</h2>
<p>Label <strong>${d.label}</strong> · score ${d.score} (lead ${d.scores.lead}, case ${d.scores.case})${d.priority ? html` · priority ${d.priority}` : ''} · ruleset <code>${d.rulesetVersion}</code></p>
<blockquote class="post">${matchedText(t.text, d as never, 5000)}</blockquote>
<table class="grid"><caption>Rules that fired</caption><thead><tr><th scope="col">Rule</th><th scope="col">Label</th><th scope="col">Weight</th><th scope="col">Terms</th></tr></thead>
<tbody>${d.rules.map((r) => html`<tr><th scope="row"><code>${r.id}</code></th><td>${r.label}</td><td>${r.weight}</td><td>${r.terms.map((x) => x.term).join(', ')}</td></tr>`)}</tbody></table></section>`;
}

function backtestResult(b: RulesBacktest, days: number): Html {
  return html`<section aria-labelledby="bt-h"><h2 id="bt-h">Backtest</h2>
<p id="bt-summary"><strong>${b.changed}</strong> of ${b.posts} decisions of the last ${days} day(s) change · leads +${b.leads.appear} −${b.leads.disappear} · cases +${b.cases.appear} −${b.cases.disappear}</p>
<table class="grid"><caption>Changed posts (up to ${b.examples.length})</caption>
<thead><tr><th scope="col">Post</th><th scope="col">Text</th><th scope="col">Old → new</th><th scope="col">Rules before</th><th scope="col">Rules with the draft</th></tr></thead>
<tbody>${b.examples.map(
    (e) => html`<tr><th scope="row"><code>${e.id}</code></th><td>${postText(e.text, 280)}</td><td>${e.from} → ${e.to}</td>
<td>${e.storedRules.map((r) => html`<code${e.rules.includes(r) ? '' : html` class="gone"`}>${r}</code> `)}</td>
<td>${e.rules.map((r) => html`<code${e.storedRules.includes(r) ? '' : html` class="new"`}>${r}</code> `)}</td></tr>`,
  )}</tbody></table></section>`;
}

/** Rules: the live version and its history (Roll back), the editor, try a text, Backtest, Publish. */
export function rulesPage(ctx: PageContext, v: RulesView): Html {
  return page(
    ctx,
    'Rules',
    html`<p>Live version ${versionLink(v.live.version)} · ${v.live.rules} rules.</p>
${v.error ? html`<p class="flash error" role="alert">${v.error}</p>` : ''}
<form method="post" action="/rules/backtest" class="stack editor" aria-label="Rules editor">${csrfField(ctx)}
<label for="yaml">Ruleset (YAML)</label>
<textarea id="yaml" name="yaml" rows="24" spellcheck="false" aria-describedby="problems">${v.draft}</textarea>
${problemList(v.problems)}
<div class="row"><label for="days">Days of stored posts</label> <input id="days" name="days" type="number" min="1" max="365" value="${v.days}">
<button type="submit" formaction="/rules/backtest">Backtest</button>
<button type="submit" formaction="/rules/publish">Publish</button></div>
<label for="try-text">Try a text with the draft</label>
<textarea id="try-text" name="text" rows="3">${v.tried?.text ?? ''}</textarea>
<div class="row"><button type="submit" formaction="/rules/try">Try</button></div>
</form>
${v.tried ? trace(v.tried) : ''}
${v.backtest ? backtestResult(v.backtest, v.days) : ''}
<h2>History</h2>
<table class="grid"><caption>Published versions, newest first</caption>
<thead><tr><th scope="col">Version</th><th scope="col">Published</th><th scope="col">By</th><th scope="col">Action</th></tr></thead>
<tbody>${v.history.map(
      (h) => html`<tr id="version-${h.id}"><th scope="row">${versionLink(h.version)}</th><td>${when(h.publishedAt)}</td><td>${h.publishedBy}</td>
<td>${h.version === v.live.version ? html`<span>live</span>` : actionForm(ctx, '/rules/rollback', 'Roll back', html`<input type="hidden" name="version" value="${h.version}">`, `Roll back to ${h.version}`)}</td></tr>`,
    )}</tbody></table>`,
  );
}

/** One version's YAML. */
export function versionPage(ctx: PageContext, version: string, yaml: string, live: boolean): Html {
  return page(
    ctx,
    `Ruleset ${version}`,
    html`<p>${live ? 'This is the live version.' : html`Not live. ${actionForm(ctx, '/rules/rollback', 'Roll back', html`<input type="hidden" name="version" value="${version}">`, `Roll back to ${version}`)}`}</p>
<pre class="yaml" tabindex="0">${yaml}</pre>`,
    { section: 'Rules' },
  );
}
