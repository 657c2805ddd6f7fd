/**
 * PROTOCOL.md section 5 authentication (when enabled): JWTs signed here with jose, sent by a raw
 * `ws` client in `Authorization: Bearer T` or `?token=T`, against a real gateway wired to a real
 * proxy, snapshot service and simulated feed in this process.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import WebSocket from 'ws';
import { loadConfig } from '../../src/cli/config.js';
import { ConfigError } from '../../src/config/index.js';
import { entitles } from '../../src/gateway/auth.js';
import { withTimeout } from '../helpers/tickfan-process.js';
import { Fabric, quietFor, WsClient, type GatewayHandle } from './_helpers.js';

const test = anyTest as TestFn<{ clients: WsClient[] }>;

const SECRET = 'a shared secret of the tests, long enough for HS256';
const OTHER_SECRET = 'not the secret the gateway was configured with';
const HS256 = { TICKFAN_GATEWAY_AUTH_MODE: 'hs256', TICKFAN_GATEWAY_AUTH_KEY: SECRET };

let fabric: Fabric;

test.before(async () => {
  fabric = await Fabric.startSmall(200, 5);
});

test.after.always(async () => {
  await fabric?.stop();
});

test.beforeEach((t) => {
  t.context.clients = [];
});

test.afterEach.always(async (t) => {
  for (const client of t.context.clients) t.deepEqual(client.badFrames, [], 'every server frame is a JSON array of events');
  await Promise.all(t.context.clients.map((client) => client.close()));
});

type Context = ExecutionContext<{ clients: WsClient[] }>;

/** A token with `topics` signed by `key` (a secret string or a private key), expiring at `exp` (seconds) unless undefined. */
async function token(key: string | CryptoKey, alg: string, topics: unknown, exp: number | undefined = nowSeconds() + 600): Promise<string> {
  let jwt = new SignJWT({ topics }).setProtectedHeader({ alg }).setIssuedAt().setSubject('test-client');
  if (exp !== undefined) jwt = jwt.setExpirationTime(exp);
  return jwt.sign(typeof key === 'string' ? new TextEncoder().encode(key) : key);
}

