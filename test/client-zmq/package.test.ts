import test from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The ZeroMQ clients ship as the package's main export: `import { TickSubscriber, SnapshotClient,
 * TickStream } from 'tickfan'` resolves to the build and type-checks. Needs `npm run build` first.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));

test.before(() => {
  if (!existsSync(`${root}dist/index.js`)) throw new Error('dist/index.js is missing: run `npm run build` first');
});

test("'tickfan' exports TickSubscriber, SnapshotClient, TickStream and LineSet, as classes", async (t) => {
  const specifier = 'tickfan'; // a variable: type-checking this file must not depend on a build
  const mod = (await import(specifier)) as Record<string, unknown>;
  for (const name of ['TickSubscriber', 'SnapshotClient', 'TickStream', 'LineSet', 'SnapshotError', 'SnapshotUnavailable']) t.is(typeof mod[name], 'function', name);
});

test("a user's TypeScript importing them from 'tickfan' type-checks against the built declarations, and a misuse does not", (t) => {
  // Inside the repository, so 'tickfan' resolves through the package's self-reference, as from node_modules.
  const dir = mkdtempSync(join(root, 'test/client-zmq/.consumer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const check = (source: string): readonly ts.Diagnostic[] => {
    const file = join(dir, 'consumer.ts');
    writeFileSync(file, source);
    const program = ts.createProgram([file], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, types: [] , skipLibCheck: true });
    return ts.getPreEmitDiagnostics(program);
  };
  const good = check(`
    import { TickSubscriber, SnapshotClient, TickStream, type Update } from 'tickfan';
    const subscriber = new TickSubscriber({ endpoint: 'tcp://127.0.0.1:5556', prefix: 'tick.SIM.', snapshotEndpoints: ['tcp://127.0.0.1:5557'] });
    const snapshots = new SnapshotClient({ endpoints: ['tcp://127.0.0.1:5557'], timeoutMs: 1000 });
    const stream = new TickStream({ endpoint: 'tcp://127.0.0.1:5556', prefixes: [''] });
    export async function first(): Promise<Update | undefined> {
      await subscriber.ready;
      const records = await snapshots.snapshot('tick.');
      for await (const message of stream) return records.length > 0 && message.header.seq > 0 ? undefined : undefined;
      for await (const update of subscriber) return update;
      return undefined;
    }
  `);
  t.deepEqual(good.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\\n')), []);
  const bad = check(`
    import { TickSubscriber } from 'tickfan';
    new TickSubscriber({ endpoint: 5556 });
  `);
  t.true(bad.length > 0, 'the options are typed');
});
