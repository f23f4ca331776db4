import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'config.secrets',
  'secrets',
  '*.secrets',
  '*.twitterBearerToken',
  '*.facebookPageToken',
  '*.facebookAppSecret',
  '*.facebookVerifyToken',
  '*.access_token',
  '*.appsecret_proof',
  '*.accessToken',
  '*.bearerToken',
  '*.pageToken',
  '*.appSecret',
  '*.verifyToken',
  '*.apiToken',
  '*.erasureKey',
];

export interface LoggerOptions {
  /** @defaultValue process.env.LOG_LEVEL ?? 'info' */
  level?: string;
  /** Pretty, human lines instead of JSON. @defaultValue stdout is a TTY */
  pretty?: boolean;
  /** Where lines go. @defaultValue stderr (stdout is for what a command prints: `--json` output) */
  destination?: pino.DestinationStream;
}

/** The one root logger of a process; components take `logger.child({ component })`. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const base = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (opts.destination) return pino(base, opts.destination);
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname', destination: 2 } },
    });
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

/** A logger that writes nothing, for tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
