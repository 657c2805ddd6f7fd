import test from 'ava';
import {
  closeAction, CloseCode, ERROR_CODES, ErrorCode, isErrorCode, isRetryable, parseRequest, patternProblem, RequestError, type ParsedRequest,
} from '../../src/wire/websocket.js';

/** The RequestError parseRequest throws for `text` (fails the test when it parses). */
function refusal(text: string): RequestError {
  try {
    parseRequest(text);
  } catch (err) {
    if (err instanceof RequestError) return err;
    throw err;
  }
  throw new Error(`${text} was accepted`);
}

function refused(t: import('ava').ExecutionContext, request: unknown, code: ErrorCode, id?: string | number, what?: RegExp): void {
  const text = typeof request === 'string' ? request : JSON.stringify(request);
  const err = refusal(text);
  t.is(err.code, code, `${text} -> ${code}`);
  t.is(err.id, id, `${text} echoes id ${String(id)}`);
  t.true(err.message.length > 0);
  if (what) t.regex(err.message, what);
}

// ---- every op ----

test('subscribe: patterns, defaults snapshot and conflate true, no since', (t) => {
  const request = parseRequest('{"op":"subscribe","id":1,"topics":["tick.SIM.BTC-USD","tick.SIM.*"]}');
  t.deepEqual(request, { op: 'subscribe', id: 1, patterns: ['tick.SIM.BTC-USD', 'tick.SIM.*'], snapshot: true, conflate: true, since: new Map() });
});

test('subscribe: every field of the PROTOCOL.md example', (t) => {
  const request = parseRequest(JSON.stringify({
    op: 'subscribe', id: 'a-1', topics: ['tick.SIM.BTC-USD', 'tick.SIM.*'], snapshot: false, conflate: false,
    since: { 'tick.SIM.ETH-USD': { epoch: 3735928559, seq: 1200 } },
  })) as Extract<ParsedRequest, { op: 'subscribe' }>;
  t.is(request.op, 'subscribe');
  t.is(request.id, 'a-1');
  t.false(request.snapshot);
  t.false(request.conflate);
  t.deepEqual([...request.since], [['tick.SIM.ETH-USD', { epoch: 3735928559, seq: 1200 }]]);
});

test('subscribe: duplicate patterns are taken once; "*" alone is everything', (t) => {
  const request = parseRequest('{"op":"subscribe","topics":["*","tick.A.b","*"]}') as Extract<ParsedRequest, { op: 'subscribe' }>;
  t.deepEqual(request.patterns, ['*', 'tick.A.b']);
  t.is(request.id, undefined, 'no id: none echoed');
});

test('unsubscribe, list (prefix defaults to everything) and ping', (t) => {
  t.deepEqual(parseRequest('{"op":"unsubscribe","id":2,"topics":["tick.SIM.*"]}'), { op: 'unsubscribe', id: 2, patterns: ['tick.SIM.*'] });
  t.deepEqual(parseRequest('{"op":"list","id":3,"prefix":"tick.SIM."}'), { op: 'list', id: 3, prefix: 'tick.SIM.' });
  t.deepEqual(parseRequest('{"op":"list","id":3}'), { op: 'list', id: 3, prefix: '' });
  t.deepEqual(parseRequest('{"op":"ping","id":4}'), { op: 'ping', id: 4 });
  t.deepEqual(parseRequest('{"op":"ping","id":"x"}'), { op: 'ping', id: 'x' });
  t.deepEqual(parseRequest('{"op":"ping","id":-1.5}'), { op: 'ping', id: -1.5 }, 'any JSON number is an id');
  t.deepEqual(parseRequest('{"op":"ping"}'), { op: 'ping', id: undefined });
});

test('unknown extra fields of a request are ignored (forward compatibility)', (t) => {
  t.deepEqual(parseRequest('{"op":"ping","id":4,"future":true}'), { op: 'ping', id: 4 });
});

// ---- BAD_REQUEST ----

test('malformed JSON and non-object JSON are BAD_REQUEST without an id', (t) => {
  refused(t, '{"op":"ping",', 'BAD_REQUEST', undefined, /malformed JSON/);
  refused(t, '', 'BAD_REQUEST', undefined, /malformed JSON/);
  refused(t, 'ping', 'BAD_REQUEST', undefined, /malformed JSON/);
  for (const text of ['[]', '[{"op":"ping"}]', '1', '"ping"', 'null', 'true']) refused(t, text, 'BAD_REQUEST', undefined, /JSON object/);
});

