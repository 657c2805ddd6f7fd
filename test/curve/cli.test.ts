import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCertificate } from '../../src/curve/index.js';
import { runTickfan } from '../helpers/tickfan-process.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tickfan-keys-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('tickfan keys creates DIR, writes the pair and prints the public key and both paths', async (t) => {
  const dir = join(tempDir(t), 'certs');
  const { code, stdout } = await runTickfan(['keys', dir, 'feed-1']);
  t.is(code, 0);
  const secretFile = join(dir, 'feed-1.key_secret');
  const { publicKey } = loadCertificate(secretFile, 'secret');
  t.is(stdout, `public key: ${publicKey}\npublic certificate: ${join(dir, 'feed-1.key')}\nsecret certificate: ${secretFile}`);
  t.is(statSync(secretFile).mode & 0o777, 0o600);
});

test('tickfan keys refuses to overwrite an existing certificate with exit 2, naming the file', async (t) => {
  const dir = tempDir(t);
  t.is((await runTickfan(['keys', dir, 'gw'])).code, 0);
  const before = readFileSync(join(dir, 'gw.key_secret'), 'utf8');
  const { code, stderr } = await runTickfan(['keys', dir, 'gw']);
  t.is(code, 2);
  t.regex(stderr, new RegExp(`tickfan: ${join(dir, 'gw.key')} exists; refusing to overwrite a certificate`));
  t.is(readFileSync(join(dir, 'gw.key_secret'), 'utf8'), before, 'the secret certificate is unchanged');
});

test('tickfan keys: wrong arguments exit 2; it needs no configuration, so a broken config file does not stop it', async (t) => {
  const dir = tempDir(t);
  const missing = await runTickfan(['keys', dir]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /keys takes 2 arguments, got 1/);
  const badName = await runTickfan(['keys', dir, '../escape']);
  t.is(badName.code, 2);
  t.regex(badName.stderr, /NAME must be a plain file name, got "\.\.\/escape"/);
  const brokenConfig = join(dir, 'broken.json');
  writeFileSync(brokenConfig, '{ not json');
  t.is((await runTickfan(['keys', dir, 'ok'], { TICKFAN_CONFIG: brokenConfig })).code, 0);
});

test('tickfan --help lists the keys command', async (t) => {
  const { code, stdout } = await runTickfan(['--help']);
  t.is(code, 0);
  t.regex(stdout, /tickfan keys DIR NAME {2,}write a new CURVE key pair/);
});
