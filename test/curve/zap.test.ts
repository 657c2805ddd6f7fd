/**
 * The process's ZAP handler (ZeroMQ RFC 27): its replies frame by frame, its life across
 * users, and its bounded logging of refusals.
 */
import test from 'ava';
import { pino } from 'pino';
import { curveKeyPair } from 'zeromq';
import { decodeKey } from '../../src/curve/z85.js';
import { zapHandler } from '../../src/curve/zap.js';
import type { Logger } from '../../src/log/index.js';

const lines: { msg: string; endpoint?: string }[] = [];
const log: Logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) });
const keyBytes = (z85: string) => (decodeKey(z85) as { bytes: Buffer }).bytes;
const text = (frames: (Buffer | string)[]) => frames.map((frame) => frame.toString());

/** A ZAP request as libzmq sends it through the handler's ROUTER: routing id, delimiter, then RFC 27's frames. */
function request(domain: string, mechanism: string, ...credentials: Buffer[]): Buffer[] {
  const frames: Buffer[] = ['peer', '', '1.0', 'req-7', domain, '127.0.0.1', '', mechanism].map((frame) => Buffer.from(frame));
  return [...frames, ...credentials];
}

test.serial('replies: 200 with the key as user id for an allowed key, 400 for another key, another mechanism or an unknown domain, 500 for another version', async (t) => {
  zapHandler.attach(log);
  t.teardown(() => zapHandler.detach());
  const allowed = curveKeyPair().publicKey;
  const domain = await zapHandler.register({ endpoint: () => 'tcp://127.0.0.1:5555', allows: (key) => key.equals(keyBytes(allowed)) });
  t.teardown(() => zapHandler.unregister(domain));
  const deniedBefore = zapHandler.denied.get('tcp://127.0.0.1:5555') ?? 0;

  t.deepEqual(text(zapHandler.reply(request(domain, 'CURVE', keyBytes(allowed)))), ['peer', '', '1.0', 'req-7', '200', 'OK', allowed, '']);
  t.deepEqual(text(zapHandler.reply(request(domain, 'CURVE', keyBytes(curveKeyPair().publicKey)))).slice(3, 6), ['req-7', '400', 'key not allowed']);
  t.deepEqual(text(zapHandler.reply(request(domain, 'NULL'))).slice(4, 6), ['400', 'CURVE required']);
  t.deepEqual(text(zapHandler.reply(request(domain, 'CURVE', Buffer.alloc(5)))).slice(4, 6), ['400', 'CURVE required']);
  t.deepEqual(text(zapHandler.reply(request('tickfan-unknown', 'CURVE', keyBytes(allowed)))).slice(4, 6), ['400', 'unknown domain']);
  const otherVersion = request(domain, 'CURVE', keyBytes(allowed));
  otherVersion[2] = Buffer.from('2.0');
  t.deepEqual(text(zapHandler.reply(otherVersion)).slice(2, 5), ['1.0', 'req-7', '500']);
  t.is((zapHandler.denied.get('tcp://127.0.0.1:5555') ?? 0) - deniedBefore, 3, 'each refused peer counted on its endpoint (the unknown domain has none)');
});

test.serial('the handler binds again at once after its last user closed it (libzmq frees the inproc address a moment later)', async (t) => {
  for (let cycle = 0; cycle < 20; cycle++) {
    zapHandler.attach(log);
    const domain = await zapHandler.register({ endpoint: () => 'x', allows: () => true });
    zapHandler.unregister(domain);
    await zapHandler.detach();
  }
  t.pass('20 cycles of bind, register, close');
  await t.throwsAsync(() => zapHandler.register({ endpoint: () => 'x', allows: () => true }), { message: /not running/ });
});

test.serial('refusals log once per endpoint and key, and at most 20 lines a minute per endpoint however many keys try', (t) => {
  zapHandler.attach(log);
  t.teardown(() => zapHandler.detach());
  const endpoint = 'tcp://127.0.0.1:15999';
  const before = lines.length;
  for (let i = 0; i < 3; i++) zapHandler.refuse(endpoint, 'the same key', undefined);
  t.is(lines.length - before, 1, 'one key retrying: one line');
  for (let i = 0; i < 500; i++) zapHandler.refuse(endpoint, `key ${i}`, undefined);
  t.is(lines.slice(before).filter((line) => line.endpoint === endpoint).length, 20, 'a new key per attempt: 20 lines');
  t.is(zapHandler.denied.get(endpoint), 503, 'every refusal counted');
});
