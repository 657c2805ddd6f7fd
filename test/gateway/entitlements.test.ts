/**
 * Entitlements without leaks (issue 14): a client whose token grants `tick.SIM.*` never
 * receives one byte about another venue (here SIMEQ, and its instrument AAPL), through any
 * path the gateway has: broad patterns, `list`, snapshot-on-subscribe, `since` resume, status
 * events, conflated frames, batch frames shared with an unrestricted client, error messages.
 * Every byte the restricted clients receive is kept and searched. They never name the other
 * venue themselves, except as `since` keys, which the gateway must not echo.
 */
import test from 'ava';
import { SignJWT } from 'jose';
import { Fabric, quietFor, WsClient, type GatewayHandle } from './_helpers.js';

const SECRET = 'the entitlement tests sign with this shared secret';
const FOREIGN = ['SIMEQ', 'AAPL'];

let fabric: Fabric;
let gateway: GatewayHandle;
const clients: WsClient[] = [];

test.before(async () => {
  fabric = await Fabric.startSmall(300, 11);
  gateway = await fabric.gateway({
    TICKFAN_GATEWAY_AUTH_MODE: 'hs256',
    TICKFAN_GATEWAY_AUTH_KEY: SECRET,
    // A client is behind after 1 KiB unsent and conflated after 20 queued events, so a paused reader is conflated within a second.
    TICKFAN_GATEWAY_BUFFERED_HIGH_WATER_BYTES: '1024',
    TICKFAN_GATEWAY_MAX_QUEUED_EVENTS: '20',
  });
});

test.after.always(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await fabric?.stop();
});

function token(topics: string[]): Promise<string> {
  return new SignJWT({ topics }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
}

/** A client with `topics` entitlements, every byte it receives kept. */
async function entitled(topics: string[]): Promise<{ client: WsClient; received: () => string }> {
  const client = await WsClient.connect(`${gateway.url}?token=${await token(topics)}`);
  clients.push(client);
  const bytes: string[] = [];
  client.ws.on('message', (data) => bytes.push(String(data)));
  await client.waitFor((e) => e.type === 'welcome', { what: 'welcome' });
  return { client, received: () => bytes.join('\n') };
}

function assertNoLeak(t: import('ava').ExecutionContext, name: string, received: string): void {
  const leaked = FOREIGN.filter((word) => received.includes(word));
  t.deepEqual(leaked, [], `${name} received bytes about another venue: ${leaked.join(', ')}`);
}

test.serial('a client entitled to tick.SIM.* learns nothing of another venue through any path', async (t) => {
  const everything = await entitled(['*']);
  await everything.client.request({ op: 'subscribe', id: 1, topics: ['*'] });

  const sim = await entitled(['tick.SIM.*']);
  // Broad patterns are refused whole, and the refusal names only what the client asked for.
  for (const [id, pattern] of [[10, '*'], [11, 'tick.*'], [12, 'status.*'], [13, 'tick.SIM*']] as const) {
    const refused = await sim.client.request({ op: 'subscribe', id, topics: [pattern] });
    t.like(refused, { type: 'error', code: 'FORBIDDEN' }, pattern);
  }
  const listed = await Promise.all(['', 'tick.', 'tick.SIM', 'status.'].map((prefix, i) => sim.client.request({ op: 'list', id: 20 + i, prefix })));
  for (const answer of listed) t.true((answer.topics as string[]).every((topic) => topic.startsWith('tick.SIM.')), JSON.stringify(answer));

  const subscribed = await sim.client.request({ op: 'subscribe', id: 2, topics: ['tick.SIM.*'], snapshot: true, conflate: true });
  t.like(subscribed, { type: 'subscribed' });
  await sim.client.waitFor((e) => e.type === 'tick', { what: 'a SIM tick' });

  // A status of the other venue reaches the unrestricted client only.
  const statuses = await fabric.statusPublisher('SIMEQ');
  await statuses.publish('stale');
  await everything.client.waitFor((e) => e.type === 'status' && e.venue === 'SIMEQ', { what: 'the SIMEQ status at the unrestricted client' });

  // A resume naming the other venue's topic in `since`: ignored, never echoed.
  const held = sim.client.data().at(-1)!;
  const resumed = await entitled(['tick.SIM.*']);
  const since = { 'tick.SIMEQ.AAPL': { epoch: held.epoch, seq: 1 }, [held.topic]: { epoch: held.epoch, seq: held.seq } };
  t.like(await resumed.client.request({ op: 'subscribe', id: 3, topics: ['tick.SIM.*'], since }), { type: 'subscribed' });
  await resumed.client.waitFor((e) => e.type === 'tick', { what: 'a tick after the resume' });

  // A reader that stops reading is conflated; what it gets when it reads again is its own venue's.
  const slow = await entitled(['tick.SIM.*']);
  await slow.client.request({ op: 'subscribe', id: 4, topics: ['tick.SIM.*'], conflate: true });
  const socket = (slow.client.ws as unknown as { _socket: import('node:net').Socket })._socket;
  const conflatedBefore = gateway.gateway.traffic.conflated;
  socket.pause();
  // A burst of SIM ticks, beyond what the kernel's socket buffers hold for the paused reader.
  const burst = await fabric.publisher();
  const pad = 'x'.repeat(2000);
  for (let i = 0; i < 20_000 && gateway.gateway.traffic.conflated === conflatedBefore; i++) {
    burst.publish({ venue: 'SIM', symbol: `BURST${i % 20}`, bid: i, ask: i + 1, pad });
    if (i % 200 === 199) await quietFor(5);
  }
  t.true(gateway.gateway.traffic.conflated > conflatedBefore, 'the paused reader was conflated');
  socket.resume();
  const before = slow.client.data().length;
  await slow.client.until(() => slow.client.data().length > before + 5, 10_000, () => 'ticks after the pause');

  await quietFor(300);
  for (const [name, c] of [['the subscribed client', sim], ['the resumed client', resumed], ['the conflated client', slow]] as const) assertNoLeak(t, name, c.received());
  t.true(FOREIGN.every((word) => everything.received().includes(word)), 'the unrestricted client, beside them all along, did receive the other venue');
});