/** Resolves once `done()` holds, polled (the gateway's side of a close has no event a client sees). */
async function eventually(done: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await quietFor(10);
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Opens a raw `ws` connection with optional headers and wraps it in the helpers' checking
 * WsClient (whose own connect() cannot set headers). Does not wait for the upgrade: an
 * unauthenticated client is upgraded and then closed.
 */
function open(t: Context, url: string, headers: Record<string, string> = {}): WsClient {
  const ws = new WebSocket(url, { headers });
  const client = new (WsClient as unknown as new (ws: WebSocket) => WsClient)(ws);
  t.context.clients.push(client);
  return client;
}

async function welcomed(client: WsClient): Promise<void> {
  await client.waitFor((e) => e.type === 'welcome', { what: 'welcome' });
}

/** The close the gateway ends the connection with, having sent no events at all. */
async function refused(t: Context, client: WsClient, reason: RegExp, expectedCode = 4001): Promise<void> {
  const { code, reason: text } = await withTimeout(client.closed, 10_000, 'the gateway to close the connection');
  t.is(code, expectedCode);
  t.regex(text, reason);
  t.deepEqual(client.events, [], 'no welcome nor any other event before the close');
}

async function authGateway(env: Record<string, string> = HS256): Promise<GatewayHandle> {
  return fabric.gateway(env);
}

const ENTITLED = ['tick.SIM.BTC-USD', 'tick.SIMEQ.*'];

test('entitles: * covers all, a prefix covers patterns whose fixed part starts with it, an exact topic only itself', (t) => {
  t.true(entitles(['*'], '*'));
  t.true(entitles(['*'], 'tick.SIM.BTC-USD'));
  t.true(entitles(['tick.SIM.*'], 'tick.SIM.BTC-USD'));
  t.true(entitles(['tick.SIM.*'], 'tick.SIM.*'));
  t.true(entitles(['tick.SIM.*'], 'tick.SIM.B*'));
  t.false(entitles(['tick.SIM.*'], 'tick.*'));
  t.false(entitles(['tick.SIM.*'], '*'));
  t.false(entitles(['tick.SIM.*'], 'tick.SIMEQ.AAPL'));
  t.true(entitles(['tick.SIM*'], 'tick.SIMEQ.AAPL'));
  t.true(entitles(['tick.SIM.BTC-USD'], 'tick.SIM.BTC-USD'));
  t.false(entitles(['tick.SIM.BTC-USD'], 'tick.SIM.BTC-USD*'));
  t.false(entitles(['tick.SIM.BTC-USD'], 'tick.SIM.*'));
  t.false(entitles([], 'tick.SIM.BTC-USD'));
  t.true(entitles(['tick.X.Y', 'tick.SIM.*'], 'tick.SIM.ETH-USD'));
});

test('config: a mode other than none needs a usable key', (t) => {
  const load = (env: Record<string, string>) => () => loadConfig({ env: { ...fabric.env, ...env } });
  t.throws(load({ TICKFAN_GATEWAY_AUTH_MODE: 'hs256' }), { instanceOf: ConfigError, message: /gateway\.auth\.key is empty/ });
  t.throws(load({ TICKFAN_GATEWAY_AUTH_MODE: 'rs256', TICKFAN_GATEWAY_AUTH_KEY: 'not a pem' }), { instanceOf: ConfigError, message: /gateway\.auth\.key/ });
  t.throws(load({ TICKFAN_GATEWAY_AUTH_MODE: 'rsa' }), { instanceOf: ConfigError, message: /gateway\.auth\.mode/ });
  t.is(load({})().gateway.auth.mode, 'none');
  t.is(load(HS256)().gateway.auth.key, SECRET);
});

test('es256 public key for rs256 is refused at start', async (t) => {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  const pem = await exportSPKI(publicKey);
  t.throws(() => loadConfig({ env: { ...fabric.env, TICKFAN_GATEWAY_AUTH_MODE: 'rs256', TICKFAN_GATEWAY_AUTH_KEY: pem } }), { instanceOf: ConfigError, message: /RSA/ });
  t.notThrows(() => loadConfig({ env: { ...fabric.env, TICKFAN_GATEWAY_AUTH_MODE: 'es256', TICKFAN_GATEWAY_AUTH_KEY: pem } }));
});

test('hs256: a valid token in Authorization: Bearer or in ?token= gets the welcome', async (t) => {
  const gw = await authGateway();
  const jwt = await token(SECRET, 'HS256', ENTITLED);
  const byHeader = open(t, gw.url, { authorization: `Bearer ${jwt}` });
  const byQuery = open(t, `${gw.url}?token=${encodeURIComponent(jwt)}`);
  await welcomed(byHeader);
  await welcomed(byQuery);
  t.deepEqual(await byHeader.request({ op: 'ping', id: 1 }), { type: 'pong', id: 1 });
  t.deepEqual(await byQuery.request({ op: 'ping', id: 2 }), { type: 'pong', id: 2 });
  t.is(gw.gateway.connections, 2);
});

test('hs256: no token, a malformed one, a bad signature, an expired one, or no topics claim: upgraded, then closed with 4001', async (t) => {
  const gw = await authGateway();
  const cases: [WsClient, RegExp][] = [
    [open(t, gw.url), /unauthenticated/],
    [open(t, gw.url, { authorization: 'Bearer not.a.jwt' }), /unauthenticated/],
    [open(t, gw.url, { authorization: 'Basic dXNlcjpwYXNz' }), /unauthenticated/],
    [open(t, gw.url, { authorization: `Bearer ${await token(OTHER_SECRET, 'HS256', ENTITLED)}` }), /unauthenticated/],
    [open(t, `${gw.url}?token=${await token(OTHER_SECRET, 'HS256', ENTITLED)}`), /unauthenticated/],
    [open(t, gw.url, { authorization: `Bearer ${await token(SECRET, 'HS256', ENTITLED, nowSeconds() - 30)}` }), /token expired/],
    [open(t, gw.url, { authorization: `Bearer ${await token(SECRET, 'HS256', undefined)}` }), /topics/],
    [open(t, gw.url, { authorization: `Bearer ${await token(SECRET, 'HS256', ['tick.SIM.*', 'no spaces allowed'])}` }), /topics/],
  ];
  for (const [client, reason] of cases) await refused(t, client, reason);
  t.is(gw.gateway.connections, 0);
  t.is(gw.gateway.counters.closedByCode.get(4001), cases.length);
});

test('hs256: a valid token that entitles no topics is upgraded, then closed with 4003 forbidden', async (t) => {
  const gw = await authGateway();
  await refused(t, open(t, gw.url, { authorization: `Bearer ${await token(SECRET, 'HS256', [])}` }), /forbidden/, 4003);
  t.is(gw.gateway.counters.closedByCode.get(4003), 1);
  t.is(gw.gateway.connections, 0);
});

test('hs256: a subscribe with any pattern outside the entitlements is FORBIDDEN whole; inside is subscribed', async (t) => {
  const gw = await authGateway();
  const client = open(t, gw.url, { authorization: `Bearer ${await token(SECRET, 'HS256', ENTITLED)}` });
  await welcomed(client);
  for (const [id, topics] of [[1, ['tick.SIM.*']], [2, ['tick.SIMEQ.AAPL', 'tick.SIM.ETH-USD']], [3, ['*']], [4, ['tick.*']]] as const) {
    const answer = await client.request({ op: 'subscribe', id, topics });
    t.is(answer.type, 'error', `subscribe ${JSON.stringify(topics)}`);
    t.is(answer.code, 'FORBIDDEN');
    t.is(gw.gateway.subscriptions, 0, 'nothing subscribed');
  }
  t.is(client.closeCode, undefined, 'the connection stays open');
  t.false(client.events.some((e) => e.type === 'snapshot' || e.type === 'tick'));

  t.deepEqual(await client.request({ op: 'subscribe', id: 5, topics: ['tick.SIM.BTC-USD', 'tick.SIMEQ.A*'] }),
    { type: 'subscribed', id: 5, topics: ['tick.SIM.BTC-USD', 'tick.SIMEQ.A*'] });
  t.is(gw.gateway.subscriptions, 2);
  await client.until(() => new Set(client.data().map((e) => e.topic)).size === 2, 10_000, () => 'snapshots of both entitled topics');
  t.deepEqual(new Set(client.data().map((e) => e.topic)), new Set(['tick.SIM.BTC-USD', 'tick.SIMEQ.AAPL']));
});

test('hs256: list answers only entitled topics', async (t) => {
  const gw = await authGateway();
  const client = open(t, gw.url, { authorization: `Bearer ${await token(SECRET, 'HS256', ENTITLED)}` });
  await welcomed(client);
  const answer = await client.request({ op: 'list', id: 'l', prefix: 'tick.' });
  t.is(answer.type, 'topics');
  t.deepEqual([...(answer.topics as string[])].sort(), ['tick.SIM.BTC-USD', 'tick.SIMEQ.AAPL']);
  const none = await client.request({ op: 'list', id: 'm', prefix: 'tick.SIM.E' });
  t.deepEqual(none, { type: 'topics', id: 'm', topics: [] });
});

test('hs256: a token expiring while connected closes the connection with 4001 "token expired"', async (t) => {
  const gw = await authGateway();
  const exp = nowSeconds() + 2;
  const client = open(t, gw.url, { authorization: `Bearer ${await token(SECRET, 'HS256', ['*'], exp)}` });
  await welcomed(client);
  t.is((await client.request({ op: 'subscribe', id: 1, topics: ['tick.SIM.*'] })).type, 'subscribed');
  const { code, reason } = await withTimeout(client.closed, 10_000, 'the close at token expiry');
  t.is(code, 4001);
  t.is(reason, 'token expired');
  t.true(Date.now() >= exp * 1000, 'not before exp');
  await eventually(() => gw.gateway.connections === 0, 'the gateway to drop the client');
  t.is(gw.gateway.subscriptions, 0);
});

test('es256: a token signed with the private key is accepted; one signed with another key, or with the HS256 secret, is not', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const other = await generateKeyPair('ES256');
  const gw = await authGateway({ TICKFAN_GATEWAY_AUTH_MODE: 'es256', TICKFAN_GATEWAY_AUTH_KEY: await exportSPKI(publicKey) });
  const good = open(t, gw.url, { authorization: `Bearer ${await token(privateKey, 'ES256', ['tick.SIM.*'])}` });
  await welcomed(good);
  t.is((await good.request({ op: 'subscribe', id: 1, topics: ['tick.SIM.ETH-USD'] })).type, 'subscribed');
  t.is((await good.request({ op: 'subscribe', id: 2, topics: ['tick.SIMEQ.AAPL'] })).code, 'FORBIDDEN');
  await refused(t, open(t, gw.url, { authorization: `Bearer ${await token(other.privateKey, 'ES256', ['*'])}` }), /unauthenticated/);
  await refused(t, open(t, gw.url, { authorization: `Bearer ${await token(SECRET, 'HS256', ['*'])}` }), /unauthenticated/);
});

