import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import * as source from '../../src/client/ws/index.js';

/**
 * The client ships as a package export: `import { connect } from 'tickfan/client'` resolves,
 * through package.json "exports" (the package's self-reference), to the build in dist/, for
 * Node and for TypeScript; and the built client has no Node-only import (browser bundles).
 * Needs `npm run build` first, as every test that runs the CLI.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const built = `${root}dist/client/ws/`;

test.before(() => {
  if (!existsSync(`${built}index.js`)) throw new Error('dist/client/ws/index.js is missing: run `npm run build` first');
});

test("'tickfan/client' resolves to the built client, with the same exports as the source", async (t) => {
  const specifier = 'tickfan/client'; // a variable: type-checking must not depend on a build
  const resolved = import.meta.resolve(specifier);
  t.is(fileURLToPath(resolved), `${built}index.js`);
  const mod = (await import(specifier)) as typeof source;
  t.deepEqual(Object.keys(mod).sort(), Object.keys(source).sort());
  t.is(typeof mod.connect, 'function');
  t.is(typeof mod.TickfanClient, 'function');
  t.true(new mod.TickfanError('BAD_TOPIC', 'x') instanceof Error);
});

test("'tickfan' still resolves to the library entry point", async (t) => {
  const specifier = 'tickfan';
  t.is(fileURLToPath(import.meta.resolve(specifier)), `${root}dist/index.js`);
  const mod = (await import(specifier)) as Record<string, unknown>;
  t.is(typeof mod.TickStream, 'function');
});

test('TypeScript resolves the types of both exports (NodeNext)', (t) => {
  const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
  const from = `${root}test/client-ws/consumer.ts`;
  for (const [specifier, types] of [['tickfan/client', 'dist/client/ws/index.d.ts'], ['tickfan', 'dist/index.d.ts']] as const) {
    const { resolvedModule } = ts.resolveModuleName(specifier, from, options, ts.sys);
    t.is(resolvedModule?.resolvedFileName, `${root}${types}`, specifier);
    t.true(existsSync(`${root}${types}`));
  }
  t.regex(readFileSync(`${built}index.d.ts`, 'utf8'), /connect/);
});

test('the built client imports nothing but its own modules and the browser-safe wire modules: no node: built-ins, no static ws, no require', (t) => {
  const files = readdirSync(built).filter((file) => file.endsWith('.js'));
  t.true(files.length >= 5);
  // Every module the client reaches, its own and the shared ones (wire/, the shared queue), in dist/.
  const reached = new Set(files.map((file) => `${built}${file}`));
  for (const path of reached) {
    const code = readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const specifiers = [...code.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
    const file = path.slice(root.length);
    t.deepEqual(specifiers.filter((s) => !s.startsWith('./') && !s.startsWith('../')), [], `${file}: only relative imports`);
    t.false(/['"]node:/.test(code), `${file}: no node: specifier`);
    t.false(/\brequire\(/.test(code), `${file}: no require`);
    for (const specifier of specifiers) {
      const target = fileURLToPath(new URL(specifier, pathToFileURL(path)));
      t.true(target.startsWith(`${root}dist/`) && existsSync(target), `${file}: ${specifier} is a built module in dist/`);
      reached.add(target);
    }
  }
});
