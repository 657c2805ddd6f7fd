/**
 * The gateway's network edges (PROTOCOL.md section 5 "Origins", issue 14): browser origins,
 * per-address limits and the request-headers bound, with raw HTTP upgrades from loopback
 * addresses of their own (127.0.0.2, 127.0.0.3 reach the gateway on 127.0.0.1 as other hosts).
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import type { IncomingMessage } from 'node:http';
import { loadConfig } from '../../src/cli/config.js';
import { Admission, MAX_TRACKED_ADDRESSES } from '../../src/gateway/admission.js';
import { Fabric, WsClient, checkEveryFrame, type GatewayHandle } from './_helpers.js';
import { withTimeout } from '../helpers/tickfan-process.js';

const test = anyTest as TestFn<{ clients: WsClient[] }>;

let fabric: Fabric;

test.before(async () => {
  fabric = await Fabric.startSmall(50, 14);
});

test.after.always(async () => {
  await fabric?.stop();
});

checkEveryFrame(test);

interface UpgradeAnswer {
  readonly status: number;
  readonly retryAfter: string | undefined;
}

/** One raw WebSocket upgrade of `gw` from `localAddress` with `headers`: the HTTP status it gets (101 when upgraded, then closed). */
function upgrade(gw: GatewayHandle, headers: Record<string, string> = {}, localAddress = '127.0.0.1'): Promise<UpgradeAnswer> {
  return withTimeout(new Promise<UpgradeAnswer>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: gw.gateway.port, path: '/v1/ws', localAddress,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
    });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, retryAfter: undefined });
    });
    req.once('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
    });
    req.once('error', reject);
    req.end();
  }), 5000, `an answer to an upgrade from ${localAddress}`);
}

const refused = (gw: GatewayHandle, reason: string): number => gw.gateway.counters.upgradesRefused.get(reason as never) ?? 0;

test('allowedOrigins: a listed origin upgrades, another gets HTTP 403 (counted), a request without Origin passes', async (t) => {
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_ALLOWED_ORIGINS: 'https://example.com, http://localhost:8080' });
  t.is((await upgrade(gw, { origin: 'https://example.com' })).status, 101, 'a listed origin');
  t.is((await upgrade(gw, { origin: 'http://localhost:8080' })).status, 101, 'the second listed origin');
  t.is((await upgrade(gw, { origin: 'https://evil.example' })).status, 403, 'an origin not listed');
  t.is((await upgrade(gw, { origin: 'https://example.com:8443' })).status, 403, 'another port is another origin');
  t.is((await upgrade(gw, { origin: 'null' })).status, 403, 'an opaque origin (sandboxed frame, file:)');
  t.is(refused(gw, 'origin'), 3);
  t.is((await upgrade(gw)).status, 101, 'no Origin: not a browser page');
  const client = await gw.join();
  t.is(client.closeCode, undefined, 'a program without Origin is served');
});

test('allowedOrigins empty (the default): any origin upgrades', async (t) => {
  const gw = await fabric.gatewayFor(t);
  t.is((await upgrade(gw, { origin: 'https://anywhere.example' })).status, 101);
  t.is(refused(gw, 'origin'), 0);
});

test('allowedOrigins: a value that is not an origin is a configuration error naming the setting and the value', (t) => {
  for (const bad of ['https://example.com/app', 'example.com', 'ftp://example.com', 'https://example.com:443', 'https://example.com/']) {
    const err = t.throws(() => loadConfig({ env: { ...fabric.env, TICKFAN_GATEWAY_ALLOWED_ORIGINS: `https://ok.example,${bad}` } }));
    t.regex(err?.message ?? '', /gateway\.allowedOrigins/, bad);
    t.true(err?.message.includes(JSON.stringify(bad)), `${bad}: ${err?.message}`);
  }
  t.deepEqual(loadConfig({ env: { ...fabric.env, TICKFAN_GATEWAY_ALLOWED_ORIGINS: ' https://a.example ,http://b.example:81' } }).gateway.allowedOrigins, ['https://a.example', 'http://b.example:81']);
  t.deepEqual(loadConfig({ env: { ...fabric.env, TICKFAN_GATEWAY_ALLOWED_ORIGINS: '' } }).gateway.allowedOrigins, []);
});