test('an unknown or missing op is BAD_REQUEST, with the id echoed', (t) => {
  refused(t, { op: 'subscribed', id: 7, topics: ['*'] }, 'BAD_REQUEST', 7, /unknown op/);
  refused(t, { op: 'PING', id: 'q' }, 'BAD_REQUEST', 'q', /unknown op/);
  refused(t, { id: 8 }, 'BAD_REQUEST', 8, /unknown op/);
  refused(t, { op: 1, id: 9 }, 'BAD_REQUEST', 9, /unknown op/);
  refused(t, { op: 'toString', id: 10 }, 'BAD_REQUEST', 10, /unknown op/);
});

test('an id that is neither a number nor a string is BAD_REQUEST', (t) => {
  for (const id of [true, {}, [1], null]) refused(t, { op: 'ping', id }, 'BAD_REQUEST', undefined, /id/);
});

test('subscribe and unsubscribe: topics must be a non-empty array of strings', (t) => {
  for (const op of ['subscribe', 'unsubscribe']) {
    for (const topics of [undefined, null, 'tick.SIM.*', [], [1], ['tick.SIM.*', null], {}]) {
      refused(t, { op, id: 1, topics }, 'BAD_REQUEST', 1, /topics must be a non-empty array of strings/);
    }
  }
});

test('subscribe: more than 1000 patterns in one request is BAD_REQUEST', (t) => {
  const topics = Array.from({ length: 1001 }, (_, i) => `tick.V.S${i}`);
  refused(t, { op: 'subscribe', id: 1, topics }, 'BAD_REQUEST', 1, /at most 1000/);
  t.is(parseRequest(JSON.stringify({ op: 'subscribe', topics: topics.slice(0, 1000) })).op, 'subscribe');
});

test('subscribe: snapshot and conflate must be booleans', (t) => {
  for (const value of [1, 0, 'true', null, {}]) {
    refused(t, { op: 'subscribe', id: 2, topics: ['*'], snapshot: value }, 'BAD_REQUEST', 2, /snapshot must be true or false/);
    refused(t, { op: 'subscribe', id: 2, topics: ['*'], conflate: value }, 'BAD_REQUEST', 2, /conflate must be true or false/);
  }
});

test('subscribe: since must map valid topics to {epoch 1..2^32-1, seq integer >= 0}', (t) => {
  const bad: unknown[] = [
    [], 'x', 1, null,
    { 'tick.SIM.A': null },
    { 'tick.SIM.A': {} },
    { 'tick.SIM.A': { epoch: 0, seq: 1 } },
    { 'tick.SIM.A': { epoch: 2 ** 32, seq: 1 } },
    { 'tick.SIM.A': { epoch: 1.5, seq: 1 } },
    { 'tick.SIM.A': { epoch: '1', seq: 1 } },
    { 'tick.SIM.A': { epoch: 1, seq: -1 } },
    { 'tick.SIM.A': { epoch: 1, seq: 2 ** 53 } },
    { 'tick.SIM.A': { epoch: 1 } },
    { 'tick.SIM.*': { epoch: 1, seq: 1 } },
    { 'tick..A': { epoch: 1, seq: 1 } },
  ];
  for (const since of bad) refused(t, { op: 'subscribe', id: 3, topics: ['*'], since }, 'BAD_REQUEST', 3, /since/);
  const ok = parseRequest(JSON.stringify({ op: 'subscribe', topics: ['*'], since: { 'tick.SIM.A': { epoch: 0xffff_ffff, seq: 0 } } }));
  t.deepEqual([...(ok as Extract<ParsedRequest, { op: 'subscribe' }>).since], [['tick.SIM.A', { epoch: 0xffff_ffff, seq: 0 }]]);
});

test('list: prefix must be a string of at most 200 characters', (t) => {
  for (const prefix of [1, null, ['tick.'], {}, 'x'.repeat(201)]) refused(t, { op: 'list', id: 5, prefix }, 'BAD_REQUEST', 5, /prefix/);
  t.deepEqual(parseRequest(JSON.stringify({ op: 'list', prefix: 'x'.repeat(200) })), { op: 'list', id: undefined, prefix: 'x'.repeat(200) });
});

