import type { decisionsPerHour } from '../../db/console.repo.js';
import { html, type Html } from '../html.js';
import { page, type PageContext } from './layout.js';

type Count = Awaited<ReturnType<typeof decisionsPerHour>>[number];

const LABELS = ['lead', 'case', 'none'] as const;
const PLATFORMS = ['twitter', 'facebook'] as const;
const HOUR = 3_600_000;

/**
 * One bar chart per platform and label: a bar per hour over the window, each row scaled to its own peak (none
 * outnumbers leads and cases by far). Inline SVG, rendered here: nothing to fetch, no script.
 */
export function hourlyChart(counts: readonly Count[], endHour: number, hours: number): Html {
  const at = new Map(counts.map((c) => [`${c.platform}|${c.label}|${Date.parse(c.hour)}`, c.n]));
  const start = endHour - (hours - 1) * HOUR;
  const W = 3;
  const H = 40;
  const rows = PLATFORMS.flatMap((platform) =>
    LABELS.map((label) => {
      const series = Array.from({ length: hours }, (_, i) => at.get(`${platform}|${label}|${start + i * HOUR}`) ?? 0);
      const peak = Math.max(1, ...series);
      const total = series.reduce((a, b) => a + b, 0);
      const id = `chart-${platform}-${label}`;
      return html`<figure class="chart"><figcaption id="${id}">${platform} · ${label}: ${total} in 7 days, peak ${peak} an hour</figcaption>
<svg role="img" aria-labelledby="${id}" viewBox="0 0 ${hours * W} ${H}" width="${hours * W}" height="${H}" class="bars ${label}">
${series.map((n, i) => (n === 0 ? '' : html`<rect x="${i * W}" y="${H - (n / peak) * H}" width="${W - 1}" height="${(n / peak) * H}"><title>${new Date(start + i * HOUR).toISOString().slice(0, 13)}:00 UTC: ${n}</title></rect>`))}
</svg></figure>`;
    }),
  );
  return html`${rows}`;
}

/** Activity: decisions as they happen (server-sent events) and the hourly counts of the last 7 days. */
export function activityPage(ctx: PageContext, counts: readonly Count[], now: number): Html {
  const endHour = Math.floor(now / HOUR) * HOUR;
  return page(
    ctx,
    'Activity',
    html`<section aria-labelledby="live-h"><h2 id="live-h">Decisions as they happen</h2>
<p id="live-state" class="muted" aria-live="polite">Connecting…</p>
<ol id="live" class="live" aria-live="polite" aria-relevant="additions"></ol></section>
<section aria-labelledby="hourly-h"><h2 id="hourly-h">Per hour, last 7 days</h2>
${hourlyChart(counts, endHour, 7 * 24)}</section>`,
  );
}
