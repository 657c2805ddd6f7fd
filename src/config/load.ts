import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import convict from 'convict';

/** Refusal of a configuration: the message names the key, the bad value and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const ENV_PREFIX = 'TICKFAN_';
/** The one TICKFAN_ variable that is not a setting: where the config file is. */
export const CONFIG_FILE_ENV = 'TICKFAN_CONFIG';

/** The shipped defaults file: the first layer over the schema, and an annotated example to copy. */
export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL('../../config/default.json', import.meta.url));

/**
 * Why values that each passed their format cannot work together, naming the keys; undefined
 * when they can. The parts that own the keys supply these, so the loader needs to know none.
 */
export type SettingsCheck<T> = (config: T) => string | undefined;

export interface LoadOptions {
  /** A JSON file overriding the defaults. */
  readonly file?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Values from command-line flags; they win over file and environment. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** Every setting's dotted key with its environment variable: feeds.simulated.rate -> TICKFAN_FEEDS_SIMULATED_RATE. */
export function settingKeys<T>(schema: convict.Schema<T>): { key: string; env: string }[] {
  const keys: { key: string; env: string }[] = [];
  const walk = (node: Record<string, unknown>, path: string[]): void => {
    for (const [name, child] of Object.entries(node)) {
      const childPath = [...path, name];
      if (isLeaf(child)) keys.push({ key: childPath.join('.'), env: envName(childPath) });
      else walk(child as Record<string, unknown>, childPath);
    }
  };
  walk(schema as unknown as Record<string, unknown>, []);
  return keys;
}

/**
 * Builds the configuration of `schema` from defaults, the file, TICKFAN_* variables and flags,
 * in that order of precedence, then runs `checks`, and refuses it whole if anything is wrong:
 * no role starts half-configured.
 */
export function loadSettings<T>(schema: convict.Schema<T>, options: LoadOptions = {}, checks: readonly SettingsCheck<T>[] = []): T {
  const env = options.env ?? process.env;
  const keys = settingKeys(schema);
  rejectUnknownEnv(env, new Set(keys.map((k) => k.env)));
  // Untyped while loading (flags name keys as dotted strings); the result is a T once validated.
  const config = convict(withEnvNames(schema, keys), { env, args: [] });
  try {
    config.load(readConfigFile(DEFAULT_CONFIG_FILE));
    if (options.file !== undefined) config.load(readConfigFile(options.file));
    for (const [key, value] of Object.entries(options.overrides ?? {})) config.set(key, value);
    config.validate({ allowed: 'strict' });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(oneLine((err as Error).message));
  }
  const result = config.getProperties() as T;
  for (const check of checks) {
    const problem = check(result);
    if (problem !== undefined) throw new ConfigError(problem);
  }
  return result;
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function rejectUnknownEnv(env: NodeJS.ProcessEnv, known: ReadonlySet<string>): void {
  for (const name of Object.keys(env)) {
    if (name.startsWith(ENV_PREFIX) && name !== CONFIG_FILE_ENV && !known.has(name)) {
      throw new ConfigError(`environment variable ${name} is not a tickfan setting (see the config reference in README.md)`);
    }
  }
}

function withEnvNames<T>(schema: convict.Schema<T>, keys: { key: string; env: string }[]): convict.Schema<Record<string, unknown>> {
  const copy = structuredCloneSchema(schema as unknown as Record<string, unknown>);
  for (const { key, env } of keys) {
    const leaf = key.split('.').reduce<Record<string, unknown>>((node, part) => node[part] as Record<string, unknown>, copy);
    leaf.env = env;
  }
  return copy as convict.Schema<Record<string, unknown>>;
}

/** convict mutates the schema it is given, so each load gets its own copy (functions shared). */
function structuredCloneSchema(node: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, child] of Object.entries(node)) {
    out[name] = isLeaf(child) ? { ...(child as object) } : structuredCloneSchema(child as Record<string, unknown>);
  }
  return out;
}

function isLeaf(node: unknown): boolean {
  return typeof node === 'object' && node !== null && 'default' in node;
}

function envName(path: string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/**
 * convict reports one problem per line and appends `: value was X` (our formats already say
 * what they got, and it omits falsy values); make it one line in our words.
 */
function oneLine(message: string): string {
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line);
      if (undeclared) return `${undeclared[1]}: unknown setting (see the config reference in README.md)`;
      return / got .+: value was .*$/.test(line) ? line.replace(/: value was .*$/, '') : line.replace(/: value was (.*)$/, ', got $1');
    })
    .join('; ');
}