test('maxConnectionsPerAddress: beyond it an address gets HTTP 429 with Retry-After (counted), other addresses still connect, a closed connection frees its slot', async (t) => {
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: '2' });
  const a = await gw.join();
  await gw.join();
  const answer = await upgrade(gw);
  t.is(answer.status, 429);
  t.truthy(answer.retryAfter, 'Retry-After is set');
  t.is(refused(gw, 'address_connections'), 1);
  t.is((await upgrade(gw, {}, '127.0.0.2')).status, 101, 'another address is not limited by this one');
  await a.close();
  await withTimeout((async () => {
    while (gw.gateway.connections > 1) await new Promise((resolve) => setImmediate(resolve));
  })(), 5000, 'the gateway to see the close');
  await gw.join();
  t.is(gw.gateway.connections, 2);
});

test('upgradesPerSecondPerAddress: the attempts beyond it within a second get HTTP 429, Retry-After: 1 (counted); other addresses pass; the next second the address is admitted again', async (t) => {
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_UPGRADES_PER_SECOND_PER_ADDRESS: '3' });
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await upgrade(gw, {}, '127.0.0.3'));
  // A fresh gateway's one-second window starts with its first attempt: the five fall within it.
  t.deepEqual(answers.map((a) => a.status), [101, 101, 101, 429, 429]);
  t.is(answers[3]!.retryAfter, '1');
  t.is(refused(gw, 'address_rate'), 2);
  t.is((await upgrade(gw, {}, '127.0.0.2')).status, 101, 'another address is not limited by this one');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.is((await upgrade(gw, {}, '127.0.0.3')).status, 101, 'a new second');
});

test('headersTimeoutMs: a client trickling its request headers (slowloris) is disconnected within the bound; an upgraded connection is not', async (t) => {
  const timeoutMs = 400;
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_HEADERS_TIMEOUT_MS: String(timeoutMs) });
  const live = await gw.join();
  const socket = connect({ host: '127.0.0.1', port: gw.gateway.port });
  await new Promise((resolve) => socket.once('connect', resolve));
  const started = performance.now();
  socket.write('GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  const trickle = setInterval(() => socket.write('X'), 50);
  socket.on('error', () => {});
  socket.resume();
  await withTimeout(new Promise((resolve) => socket.once('close', resolve)), 5000, 'the gateway to cut the trickling client');
  clearInterval(trickle);
  const elapsed = performance.now() - started;
  // Node checks the bound every headersTimeoutMs / 4 (at most 1 s): cut after the bound, well before twice it.
  t.true(elapsed >= timeoutMs - 50 && elapsed < 2 * timeoutMs + 200, `cut after ${elapsed.toFixed(0)} ms`);
  t.deepEqual(await live.request({ op: 'ping', id: 'still there' }), { type: 'pong', id: 'still there' }, 'the WebSocket client that connected before is served');
  t.is(live.closeCode, undefined);
});

test('the per-address rate table is bounded: beyond MAX_TRACKED_ADDRESSES distinct addresses within a second new ones get too_many_addresses, known ones are still counted', (t) => {
  const admission = new Admission({ allowedOrigins: [], maxConnectionsPerAddress: 10, upgradesPerSecondPerAddress: 2 });
  const from = (remoteAddress: string) => ({ headers: {}, socket: { remoteAddress } }) as unknown as IncomingMessage;
  for (let i = 0; i < MAX_TRACKED_ADDRESSES; i++) {
    if (admission.refusal(from(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`)) !== undefined) return void t.fail(`address ${i} refused`);
  }
  t.is(admission.trackedAddresses, MAX_TRACKED_ADDRESSES);
  t.is(admission.refusal(from('192.0.2.1'))?.reason, 'too_many_addresses');
  t.is(admission.refusal(from('10.0.0.0')), undefined, 'a tracked address has its second attempt');
  t.is(admission.refusal(from('10.0.0.0'))?.reason, 'address_rate');
  t.is(admission.trackedAddresses, MAX_TRACKED_ADDRESSES, 'the refused address was not added');
});
