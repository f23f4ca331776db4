import { normalizeText } from '../../classifier/index.js';
import type { OpeningPost } from '../../db/console.repo.js';
import { highlight, html, postText, visibleControls, type Html, type Span } from '../html.js';
import { actionForm, postUrl, type PageContext } from './layout.js';

/** A fired rule as stored on a lead, a case or a post's decision. */
export interface StoredRule {
  id: string;
  weight?: number;
  terms?: { term: string; start: number; end: number }[];
}

/** Rule ids as code chips. */
export function ruleList(rules: unknown): Html {
  const list = Array.isArray(rules) ? (rules as StoredRule[]) : [];
  if (list.length === 0) return html`<span class="muted">none</span>`;
  return html`${list.map((r, i) => html`${i > 0 ? ', ' : ''}<code>${r.id}</code>`)}`;
}

/** "@handle (Name)" linked to the post on its platform. */
export function authorLink(p: Pick<OpeningPost, 'platform' | 'externalId' | 'handle' | 'name' | 'authorId'>): Html {
  const who = p.handle ? `@${p.handle}` : (p.name ?? p.authorId ?? 'unknown author');
  return html`<a href="${postUrl(p.platform, p.externalId, p.handle)}" rel="noopener noreferrer">${who}</a>${p.handle && p.name ? html` <span class="name">${p.name}</span>` : ''}`;
}

/**
 * A post's text as the rules read it (normalized: the offsets of matched terms are into that text), each matched
 * term marked; cut at `max` characters.
 */
export function matchedText(text: string, decision: OpeningPost['decision'], max = 600): Html {
  const spans: Span[] = (decision?.rules ?? []).flatMap((r) => (r.terms ?? []).map((t) => ({ start: t.start, end: t.end, term: `${r.id}: ${t.term}` })));
  if (spans.length === 0) return postText(text, max);
  return highlight(normalizeText(text).text, spans, max);
}

/** A post in full (up to `max` characters), as written, then the terms the rules matched in it. */
export function fullPost(text: string, decision: OpeningPost['decision'], max = 20_000): Html {
  const terms = (decision?.rules ?? []).flatMap((r) =>
    (r.terms ?? []).map((t) => html`<li><code>${r.id}</code>: <mark>${visibleControls(t.term)}</mark></li>`),
  );
  return html`<blockquote class="post">${postText(text, max)}</blockquote>${terms.length > 0 ? html`<ul class="terms" aria-label="Matched terms">${terms}</ul>` : ''}`;
}

/** The "Wrong label" form of one post: the correct label and a note, recorded as label feedback. */
export function wrongLabelForm(ctx: PageContext, postId: number): Html {
  const id = `wl-${postId}`;
  return actionForm(
    ctx,
    `/posts/${postId}/feedback`,
    'Wrong label',
    html`<label for="${id}-label">Correct label</label>
<select id="${id}-label" name="label"><option value="lead">lead</option><option value="case">case</option><option value="none">none</option></select>
<label for="${id}-note">Note</label> <input id="${id}-note" name="note" maxlength="1000">`,
    `Wrong label for post ${postId}`,
  );
}
