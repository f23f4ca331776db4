/**
 * A one-line progress display on a TTY (stderr, redrawn in place); nothing when stderr is not a
 * TTY or the output is JSON, so pipes and logs stay clean.
 *
 * @param delayMs - draw nothing until the run has lasted this long, so quick runs stay quiet. @defaultValue 0
 */
export function createProgress(enabled: boolean, delayMs = 0) {
  const tty = enabled && process.stderr.isTTY === true;
  const started = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update(text: string) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 || now - started < delayMs) return;
      last = now;
      drawn = true;
      process.stderr.write(`\r\x1b[2K${text}`);
    },
    done() {
      if (tty && drawn) process.stderr.write('\r\x1b[2K');
    },
  };
}

/** "[########------------]  40%  400/1000 posts" for a progress line. */
export function progressBar(done: number, total: number, unit: string, width = 24): string {
  const share = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}%  ${done}/${total} ${unit}`;
}
