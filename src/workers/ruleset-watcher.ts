import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadRuleset, type Ruleset } from '../classifier/index.js';
import type { Logger } from '../logger.js';

export interface RulesetWatcherOptions {
  /** The rules file the service decides with. */
  path: string;
  /** The ruleset in force now (loaded at start). */
  current: Ruleset;
  /** Put a new, valid ruleset in force (the capture worker's `setRuleset`). */
  apply: (ruleset: Ruleset) => void;
  log: Logger;
  /** Wait this long after the last change before reading: editors write a file in several steps. @defaultValue 250 */
  debounceMs?: number;
}

export interface RulesetWatcher {
  /** Read the file now; returns the ruleset in force afterwards. */
  reload(): Ruleset;
  close(): void;
}

/**
 * Watch the rules file and put each new valid version in force without a restart. A file that fails
 * validation is refused with its error logged, and the ruleset in force stays. The directory is watched, not
 * the file, because editors and `mv` replace the file (a new inode) rather than write into it.
 */
export function watchRuleset(opts: RulesetWatcherOptions): RulesetWatcher {
  const log = opts.log.child({ component: 'rules' });
  const name = basename(opts.path);
  let current = opts.current;
  let timer: NodeJS.Timeout | undefined;

  const reload = (): Ruleset => {
    let next: Ruleset;
    try {
      next = loadRuleset(opts.path);
    } catch (err) {
      // The message names the file, the rule and the field, one problem a line.
      log.error({ path: opts.path, keeping: current.version, problems: (err as Error).message.split('\n') }, 'rules file refused');
      return current;
    }
    if (next.version !== current.version) {
      const from = current.version;
      current = next;
      opts.apply(next);
      log.info({ path: opts.path, from, to: next.version, rules: next.rules.length }, 'rules reloaded');
    }
    return current;
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(opts.path), { persistent: false }, (_event, file) => {
      if (file !== null && file !== name) return;
      clearTimeout(timer);
      timer = setTimeout(reload, opts.debounceMs ?? 250);
      timer.unref();
    });
    watcher.on('error', (err) => log.warn({ path: opts.path, err }, 'rules file watch failed; restart to change rules'));
  } catch (err) {
    log.warn({ path: opts.path, err }, 'cannot watch the rules file; restart to change rules');
  }

  return {
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
