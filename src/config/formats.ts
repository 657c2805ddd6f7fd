import convict from 'convict';

/**
 * Convict's built-in coercions accept too much ("12abc" parses as 12) and report NaN instead
 * of what the user typed. These formats coerce strictly from environment strings and say
 * what is allowed.
 */

const TCP_ENDPOINT = /^tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-*]+):(\*|\d{1,5})$/;
const IPC_OR_INPROC = /^(ipc|inproc):\/\/.+$/;

function integerFromString(value: string): number | string {
  return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
}

/** Format names double as the "allowed" column of the configuration reference. */
export const ZMQ_ENDPOINT = 'ZeroMQ endpoint: tcp://HOST:PORT, ipc://PATH, inproc://NAME';
export const BOOLEAN = 'true or false';

const registered = new Set<string>();

/** convict takes formats only by registered name, so each range is registered once. */
export function integerIn(min: number, max: number, options: { nullable?: boolean } = {}): string {
  const name = `integer ${min}..${max}${options.nullable ? ' or null' : ''}`;
  if (!registered.has(name)) {
    registered.add(name);
    convict.addFormat({
      name,
      validate(value: unknown) {
        if (options.nullable && value === null) return;
        if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
          throw new Error(`must be an integer from ${min} to ${max}${options.nullable ? ' or null' : ''}, got ${shown(value)}`);
        }
      },
      coerce: (value: string) => (options.nullable && value === 'null' ? null : integerFromString(value)),
    });
  }
  return name;
}

/** A format checked by a function that returns the problem, or undefined when the value is fine. */
export function checkedFormat(name: string, problem: (value: unknown) => string | undefined, coerce: (value: string) => unknown): string {
  convict.addFormat({
    name,
    validate(value: unknown) {
      const found = problem(value);
      if (found !== undefined) throw new Error(`${found}, got ${shown(value)}`);
    },
    coerce,
  });
  return name;
}

convict.addFormat({
  name: ZMQ_ENDPOINT,
  validate(value: unknown) {
    const ok = typeof value === 'string' && isZmqEndpoint(value);
    if (!ok) throw new Error(`must be a ZeroMQ endpoint tcp://HOST:PORT (PORT 1-65535 or *), ipc://PATH or inproc://NAME, got ${shown(value)}`);
  },
});

convict.addFormat({
  name: BOOLEAN,
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error(`must be true or false, got ${shown(value)}`);
  },
  coerce: (value: string) => (value === 'true' ? true : value === 'false' ? false : value),
});

/** Lists come from the environment comma-separated. */
export function splitList(value: string): string[] {
  return value.split(',').map((item) => item.trim());
}

/**
 * Arrays of records come from a file as JSON, or from the environment as a JSON string. Any other
 * JSON stays the string, for the format to refuse by name: convict merges an object into the
 * settings tree key by key, so `{"":null,".":null}` failed inside convict with a TypeError.
 */
export function jsonFromString(value: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return value;
  }
  return Array.isArray(parsed) ? parsed : value;
}

export function isZmqEndpoint(value: string): boolean {
  return IPC_OR_INPROC.test(value) || isTcpEndpoint(value);
}

function isTcpEndpoint(value: string): boolean {
  const match = TCP_ENDPOINT.exec(value);
  if (!match) return false;
  return match[2] === '*' || (Number(match[2]) >= 1 && Number(match[2]) <= 65535);
}

/** The offending value as the user wrote it, cut short so the error stays one readable line. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
