import { announceMachine } from './machine.js';
/**
 * Parses a benchmark's command line; prints the usage (and sets exit code 2 on a bad
 * option) and returns undefined when the benchmark should not run.
 */
export function optionsOrUsage<T>(parse: (argv: string[]) => T | 'help', usage: string): T | undefined {
  let options: T | 'help';
  try {
    options = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return undefined;
  }
  if (options === 'help') {
    console.log(usage);
    return undefined;
  }
  return options;
}

/** Other programs' CPU (% of one core) below which a benchmark starts, and how long it waits for that (--quick: 3 s). */
const QUIET_BELOW = 25;
const QUIET_WAIT_MS = 15_000;

/** A benchmark's options (see optionsOrUsage), once the machine has been announced and was quiet enough to start. */
export async function optionsOnQuietMachine<T extends { readonly quick: boolean }>(parse: (argv: string[]) => T | 'help', usage: string): Promise<T | undefined> {
  const options = optionsOrUsage(parse, usage);
  if (options !== undefined) await announceMachine(QUIET_BELOW, options.quick ? 3_000 : QUIET_WAIT_MS);
  return options;
}
