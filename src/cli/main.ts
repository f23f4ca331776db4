import { ConfigError, describeError, UsageError } from '../errors.js';
import { backtestCommand } from './backtest.command.js';
import { classifyCommand } from './classify.command.js';
import { diffCommand } from './diff.command.js';
import { evalCommand } from './eval.command.js';
import { forgetCommand } from './forget.command.js';
import { importCommand } from './import.command.js';
import { migrateCommand } from './migrate.command.js';
import { recordsCommand } from './records.command.js';
import { rulesCommand } from './rules.command.js';
import { startCommand } from './start.command.js';

const HELP = `usage: capture <command> [options] [--json]

  start [--role all|poller|worker|api]  run the service (npm start)
  migrate                            apply database migrations (idempotent)
  import FILE                        import posts from a JSON Lines file
  posts [--status pending|processed|failed] [--limit N]
  leads | cases | contacts [--limit N]
  sources                            each source's cursor and health
  classify [--rules FILE] TEXT       decide one text and explain why
  eval --rules FILE [--map M.json] [--predictions OUT.jsonl] DATA.jsonl
                                     score rules on labeled posts
  diff --rules OLD --against NEW DATA.jsonl
                                     which posts change label, and why
  backtest --rules FILE [--since 7d|all]
                                     re-decide stored posts (writes nothing)
  rules report [--limit N] [--wrong N]
                                     per rule: times fired, precision against corrections, posts it got wrong
  forget --platform P --user-id ID [--mode delete|anonymize]
                                     erase a person: posts, identities, contact data (one transaction)

Every command takes --json. Exit 0 on success, 1 on failure, 2 on bad usage.`;

/** Run one CLI command; returns the exit code. Errors become one line on stderr, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const rest = argv.filter((a) => a !== '--json');
  const [command, ...args] = rest;
  try {
    switch (command) {
      case 'start':
        return await startCommand(args);
      case 'migrate':
        return await migrateCommand(args, json);
      case 'import':
        return await importCommand(args, json);
      case 'posts':
      case 'leads':
      case 'cases':
      case 'contacts':
      case 'sources':
        return await recordsCommand(command, args, json);
      case 'classify':
        return await classifyCommand(args, json);
      case 'eval':
        return await evalCommand(args, json);
      case 'diff':
        return await diffCommand(args, json);
      case 'backtest':
        return await backtestCommand(args, json);
      case 'forget':
        return await forgetCommand(args, json);
      case 'rules':
        return await rulesCommand(args, json);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${HELP}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}; see capture --help`);
    }
  } catch (err) {
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const message = err instanceof ConfigError || usage ? (err as Error).message : describeError(err);
    if (json) process.stderr.write(`${JSON.stringify({ error: message })}\n`);
    else process.stderr.write(`capture: ${message}\n`);
    return usage ? 2 : 1;
  }
}