test('rs256: a token signed with the private key is accepted', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const gw = await authGateway({ TICKFAN_GATEWAY_AUTH_MODE: 'rs256', TICKFAN_GATEWAY_AUTH_KEY: await exportSPKI(publicKey) });
  const client = open(t, `${gw.url}?token=${await token(privateKey, 'RS256', ['*'], undefined)}`);
  await welcomed(client);
  t.is((await client.request({ op: 'subscribe', id: 1, topics: ['*'] })).type, 'subscribed');
});

test('mode none: no token needed, tokens ignored, every pattern allowed', async (t) => {
  const gw = await fabric.gateway();
  const plain = open(t, gw.url);
  const withBadToken = open(t, `${gw.url}?token=garbage`, { authorization: 'Bearer garbage' });
  await welcomed(plain);
  await welcomed(withBadToken);
  t.is((await plain.request({ op: 'subscribe', id: 1, topics: ['*'] })).type, 'subscribed');
  const listed = await withBadToken.request({ op: 'list', id: 2, prefix: 'tick.' });
  t.deepEqual([...(listed.topics as string[])].sort(), ['tick.SIM.BTC-USD', 'tick.SIM.ETH-USD', 'tick.SIMEQ.AAPL']);
});

test('hs256: a burst of authenticated upgrades beyond maxConnections gets 503 for the excess', async (t) => {
  const gw = await authGateway({ ...HS256, TICKFAN_GATEWAY_MAX_CONNECTIONS: '2' });
  const jwt = await token(SECRET, 'HS256', ENTITLED);
  const sockets = Array.from({ length: 5 }, () => new WebSocket(gw.url, { headers: { authorization: `Bearer ${jwt}` } }));
  const outcomes = await Promise.all(sockets.map((ws) => withTimeout(new Promise<string>((resolve) => {
    ws.once('open', () => resolve('open'));
    ws.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
    ws.once('error', (err) => resolve(`error: ${err.message}`));
  }), 5000, 'every upgrade to be answered')));
  for (const ws of sockets) ws.terminate();
  t.deepEqual(outcomes.sort(), ['503', '503', '503', 'open', 'open']);
});
