import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The direction of imports between parts of src/: configuration machinery knows no role (the
 * CLI composes the roles' settings), server roles do not reach into the SDK, and the shared
 * utilities stay browser-safe.
 */

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(src, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Each import of a module under `dir`: the importing file (relative to src/) and what it names (resolved under src/ when relative). */
function importsOf(dir: string): { file: string; target: string }[] {
  return sources(dir).flatMap((file) => {
    const code = readFileSync(file, 'utf8');
    return [...code.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/gm)].map((m) => {
      const specifier = m[1]!;
      const target = specifier.startsWith('.') ? relative(src, join(file, '..', specifier)) : specifier;
      return { file: relative(src, file), target };
    });
  });
}

const inside = (target: string, dirs: readonly string[]) => dirs.some((dir) => target === dir || target.startsWith(`${dir}/`));

test('src/config imports no role, no CLI and no SDK', (t) => {
  const backwards = importsOf('config').filter(({ target }) => inside(target, ['proxy', 'snapshot', 'gateway', 'feeds', 'client', 'cli']));
  t.deepEqual(backwards, []);
});

test('src/feeds imports nothing from the SDKs in src/client', (t) => {
  t.deepEqual(importsOf('feeds').filter(({ target }) => inside(target, ['client'])), []);
});

test('src/util imports no Node module and nothing outside src/util', (t) => {
  const outside = importsOf('util').filter(({ target }) => !inside(target, ['util']));
  t.deepEqual(outside, []);
});
