/**
 * wss:// (PROTOCOL.md section 5: `wss` when TLS is configured): a gateway with gateway.tls.*
 * serves the same protocol over TLS, to a raw `ws` client and to the SDK; the certificate is
 * made for the test with openssl (installed by scripts/test-setup.sh).
 */
import { PLAIN_ROLE_CONTEXT } from '../helpers/role-context.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import WebSocket from 'ws';
import { connect } from '../../src/client/ws/index.js';
import { loadConfig } from '../../src/cli/config.js';
import { ConfigError } from '../../src/config/index.js';
import { startGatewayRole } from '../../src/gateway/index.js';
import { withTimeout } from '../helpers/tickfan-process.js';
import { Fabric, log, WsClient } from './_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tickfan-tls-'));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');
let fabric: Fabric;
let ca: string;

test.before(async () => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  ca = readFileSync(certFile, 'utf8');
  fabric = await Fabric.startSmall(200, 11);
});

test.after.always(async () => {
  await fabric?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const TLS = () => ({ TICKFAN_GATEWAY_TLS_CERT_FILE: certFile, TICKFAN_GATEWAY_TLS_KEY_FILE: keyFile });

test('with a certificate the gateway speaks wss: welcome, subscribe, snapshot and ticks over TLS', async (t) => {
  const gw = await fabric.gateway(TLS());
  const ws = new WebSocket(`wss://127.0.0.1:${gw.gateway.port}/v1/ws`, { ca });
  const client = new (WsClient as unknown as new (ws: WebSocket) => WsClient)(ws);
  await client.waitFor((e) => e.type === 'welcome', { what: 'welcome over TLS' });
  t.true((ws as unknown as { _socket: { encrypted?: boolean } })._socket.encrypted === true, 'the socket is a TLS socket');
  await client.request({ op: 'subscribe', id: 1, topics: ['tick.SIM.BTC-USD'] });
  await client.waitFor((e) => e.type === 'tick', { what: 'a tick over TLS' });
  t.deepEqual(client.badFrames, []);
  await client.close();
});

test('the SDK connects to wss:// with TLS options passed through socketOptions', async (t) => {
  const gw = await fabric.gateway(TLS());
  const client = await connect(`wss://127.0.0.1:${gw.gateway.port}/v1/ws`, { socketOptions: { ca }, reconnect: false });
  try {
    await client.subscribe(['tick.SIMEQ.AAPL']);
    const iterator = client.updates()[Symbol.asyncIterator]();
    const first = await withTimeout(iterator.next(), 5000, 'an update over TLS');
    t.is(first.value?.topic, 'tick.SIMEQ.AAPL');
  } finally {
    await client.close();
  }
});

test('a plain ws:// client cannot talk to a TLS gateway, and a TLS client refuses an unknown certificate', async (t) => {
  const gw = await fabric.gateway(TLS());
  for (const [url, options] of [[`ws://127.0.0.1:${gw.gateway.port}/v1/ws`, {}], [`wss://127.0.0.1:${gw.gateway.port}/v1/ws`, {}]] as const) {
    const ws = new WebSocket(url, options);
    const outcome = await withTimeout(new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', (err) => resolve(`error: ${err.message}`));
    }), 5000, `${url} to fail`);
    t.regex(outcome, /^error: /, url);
    ws.terminate();
  }
});

test('config: a certificate without its key (or the reverse) is refused naming both settings', (t) => {
  for (const env of [{ TICKFAN_GATEWAY_TLS_CERT_FILE: certFile }, { TICKFAN_GATEWAY_TLS_KEY_FILE: keyFile }]) {
    const err = t.throws(() => loadConfig({ env }), { instanceOf: ConfigError });
    t.regex(err!.message, /gateway\.tls\.certFile and gateway\.tls\.keyFile/);
  }
});

test('an unreadable or unusable certificate stops the role at start with an error naming the setting', async (t) => {
  const missing = loadConfig({ env: { ...fabric.env, TICKFAN_GATEWAY_TLS_CERT_FILE: join(dir, 'nope.pem'), TICKFAN_GATEWAY_TLS_KEY_FILE: keyFile } });
  await t.throwsAsync(() => startGatewayRole(missing, log, PLAIN_ROLE_CONTEXT), { message: /nope\.pem \(setting gateway\.tls\.certFile\)/ });
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
  const unusable = loadConfig({ env: { ...fabric.env, TICKFAN_GATEWAY_TLS_CERT_FILE: garbage, TICKFAN_GATEWAY_TLS_KEY_FILE: keyFile } });
  await t.throwsAsync(() => startGatewayRole(unusable, log, PLAIN_ROLE_CONTEXT), { message: /gateway\.tls\.certFile and gateway\.tls\.keyFile are not a usable certificate/ });
});
