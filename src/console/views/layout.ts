import { html, type Html } from '../html.js';

/** The pages, in navigation order: link text and heading are the same word. */
export const PAGES = [
  { path: '/leads', title: 'Leads' },
  { path: '/cases', title: 'Cases' },
  { path: '/contacts', title: 'Contacts' },
  { path: '/rules', title: 'Rules' },
  { path: '/sources', title: 'Sources' },
  { path: '/activity', title: 'Activity' },
] as const;

/** What every signed-in page gets: who is signed in, the CSRF token, a message from the last action. */
export interface PageContext {
  user: string;
  csrf: string;
  /** The path and query of this page, where an action on it returns to. */
  here: string;
  flash: { kind: 'ok' | 'error'; text: string } | null;
}

/** A whole page: navigation, the heading, the message of the last action, the body. */
export function page(ctx: PageContext | null, title: string, body: Html, opts: { section?: string } = {}): Html {
  const section = opts.section ?? title;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Social capture</title>
<link rel="stylesheet" href="/assets/console.css">
${ctx ? html`<meta name="csrf-token" content="${ctx.csrf}">` : ''}
<script src="/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">Social capture</span>
  ${
    ctx
      ? html`<nav aria-label="Main"><ul>${PAGES.map(
          (p) => html`<li><a href="${p.path}"${p.title === section ? html` aria-current="page"` : ''}>${p.title}</a></li>`,
        )}</ul></nav>
  <form method="post" action="/logout" class="signout">${csrfField(ctx)}<span>Signed in as ${ctx.user}</span> <button type="submit">Sign out</button></form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${ctx?.flash ? html`<p class="flash ${ctx.flash.kind}" role="${ctx.flash.kind === 'error' ? 'alert' : 'status'}">${ctx.flash.text}</p>` : ''}
${body}
</main>
</body>
</html>`;
}

/** The hidden fields every state-changing form carries: the CSRF token and where to come back to. */
export function csrfField(ctx: PageContext): Html {
  return html`<input type="hidden" name="_csrf" value="${ctx.csrf}"><input type="hidden" name="back" value="${ctx.here}">`;
}

/** A form with one button that POSTs to `action`; `fields` are extra controls before the button. */
export function actionForm(ctx: PageContext, action: string, button: string, fields: Html = html``, label?: string): Html {
  return html`<form method="post" action="${action}" class="inline"${label ? html` aria-label="${label}"` : ''}>${csrfField(ctx)}${fields}<button type="submit">${button}</button></form>`;
}

/** "3h 20m", "2d 4h", "45s": a duration for people. */
export function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

/** A time for people: `2026-12-02 17:20 UTC`, in a `<time>` element carrying the exact value. */
export function when(iso: string | null | undefined): Html {
  if (!iso) return html`<span class="muted">never</span>`;
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

/** The link to a post on its platform. */
export function postUrl(platform: string, externalId: string, handle: string | null): string {
  if (platform === 'twitter') return `https://x.com/${encodeURIComponent(handle ?? 'i')}/status/${encodeURIComponent(externalId)}`;
  return `https://www.facebook.com/${encodeURIComponent(externalId)}`;
}

/** A link to the ruleset version that made a decision. */
export function versionLink(version: string | null | undefined): Html {
  if (!version) return html`<span class="muted">unknown</span>`;
  return html`<a href="/rules/versions/${encodeURIComponent(version)}"><code>${version}</code></a>`;
}

/** The sign-in page. */
export function loginPage(nonce: string, error: string | null): Html {
  return page(
    null,
    'Sign in',
    html`${error ? html`<p class="flash error" role="alert">${error}</p>` : ''}
<form method="post" action="/login" class="stack login">
  <input type="hidden" name="_login" value="${nonce}">
  <label for="token">API token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required>
  <label for="name">Your name <span class="muted">(recorded with what you publish)</span></label>
  <input id="name" name="name" type="text" autocomplete="name" maxlength="100" required>
  <button type="submit">Sign in</button>
</form>`,
  );
}
