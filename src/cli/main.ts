import { ConfigError, describeError, UsageError } from '../errors.js';
import { backtestCommand } from './backtest.command.js';
import { classifyCommand } from './classify.command.js';
import { diffCommand } from './diff.command.js';
import { evalCommand } from './eval.command.js';
import { forgetCommand } from './forget.command.js';
import { importCommand } from './import.command.js';
import { migrateCommand } from './migrate.command.js';
import { recordsCommand, recordsUsage, type RecordKind } from './records.command.js';
import { rulesCommand } from './rules.command.js';
import { startCommand } from './start.command.js';
import { VERIFY_USAGE, verifyCommand } from './verify.command.js';
import { tuneCommand } from './tune.command.js';
import { eventsCommand, webhooksCommand } from './webhooks.command.js';

const HELP = `usage: capture <command> [options] [--json]

  start [--role all|poller|worker|api]  run the service (npm start)
  migrate                            apply database migrations (idempotent)
  import FILE                        import posts from a JSON Lines file
  posts [--status pending|processed|failed] [--limit N]
  leads | cases | contacts [--limit N]
  sources                            each source's cursor and health
  classify [--rules FILE] TEXT       decide one text and explain why
  eval --rules FILE [--map M.json] [--predictions OUT.jsonl] [--folds domain [--fit]] [--feedback] [DATA.jsonl]
                                     score rules on labeled posts (per held-out fold with --folds)
  tune --data A.jsonl [--data B.jsonl] [--feedback] --rules IN --out OUT [--suggest]
                                     fit rule weights and thresholds; writes OUT only if held-out scores do not drop
  diff --rules OLD --against NEW DATA.jsonl
                                     which posts change label, and why
  backtest --rules FILE [--since 7d|all]
                                     re-decide stored posts (writes nothing)
  rules report [--limit N] [--wrong N]
                                     per rule: times fired, precision against corrections, posts it got wrong
  forget --platform P --user-id ID [--mode delete|anonymize]
                                     erase a person: posts, identities, contact data (one transaction)
  verify [--grace SECONDS]           check the invariants on the database and the queue (exit 1 if broken)
  webhooks add URL [--events 'case.*'] | list | disable ID | enable ID | rotate-secret ID | remove ID
           | deliveries [--endpoint ID] [--failed]   signed webhook subscriptions (docs/webhooks.md)
  events [--after CURSOR] [--types T] | events replay --endpoint ID --since TIME
                                     the event feed in commit order; re-send to an endpoint

Every command takes --json. Exit 0 on success, 1 on failure, 2 on bad usage.`;

const RECORD_KINDS: readonly RecordKind[] = ['posts', 'leads', 'cases', 'contacts', 'sources'];

/** Each command's usage, for `capture <command> --help` and after a usage error. */
const USAGE: Readonly<Record<string, string>> = {
  start: 'usage: capture start [--role all|poller|worker|api]',
  migrate: 'usage: capture migrate [--json]',
  import: 'usage: capture import FILE [--json]  (exit 1 when a line was rejected)',
  ...Object.fromEntries(RECORD_KINDS.map((k) => [k, recordsUsage(k)])),
  classify: 'usage: capture classify [--rules FILE] [--platform twitter|facebook] [--lang L] [--reply] [--json] TEXT',
  eval: 'usage: capture eval --rules FILE [--map FILE.json] [--predictions OUT.jsonl] [--json] DATA.jsonl',
  diff: 'usage: capture diff --rules OLD --against NEW [--map FILE.json] [--limit N] [--json] DATA.jsonl',
  backtest: 'usage: capture backtest --rules FILE [--since 7d|all] [--json]',
  forget: 'usage: capture forget --platform twitter|facebook --user-id ID [--mode delete|anonymize] [--json]',
  verify: VERIFY_USAGE,
};

/** Run one CLI command; returns the exit code. Errors become one line on stderr, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const rest = argv.filter((a) => a !== '--json');
  const [command, ...args] = rest;
  if (command !== undefined && USAGE[command] && (args.includes('--help') || args.includes('-h'))) {
    process.stdout.write(`${USAGE[command]}\n`);
    return 0;
  }
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
      case 'tune':
        return await tuneCommand(args, json);
      case 'diff':
        return await diffCommand(args, json);
      case 'backtest':
        return await backtestCommand(args, json);
      case 'forget':
        return await forgetCommand(args, json);
      case 'rules':
        return await rulesCommand(args, json);
      case 'verify':
        return await verifyCommand(args, json);
      case 'webhooks':
        return await webhooksCommand(args, json);
      case 'events':
        return await eventsCommand(args, json);
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
    let message = err instanceof ConfigError || usage ? (err as Error).message : describeError(err);
    // A bad flag says what is wrong, then how the command is used.
    if (usage && command !== undefined && USAGE[command] && !message.includes('usage:')) message = `${message}\n${USAGE[command]}`;
    if (json) process.stderr.write(`${JSON.stringify({ error: message })}\n`);
    else process.stderr.write(`capture: ${message}\n`);
    return usage ? 2 : 1;
  }
}
