/**
 * HTML by template literal with one escaping rule: every interpolated value is escaped unless it is already
 * {@link Html} (made by {@link html} itself). Post text, names and messages can therefore never become markup.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for an element's content or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function part(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(part).join('');
  return escapeHtml(value);
}

/** A tagged template: `html\`<p>${text}</p>\``; arrays are joined, null/undefined/false render nothing. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += part(v) + strings[i + 1]!;
  });
  return new Html(out);
}

// Bidirectional controls (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI) would reorder what follows them.
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;

/**
 * Post text for display: escaped, bidirectional controls shown as visible `[U+202E]` marks instead of obeyed, and
 * isolated in a `<bdi>` so a right-to-left post cannot reorder the page around it. Over `max` characters the rest is
 * cut and counted.
 */
export function postText(text: string, max = Number.POSITIVE_INFINITY): Html {
  const shown = text.length > max ? text.slice(0, max) : text;
  const rest = text.length - shown.length;
  return html`<bdi class="post-text">${visibleControls(shown)}</bdi>${rest > 0 ? html`<span class="more"> … (${rest.toLocaleString('en')} more characters)</span>` : ''}`;
}

/** Escape, with bidirectional controls replaced by visible marks. */
export function visibleControls(text: string): Html {
  const pieces: Html[] = [];
  let last = 0;
  for (const m of text.matchAll(BIDI)) {
    pieces.push(html`${text.slice(last, m.index)}<span class="ctl">[U+${m[0].codePointAt(0)!.toString(16).toUpperCase()}]</span>`);
    last = m.index + m[0].length;
  }
  pieces.push(html`${text.slice(last)}`);
  return html`${pieces}`;
}

/** A span of text the rules matched: [start, end) offsets. */
export interface Span {
  start: number;
  end: number;
  term: string;
}

/** `text` with each span wrapped in `<mark>` (overlaps merged), the rest escaped; cut at `max` characters. */
export function highlight(text: string, spans: readonly Span[], max = 600): Html {
  const shown = text.slice(0, max);
  const sorted = [...spans].filter((s) => s.start < shown.length && s.end > s.start).sort((a, b) => a.start - b.start);
  const pieces: Html[] = [];
  let at = 0;
  for (const s of sorted) {
    const start = Math.max(s.start, at);
    const end = Math.min(s.end, shown.length);
    if (end <= start) continue;
    pieces.push(html`${visibleControls(shown.slice(at, start))}<mark title="${s.term}">${visibleControls(shown.slice(start, end))}</mark>`);
    at = end;
  }
  pieces.push(visibleControls(shown.slice(at)));
  const rest = text.length - shown.length;
  return html`<bdi class="post-text">${pieces}</bdi>${rest > 0 ? html`<span class="more"> … (${rest.toLocaleString('en')} more characters)</span>` : ''}`;
}
