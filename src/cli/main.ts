import { parseArgs } from 'node:util';
import { ConfigError, CONFIG_FILE_ENV } from '../config/index.js';
import { CurveError, FabricSecurity, KeysError, registerCurveMetrics, writeKeyPair } from '../curve/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { loadConfig, type TickfanConfig } from './config.js';
import { ProcessMetrics } from './metrics.js';
import { drainRoles, drainWindowMs, startRoles, stopRoles, type RunningRole } from './roles.js';
import { EXIT_FAILURE, onShutdownSignal } from './shutdown.js';
import { record } from './record.js';
import { tail } from './tail.js';
import { VERSION } from './version.js';

const USAGE = `tickfan ${VERSION}: real-time market-data fan-out

Usage:
  tickfan start [--roles proxy,snapshot,feed] [--config FILE]
                                                       run roles (default: all, in this process)
  tickfan tail PREFIX [--snapshot] [--count N] [--json] [--config FILE]
                                                       print decoded ticks whose topic starts with PREFIX;
                                                       --snapshot: the current state first, then changes;
                                                       a book. PREFIX prints the top 5 levels of each book
                                                       as it changes (books start from the snapshot service)
  tickfan record PREFIX FILE [--count N] [--config FILE]
                                                       write ticks whose topic starts with PREFIX to FILE as
                                                       NDJSON, for replay (feeds.replay.file); see docs/feeds.md
  tickfan config [--config FILE]                       print the effective configuration as JSON
  tickfan keys DIR NAME                                write a new CURVE key pair: DIR/NAME.key (public) and
                                                       DIR/NAME.key_secret (secret, mode 0600), in pyzmq's
                                                       zmq.auth format; never overwrites; see docs/security.md
  tickfan --help | --version

Settings come from defaults, config/default.json, --config FILE (or ${CONFIG_FILE_ENV}),
then TICKFAN_* environment variables; see the configuration reference in README.md.`;

/** Exit code of a refusal: bad usage or configuration. */
const EXIT_USAGE = 2;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await run(argv);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof KeysError || err instanceof CurveError) {
      process.stderr.write(`tickfan: ${err.message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    process.stderr.write(`tickfan: ${(err as Error).message}\n`);
    process.exit(EXIT_FAILURE);
  }
}

async function run(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv);
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return void process.stdout.write(`${USAGE}\n`);
  // Key generation needs no configuration, so a broken config file cannot stand in its way.
  if (command === 'keys') {
    const [dir, name] = expectArguments(command, rest, 2);
    return keys(dir!, name!);
  }
  const overrides: Record<string, unknown> = {};
  if (values.roles !== undefined) overrides.roles = values.roles.split(',').map((r) => r.trim());
  const config = loadConfig({ file: values.config ?? process.env[CONFIG_FILE_ENV], overrides });
  switch (command) {
    case 'start':
      expectArguments(command, rest, 0);
      return start(config);
    case 'tail': {
      const [prefix] = expectArguments(command, rest, 1);
      return tail(config, { prefix: prefix!, count: parseCount(values.count), json: values.json ?? false, snapshot: values.snapshot ?? false });
    }
    case 'record': {
      const [prefix, file] = expectArguments(command, rest, 2);
      return record(config, { prefix: prefix!, file: file!, count: parseCount(values.count) });
    }
    case 'config':
      expectArguments(command, rest, 0);
      return void process.stdout.write(`${JSON.stringify(redacted(config), null, 2)}\n`);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}; run tickfan --help`);
  }
}

function keys(dir: string, name: string): void {
  const { publicKey, publicFile, secretFile } = writeKeyPair(dir, name);
  process.stdout.write(`public key: ${publicKey}\npublic certificate: ${publicFile}\nsecret certificate: ${secretFile}\n`);
}

/** Runs the roles until SIGINT or SIGTERM (which drains them first), then stops them with a hard deadline. */
async function start(config: TickfanConfig): Promise<void> {
  const log = createLogger(config.log.level);
  installCrashHandlers(log);
  const metrics = config.metrics.enabled ? new ProcessMetrics(log) : undefined;
  // Handlers first: a signal that arrives while the roles start (or just after 'tickfan
  // started' is logged) must stop them, not kill the process with the default action.
  const security = FabricSecurity.open(config.curve, log);
  const starting = startAll(config, metrics, security, log);
  onShutdownSignal(log, async (signal) => {
    const running = await starting.catch(() => []);
    if (signal === 'SIGTERM') await drainRoles(running);
    await stopRoles(running);
    await security.close();
    await metrics?.close();
    log.info('tickfan stopped');
  }, drainWindowMs(config, config.roles));
  await starting;
  log.info({ roles: config.roles, version: VERSION }, 'tickfan started');
}

async function startAll(config: TickfanConfig, metrics: ProcessMetrics | undefined, security: FabricSecurity, log: Logger): Promise<RunningRole[]> {
  try {
    await metrics?.listen(config.metrics);
    const running = await startRoles(config, config.roles, log, security);
    metrics?.observe(running);
    if (security.enabled) metrics?.register((registry) => registerCurveMetrics(registry, security));
    return running;
  } catch (err) {
    await security.close();
    await metrics?.close();
    log.fatal({ err: (err as Error).message }, 'start-up failed');
    throw err;
  }
}

function installCrashHandlers(log: Logger): void {
  const fatal = (err: unknown) => {
    log.fatal({ err: err instanceof Error ? err.stack : String(err) }, 'unexpected error, exiting');
    process.exit(EXIT_FAILURE);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        roles: { type: 'string' },
        count: { type: 'string', short: 'n' },
        json: { type: 'boolean' },
        snapshot: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; run tickfan --help`);
  }
}

function expectArguments(command: string, args: string[], count: number): string[] {
  if (args.length !== count) {
    throw new UsageError(`${command} takes ${count === 0 ? 'no arguments' : `${count} argument${count > 1 ? 's' : ''}`}, got ${args.length}: ${args.join(' ')}; run tickfan --help`);
  }
  return args;
}

function parseCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < 1) throw new UsageError(`--count must be a whole number >= 1, got ${JSON.stringify(value)}`);
  return count;
}

/** The configuration as printed: secrets replaced, so `tickfan config` output can be shared. */
function redacted(config: TickfanConfig): TickfanConfig {
  const key = config.gateway.auth.key;
  return { ...config, gateway: { ...config.gateway, auth: { ...config.gateway.auth, key: key ? '<redacted>' : '' } } };
}
