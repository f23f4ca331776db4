/**
 * A one-line progress display on a TTY (stderr, redrawn in place); nothing when stderr is not a
 * TTY or the output is JSON, so pipes and logs stay clean.
 */
export function createProgress(enabled: boolean) {
  const tty = enabled && process.stderr.isTTY === true;
  let last = 0;
  return {
    update(text: string) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      process.stderr.write(`\r\x1b[2K${text}`);
    },
    done() {
      if (tty) process.stderr.write('\r\x1b[2K');
    },
  };
}
