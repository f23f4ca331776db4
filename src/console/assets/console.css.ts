/** The console's stylesheet, served as /assets/console.css (a module, so the build ships it in dist/). */
export const CONSOLE_CSS = String.raw`/* Social capture console: readable, high contrast, visible focus; no external fonts or images. */
:root { --fg: #1b1f24; --muted: #57606a; --bg: #fff; --line: #d0d7de; --accent: #0550ae; --bad: #a40e26; --ok: #116329; --mark: #fff1a8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 6px 10px; z-index: 10; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 8px 16px; border-bottom: 1px solid var(--line); background: #f6f8fa; }
.brand { font-weight: 700; }
.top nav ul { display: flex; gap: 4px; list-style: none; margin: 0; padding: 0; }
.top nav a { display: inline-block; padding: 6px 10px; border-radius: 6px; text-decoration: none; }
.top nav a[aria-current="page"] { background: var(--accent); color: #fff; }
.signout { margin-left: auto; }
main { padding: 12px 16px 48px; max-width: 1200px; }
h1 { font-size: 1.6rem; margin: 8px 0 12px; }
h2 { font-size: 1.15rem; margin: 20px 0 8px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; margin: 10px 0; }
.card h2 { margin: 0 0 4px; font-size: 1.05rem; }
.meta, .muted { color: var(--muted); }
.score { font-weight: 400; color: var(--muted); font-size: .9rem; }
blockquote.post { margin: 6px 0; padding: 6px 10px; border-left: 4px solid var(--line); background: #fafbfc; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 24em; overflow: auto; }
.post-text { unicode-bidi: isolate; }
mark { background: var(--mark); padding: 0 1px; }
.ctl { color: var(--bad); font-family: monospace; font-size: .85em; }
.more { color: var(--muted); font-size: .9em; }
form.inline { display: inline-flex; flex-wrap: wrap; align-items: center; gap: 6px; margin: 4px 12px 4px 0; }
.actions { display: flex; flex-wrap: wrap; align-items: center; }
.filters { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-bottom: 8px; }
.stack { display: flex; flex-direction: column; gap: 6px; max-width: 900px; }
.login { max-width: 360px; }
.row { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
textarea, input, select, button { font: inherit; }
textarea { width: 100%; font-family: ui-monospace, monospace; font-size: 13px; }
button { padding: 4px 12px; border: 1px solid #1f2328; border-radius: 6px; background: #f6f8fa; cursor: pointer; }
button:hover { background: #eaeef2; }
table.grid { border-collapse: collapse; width: 100%; margin: 8px 0; }
table.grid caption { text-align: left; color: var(--muted); padding: 4px 0; }
table.grid th, table.grid td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
.excerpt { font-size: .9em; }
.overdue { color: var(--bad); }
.overdue-row { background: #fff5f5; }
.flash { padding: 8px 12px; border-radius: 6px; }
.flash.ok { background: #dafbe1; color: var(--ok); }
.flash.error { background: #ffebe9; color: var(--bad); }
.problems .where { font-weight: 600; }
.ok { color: var(--ok); }
code.new { background: #dafbe1; }
code.gone { background: #ffebe9; text-decoration: line-through; }
.thread { list-style: none; padding: 0; }
.thread .reply { margin-left: 28px; }
pre.yaml { background: #f6f8fa; padding: 10px; overflow: auto; }
.chart { margin: 6px 0; }
.chart figcaption { font-size: .9em; color: var(--muted); }
.bars { background: #f6f8fa; max-width: 100%; height: auto; }
.bars.lead rect { fill: #0550ae; }
.bars.case rect { fill: #a40e26; }
.bars.none rect { fill: #8c959f; }
.live { max-height: 20em; overflow: auto; font-size: .92em; }
.terms { margin: 0 0 6px; padding-left: 20px; font-size: .9em; }
`;
