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
