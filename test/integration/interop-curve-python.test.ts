import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Router } from 'zeromq';
import { loadCertificate } from '../../src/curve/index.js';
import { runTickfan } from '../helpers/tickfan-process.js';

/**
 * Certificates shared with pyzmq's zmq.auth (Debian's python3-zmq), both ways, and a CURVE
 * handshake between a zeromq.js server on `tickfan keys` certificates and a python3-zmq
 * client on certificates of `zmq.auth.create_certificates`.
 */

/** Debian's interpreter, which sees python3-zmq; the `python3` on PATH may be another install. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../interop/curve_certs.py', import.meta.url));

/** Runs curve_certs.py (asynchronously: a zeromq.js server in this process must keep answering) and parses its JSON line. */
async function python<T>(...args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, ...args], { timeout: 15_000 });
  return JSON.parse(stdout) as T;
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tickfan-curve-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function tickfanKeys(dir: string, name: string): Promise<{ publicFile: string; secretFile: string }> {
  const { code, stderr } = await runTickfan(['keys', dir, name]);
  if (code !== 0) throw new Error(`tickfan keys exited ${code}: ${stderr}`);
  return { publicFile: join(dir, `${name}.key`), secretFile: join(dir, `${name}.key_secret`) };
}

test('a certificate pair written by tickfan keys loads with zmq.auth.load_certificate, same keys', async (t) => {
  const { publicFile, secretFile } = await tickfanKeys(tempDir(t), 'server');
  const ours = loadCertificate(secretFile, 'secret');
  t.deepEqual(await python('load', secretFile), { public: ours.publicKey, secret: ours.secretKey });
  t.deepEqual(await python('load', publicFile), { public: ours.publicKey, secret: null });
});

test('a certificate pair made by zmq.auth.create_certificates loads with tickfan\'s reader, same keys', async (t) => {
  const files = await python<{ public: string; secret: string }>('create', tempDir(t), 'client');
  const theirs = await python<{ public: string; secret: string }>('load', files.secret);
  const secret = loadCertificate(files.secret, 'secret');
  t.deepEqual([secret.publicKey, secret.secretKey], [theirs.public, theirs.secret]);
  t.deepEqual(loadCertificate(files.public), { file: files.public, publicKey: theirs.public });
});

test('CURVE handshake: a python3-zmq REQ on pyzmq certificates talks to a zeromq.js ROUTER on tickfan certificates; a plain client and a client expecting another server get nothing', async (t) => {
  const dir = tempDir(t);
  const server = await tickfanKeys(dir, 'server');
  const impostor = await tickfanKeys(dir, 'impostor');
  const client = await python<{ public: string; secret: string }>('create', dir, 'client');

  const router = new Router({ curveServer: true, curveSecretKey: loadCertificate(server.secretFile, 'secret').secretKey, linger: 0 });
  t.teardown(() => router.close());
  await router.bind('tcp://127.0.0.1:*');
  const endpoint = router.lastEndpoint!;
  const received: string[] = [];
  void (async () => {
    for await (const [identity, empty, body] of router) {
      received.push(body!.toString());
      await router.send([identity!, empty!, `pong ${body!.toString()}`]);
    }
  })().catch(() => undefined); // ends when the router closes

  t.deepEqual(await python('request', endpoint, server.publicFile, client.secret, 'curve'), { reply: 'pong curve' });
  // Negative cases are bounded by the script's poll timeout: no handshake, no message either way.
  const [plain, wrongServer] = await Promise.all([
    python('request-plain', endpoint, 'plain', '--timeout-ms', '1500'),
    python('request', endpoint, impostor.publicFile, client.secret, 'wrong-server', '--timeout-ms', '1500'),
  ]);
  t.deepEqual(plain, { reply: null });
  t.deepEqual(wrongServer, { reply: null });
  t.deepEqual(received, ['curve'], 'only the CURVE client with the right server key reached the server');
});
