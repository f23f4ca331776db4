import { describe, expect, it } from 'vitest';
import { escapeHtml, highlight, html, postText } from '../../src/console/html.js';
import { Sessions, parseCookies } from '../../src/console/session.js';

describe('console HTML', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['<img src=x onerror="a()">', '&lt;img src=x onerror=&quot;a()&quot;&gt;'],
    ["it's & done", 'it&#39;s &amp; done'],
  ])('escapes %s', (input, out) => {
    expect(escapeHtml(input)).toBe(out);
    expect(html`<p title="${input}">${input}</p>`.value).toBe(`<p title="${out}">${out}</p>`);
  });

  it('passes markup made by html itself, joins arrays, drops null and false', () => {
    expect(html`<ul>${['a<', 'b'].map((x) => html`<li>${x}</li>`)}${null}${false}</ul>`.value).toBe('<ul><li>a&lt;</li><li>b</li></ul>');
  });

  it('shows bidirectional controls as marks, isolated, and cuts long text saying how much more', () => {
    expect(postText('a\u202Eb\u2066c').value).toBe('<bdi class="post-text">a<span class="ctl">[U+202E]</span>b<span class="ctl">[U+2066]</span>c</bdi>');
    expect(postText('x'.repeat(1010), 1000).value).toContain('(10 more characters)');
  });

  it('marks matched spans at their offsets, escaping around them', () => {
    expect(highlight('<b> how much is it', [{ start: 4, end: 12, term: 'how much' }]).value).toBe(
      '<bdi class="post-text">&lt;b&gt; <mark title="how much">how much</mark> is it</bdi>',
    );
  });
});

describe('console sessions', () => {
  const sessions = new Sessions('token-a', 1000);

  it('reads back its own cookie, with the CSRF token bound to the session', () => {
    const { session, cookie } = sessions.create('Anna', 0);
    expect(sessions.read(cookie, 10)).toEqual(session);
    expect(sessions.checkCsrf(session, sessions.csrf(session))).toBe(true);
    expect(sessions.checkCsrf(session, sessions.csrf({ ...session, id: 'other' }))).toBe(false);
    expect(sessions.checkCsrf(session, undefined)).toBe(false);
  });

  it('refuses a forged, re-signed, tampered or expired cookie', () => {
    const { cookie } = sessions.create('Anna', 0);
    const [payload, mac] = cookie.split('.');
    const forged = Buffer.from(JSON.stringify({ id: 'x', name: 'Eve', expiresAt: 10_000 })).toString('base64url');
    expect(sessions.read(`${forged}.${mac}`, 10)).toBeNull();
    expect(sessions.read(new Sessions('token-b', 1000).create('Eve', 0).cookie, 10)).toBeNull();
    expect(sessions.read(`${payload}.${mac}x`, 10)).toBeNull();
    expect(sessions.read(cookie, 1001)).toBeNull();
    expect(sessions.read(undefined)).toBeNull();
  });

  it('parses a Cookie header', () => {
    expect(parseCookies('a=1; capture_session=x.y%3D; bad')).toEqual({ a: '1', capture_session: 'x.y=' });
  });
});
