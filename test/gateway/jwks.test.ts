/**
 * Key rotation (issue 14): gateway.auth.mode jwks verifies tokens by any key of a JWKS file,
 * chosen by the token's `kid`; the file is re-read when it changes, so a key is rotated out
 * without a restart, and a broken rewrite keeps the keys in use (counted).
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { loadConfig } from '../../src/cli/config.js';
import { ConfigError } from '../../src/config/index.js';
import { JWKS_RECHECK_MS } from '../../src/gateway/auth.js';
import { Fabric, quietFor, WsClient, type GatewayHandle } from './_helpers.js';

interface Signer {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function signer(kid: string, alg: Signer['alg']): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function token(by: Signer, kid = by.kid): Promise<string> {
  return new SignJWT({ topics: ['tick.SIM.*'] }).setProtectedHeader({ alg: by.alg, kid }).setIssuedAt().setExpirationTime('10m').sign(by.privateKey);
}

const dir = mkdtempSync(join(tmpdir(), 'tickfan-jwks-'));
const file = join(dir, 'jwks.json');
let fabric: Fabric;
let gateway: GatewayHandle;
let old: Signer;
let current: Signer;
const clients: WsClient[] = [];

/** Connects with `jwt`; resolves with the first server answer: welcome (accepted) or the close code (refused). */
async function attempt(jwt: string): Promise<'welcome' | number> {
  const client = await WsClient.connect(`${gateway.url}?token=${jwt}`);
  clients.push(client);
  const welcomed = client.waitFor((e) => e.type === 'welcome', { timeoutMs: 5000 }).then(() => 'welcome' as const);
  return Promise.race([welcomed, client.closed.then(({ code }) => code)]);
}

test.before(async () => {
  [old, current] = await Promise.all([signer('2026-11', 'RS256'), signer('2026-12', 'ES256')]);
  writeFileSync(file, JSON.stringify({ keys: [old.jwk, current.jwk] }));
  fabric = await Fabric.startSmall(100, 3);
  gateway = await fabric.gateway({ TICKFAN_GATEWAY_AUTH_MODE: 'jwks', TICKFAN_GATEWAY_AUTH_JWKS_FILE: file });
});

test.after.always(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await fabric?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.serial('tokens signed by either key of the JWKS verify, chosen by kid; an unknown kid or a key not in the set is refused (4001)', async (t) => {
  t.is(await attempt(await token(old)), 'welcome', 'the RS256 key');
  t.is(await attempt(await token(current)), 'welcome', 'the ES256 key');
  t.is(await attempt(await token(current, 'nobody')), 4001, 'a kid the set does not hold');
  const stranger = await signer('2026-12', 'ES256');
  t.is(await attempt(await token(stranger)), 4001, 'a known kid, signed by another key');
});

test.serial('rotation: a key removed from the file stops verifying within a recheck, without a restart; a broken rewrite keeps the keys in use and is counted', async (t) => {
  writeFileSync(file, JSON.stringify({ keys: [current.jwk] }));
  await quietFor(JWKS_RECHECK_MS + 200);
  t.is(await attempt(await token(old)), 4001, 'the removed key no longer verifies');
  t.is(await attempt(await token(current)), 'welcome', 'the remaining one does');

  const failuresBefore = gateway.gateway.jwksReloadFailures;
  writeFileSync(file, '{"keys": [ not json');
  await quietFor(JWKS_RECHECK_MS + 200);
  t.is(await attempt(await token(current)), 'welcome', 'the keys in use stay');
  t.is(gateway.gateway.jwksReloadFailures, failuresBefore + 1, 'the broken file is counted');
});

test('a missing, empty or private-key JWKS file is a configuration error naming gateway.auth.jwksFile', async (t) => {
  const withFile = (jwksFile: string) => () => loadConfig({ env: { TICKFAN_GATEWAY_AUTH_MODE: 'jwks', TICKFAN_GATEWAY_AUTH_JWKS_FILE: jwksFile } });
  t.throws(withFile(join(dir, 'missing.json')), { instanceOf: ConfigError, message: /gateway\.auth\.jwksFile .*cannot be read/ });
  t.throws(withFile(''), { instanceOf: ConfigError, message: /gateway\.auth\.jwksFile is empty/ });
  const emptySet = join(dir, 'empty.json');
  writeFileSync(emptySet, JSON.stringify({ keys: [] }));
  t.throws(withFile(emptySet), { instanceOf: ConfigError, message: /non-empty "keys"/ });
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const secret = join(dir, 'secret.json');
  writeFileSync(secret, JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'x' }] }));
  t.throws(withFile(secret), { instanceOf: ConfigError, message: /holds a private key/ });
});
