/**
 * The `refresh` op (issue 14; docs/protocol.md section 5): a live session takes a new token
 * before its own expires, so it is not closed with 4001; a token that does not verify, or that
 * would not cover what the session follows, is refused and the old grant stays.
 */
import test from 'ava';
import { SignJWT } from 'jose';
import { connect, TickfanError } from '../../src/client/ws/index.js';
import { Fabric, quietFor, WsClient, type GatewayHandle } from './_helpers.js';

const SECRET = 'the refresh tests sign with this shared secret';

let fabric: Fabric;
let gateway: GatewayHandle;
const clients: WsClient[] = [];

test.before(async () => {
  fabric = await Fabric.startSmall(100, 9);
  gateway = await fabric.gateway({ TICKFAN_GATEWAY_AUTH_MODE: 'hs256', TICKFAN_GATEWAY_AUTH_KEY: SECRET });
});

test.after.always(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await fabric?.stop();
});

function token(topics: string[], expiresInS: number, secret = SECRET): Promise<string> {
  return new SignJWT({ topics }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + expiresInS).sign(new TextEncoder().encode(secret));
}

async function session(jwt: string): Promise<WsClient> {
  const client = await WsClient.connect(`${gateway.url}?token=${jwt}`);
  clients.push(client);
  await client.waitFor((e) => e.type === 'welcome', { what: 'welcome' });
  return client;
}

test('a refresh before expiry extends the session past the old exp; ticks keep flowing', async (t) => {
  const client = await session(await token(['tick.SIM.*'], 2));
  await client.request({ op: 'subscribe', id: 1, topics: ['tick.SIM.*'] });
  const longer = await token(['tick.SIM.*', 'tick.SIMEQ.*'], 3600);
  const answer = await client.request({ op: 'refresh', id: 2, token: longer });
  t.is(answer.type, 'refreshed');
  t.true(typeof answer.exp === 'number' && (answer.exp as number) > Date.now() / 1000 + 3000, `exp ${String(answer.exp)}`);
  await quietFor(2600);
  t.is(client.closeCode, undefined, 'still open after the first token expired');
  const before = client.data().length;
  await client.until(() => client.data().length > before, 5000, () => 'ticks after the old expiry');
  t.like(await client.request({ op: 'subscribe', id: 3, topics: ['tick.SIMEQ.*'] }), { type: 'subscribed' }, 'the new grant is in force');
});

test('a refresh with a bad token or one that would not cover the subscriptions is refused; the old grant stays', async (t) => {
  const client = await session(await token(['tick.*'], 3600));
  await client.request({ op: 'subscribe', id: 1, topics: ['tick.SIMEQ.*'] });
  t.like(await client.request({ op: 'refresh', id: 2, token: await token(['tick.*'], 3600, 'another secret') }), { type: 'error', code: 'BAD_REQUEST' });
  t.like(await client.request({ op: 'refresh', id: 3, token: await token(['tick.SIM.*'], 3600) }), { type: 'error', code: 'FORBIDDEN' });
  t.like(await client.request({ op: 'refresh', id: 4, token: '' }), { type: 'error', code: 'BAD_REQUEST' }, 'an empty token is a malformed request');
  t.like(await client.request({ op: 'subscribe', id: 5, topics: ['tick.SIM.*'] }), { type: 'subscribed' }, 'the old grant still in force');
  t.is(client.closeCode, undefined);
});

test('the SDK: client.refresh(token) resolves with the new exp, and a refused one rejects with its code', async (t) => {
  const sdk = await connect(gateway.url, { token: await token(['tick.SIM.*'], 3600) });
  t.teardown(() => sdk.close());
  await sdk.subscribe(['tick.SIM.*']);
  const exp = await sdk.refresh(await token(['tick.SIM.*'], 7200));
  t.true(exp !== undefined && exp > Date.now() / 1000 + 7000);
  const refused = await sdk.refresh(await token(['tick.SIMEQ.*'], 7200)).catch((err: unknown) => err);
  t.true(refused instanceof TickfanError && refused.code === 'FORBIDDEN', String(refused));
});