// ---- BAD_TOPIC ----

const INVALID_PATTERNS = [
  '', 'tick', 'tick.SIM', 'tick..A', 'tick.SIM.', '.tick.SIM.A', 'tick.SIM.A B', 'tick.SIM.é', 'tick.S*M.A', '**', 'tick.*.A',
  '*tick.SIM.A', 'foo.bar.baz', 'status.SIM.X', 'tick..*', '.*', 'foo.*', 'status.SIM.*', 'tick.SIM.A*B', 'tick.SIM. *',
  `tick.SIM.${'x'.repeat(200)}`, `tick.SIM.${'x'.repeat(200)}*`, 'book.SIM', 'trade..*', 'books.*',
];

const VALID_PATTERNS = [
  '*', 't*', 'tick*', 'tick.*', 'tick.SIM*', 'tick.SIM.*', 'tick.SIM.BTC*', 'tick.SIM.BTC-USD', 'tick.XNYS.BRK.B', 'tick.XNYS.BRK.*',
  'status.SIM', 'status.*', 'status.SI*', 's*', 'tick.a_b.c/d:e+f=g^h',
  'b*', 'book.*', 'book.SIM.*', 'book.SIM.BTC-USD', 'tr*', 'trade.*', 'trade.SIM.BTC-USD',
];

test('patternProblem: exact topics and topic prefixes followed by * are valid', (t) => {
  for (const pattern of VALID_PATTERNS) t.is(patternProblem(pattern), undefined, pattern);
});

test('patternProblem: anything that is neither a topic nor a prefix of one followed by * is invalid', (t) => {
  for (const pattern of INVALID_PATTERNS) t.not(patternProblem(pattern), undefined, JSON.stringify(pattern));
});

test('subscribe and unsubscribe with any invalid pattern are BAD_TOPIC as a whole', (t) => {
  for (const op of ['subscribe', 'unsubscribe']) {
    for (const bad of INVALID_PATTERNS) {
      refused(t, { op, id: 'b', topics: ['tick.SIM.*', bad] }, 'BAD_TOPIC', 'b');
      refused(t, { op, id: 'b', topics: [bad, 'tick.SIM.BTC-USD'] }, 'BAD_TOPIC', 'b');
    }
  }
});

// ---- the codes of the contract ----

test('error codes: the six of PROTOCOL.md section 5; only RATE_LIMITED and UNAVAILABLE may be retried', (t) => {
  t.deepEqual([...ERROR_CODES].sort(), ['BAD_REQUEST', 'BAD_TOPIC', 'FORBIDDEN', 'RATE_LIMITED', 'TOO_MANY_SUBSCRIPTIONS', 'UNAVAILABLE']);
  t.deepEqual(ERROR_CODES.filter(isRetryable).sort(), [ErrorCode.RATE_LIMITED, ErrorCode.UNAVAILABLE]);
  t.true(isErrorCode('UNAVAILABLE'));
  t.false(isErrorCode('SOMETHING_NEW'));
  t.false(isErrorCode('toString'), 'not an inherited property');
});

test('close codes: what a client does on each', (t) => {
  t.like(CloseCode, { NORMAL: 1000, GOING_AWAY: 1001, ABNORMAL: 1006, POLICY: 1008, TOO_BIG: 1009, SERVICE_RESTART: 1012, UNAUTHENTICATED: 4001, FORBIDDEN: 4003, SLOW_CONSUMER: 4008 });
  const actions = Object.fromEntries(Object.entries(CloseCode).map(([name, code]) => [name, closeAction(code)]));
  t.deepEqual(actions, {
    NORMAL: 'reconnect', GOING_AWAY: 'reconnect', ABNORMAL: 'reconnect', POLICY: 'reconnect', TOO_BIG: 'reconnect',
    SERVICE_RESTART: 'reconnect_spread', UNAUTHENTICATED: 'reauthenticate', FORBIDDEN: 'stop', SLOW_CONSUMER: 'reconnect',
  });
  t.is(closeAction(1011), 'reconnect', 'a code of another server or a proxy reconnects');
});

test('RequestError is an Error named RequestError', (t) => {
  const err = refusal('{');
  t.true(err instanceof Error);
  t.is(err.name, 'RequestError');
});
