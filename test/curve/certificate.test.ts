import test from 'ava';
import fc from 'fast-check';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curveKeyPair } from 'zeromq';
import { CertificateError, KeysError, loadCertificate, loadPublicKeys, writeKeyPair } from '../../src/curve/index.js';
import { decodeKey } from '../../src/curve/z85.js';

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tickfan-curve-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A certificate file as pyzmq writes it, with the given curve entries. */
function certificateText(entries: Record<string, string>): string {
  const lines = Object.entries(entries).map(([name, value]) => `    ${name} = "${value}"`);
  return ['#   ****  Generated on 2026-01-01 by pyzmq  ****', '', 'metadata', 'curve', ...lines, ''].join('\n');
}

function refusal(file: string, expected: RegExp) {
  return (t: import('ava').ExecutionContext) => {
    const err = t.throws(() => loadCertificate(file, 'secret'), { instanceOf: CertificateError });
    t.true(err!.message.includes(file), `names the file: ${err!.message}`);
    t.regex(err!.message, expected);
  };
}

test('writeKeyPair writes a public and a 0600 secret certificate that loadCertificate reads back', (t) => {
  const dir = join(tempDir(t), 'made', 'here');
  const pair = writeKeyPair(dir, 'alice');
  t.is(pair.publicFile, join(dir, 'alice.key'));
  t.is(pair.secretFile, join(dir, 'alice.key_secret'));
  t.is(statSync(pair.secretFile).mode & 0o777, 0o600);
  t.is(statSync(pair.publicFile).mode & 0o022, 0, 'the public file is writable by its owner alone');
  const secret = loadCertificate(pair.secretFile, 'secret');
  t.is(secret.publicKey, pair.publicKey);
  t.is(secret.secretKey.length, 40);
  t.deepEqual(loadCertificate(pair.publicFile), { file: pair.publicFile, publicKey: pair.publicKey });
  t.false(readFileSync(pair.publicFile, 'utf8').includes('secret-key'), 'the public file holds no secret');
});

test('writeKeyPair refuses to overwrite either file of an existing pair, and leaves it untouched', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'bob.key_secret'), 'keep me');
  const err = t.throws(() => writeKeyPair(dir, 'bob'), { instanceOf: KeysError });
  t.regex(err!.message, /bob\.key_secret exists; refusing to overwrite/);
  t.is(readFileSync(join(dir, 'bob.key_secret'), 'utf8'), 'keep me');
  t.throws(() => statSync(join(dir, 'bob.key')), undefined, 'no half pair written');
  writeKeyPair(dir, 'carol');
  t.throws(() => writeKeyPair(dir, 'carol'), { instanceOf: KeysError, message: /carol\.key exists/ });
});

test('writeKeyPair refuses a NAME that is not a plain file name', (t) => {
  const dir = tempDir(t);
  for (const name of ['', '.', '..', 'a/b', '../up']) {
    t.throws(() => writeKeyPair(dir, name), { instanceOf: KeysError, message: /NAME must be a plain file name/ }, JSON.stringify(name));
  }
});

test('loadPublicKeys reads every *.key of a directory in name order and nothing else', (t) => {
  const dir = tempDir(t);
  const b = writeKeyPair(dir, 'b');
  const a = writeKeyPair(dir, 'a');
  writeFileSync(join(dir, 'README'), 'not a certificate');
  t.deepEqual(loadPublicKeys(dir).map((c) => [c.file, c.publicKey, c.secretKey]), [
    [a.publicFile, a.publicKey, undefined],
    [b.publicFile, b.publicKey, undefined],
  ]);
});

test('loadPublicKeys refuses the whole directory when one certificate is bad, naming it', (t) => {
  const dir = tempDir(t);
  writeKeyPair(dir, 'good');
  writeFileSync(join(dir, 'typo.key'), certificateText({ 'public-key': 'short' }));
  t.throws(() => loadPublicKeys(dir), { instanceOf: CertificateError, message: /typo\.key: public-key is malformed: a key is 40 Z85 characters, this one has 5/ });
});

test('loadPublicKeys refuses a missing directory and a file given as one', (t) => {
  const dir = tempDir(t);
  t.throws(() => loadPublicKeys(join(dir, 'absent')), { instanceOf: CertificateError, message: /certificate directory .*absent: cannot read it \(ENOENT\)/ });
  writeFileSync(join(dir, 'plain'), '');
  t.throws(() => loadPublicKeys(join(dir, 'plain')), { instanceOf: CertificateError, message: /plain: not a directory/ });
});

test('loadCertificate refuses a missing file', (t) => {
  const file = join(tempDir(t), 'nobody.key_secret');
  refusal(file, /no such file/)(t);
});

test('loadCertificate refuses an unreadable file', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'dir.key');
  mkdirSync(file);
  refusal(file, /cannot read it \(EISDIR\)/)(t);
  if (process.getuid?.() !== 0) {
    const locked = writeKeyPair(dir, 'locked').secretFile;
    chmodSync(locked, 0);
    refusal(locked, /cannot read it \(EACCES\)/)(t);
  }
});

test('loadCertificate refuses text that is not a certificate', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'notes.key');
  writeFileSync(file, 'public-key = "nothing here is in a curve section"\n');
  refusal(file, /not a CURVE certificate: no "curve" section/)(t);
  writeFileSync(file, 'curve\n    secret = "x"\n');
  refusal(file, /the curve section has no public-key/)(t);
  writeFileSync(file, 'curve\n    public-key "no equals sign"\n');
  refusal(file, /line 2 is not "name = value"/)(t);
});

test('loadCertificate refuses malformed keys, saying what is wrong with them', (t) => {
  const file = join(tempDir(t), 'bad.key_secret');
  const { publicKey, secretKey } = curveKeyPair();
  const cases: [Record<string, string>, RegExp][] = [
    [{ 'public-key': publicKey.slice(1) }, /public-key is malformed: a key is 40 Z85 characters, this one has 39/],
    [{ 'public-key': `${publicKey.slice(0, 39)}~` }, /public-key is malformed: character 40 \("~"\) is not a Z85 character/],
    [{ 'public-key': `#####${publicKey.slice(5)}` }, /public-key is malformed: characters 1-5 are worth more than 32 bits/],
    [{ 'public-key': publicKey, 'secret-key': secretKey.slice(2) }, /secret-key is malformed: a key is 40 Z85 characters, this one has 38/],
    [{ 'public-key': curveKeyPair().publicKey, 'secret-key': secretKey }, /secret-key does not belong to public-key/],
  ];
  for (const [entries, expected] of cases) {
    writeFileSync(file, certificateText(entries));
    refusal(file, expected)(t);
  }
  writeFileSync(file, `${certificateText({ 'public-key': publicKey, 'secret-key': secretKey })}    public-key = "${publicKey}"\n`);
  refusal(file, /public-key appears twice/)(t);
});

test('loadCertificate reads the ZPL variants czmq writes or accepts: CRLF lines, quotes of either kind or none, trailing comments, other sections', (t) => {
  const file = join(tempDir(t), 'variant.key_secret');
  // A pair whose secret key holds a '#' (a Z85 character), which a bare value must keep.
  let pair = curveKeyPair();
  while (!pair.secretKey.includes('#')) pair = curveKeyPair();
  const { publicKey, secretKey } = pair;
  const decoy = curveKeyPair().publicKey;
  const variants = [
    `curve\r\n    public-key = "${publicKey}"\r\n    secret-key = "${secretKey}"\r\n`,
    `metadata\n    name = "feed 1"\n    public-key = "${decoy}"\ncurve\n  public-key='${publicKey}'   # ours\n  secret-key = ${secretKey} # bare\n`,
  ];
  for (const text of variants) {
    writeFileSync(file, text);
    const certificate = loadCertificate(file, 'secret');
    t.deepEqual([certificate.publicKey, certificate.secretKey], [publicKey, secretKey], JSON.stringify(text));
  }
});

test('loadCertificate refuses a public certificate where a secret one is needed, and accepts it where a public one is', (t) => {
  const { publicFile } = writeKeyPair(tempDir(t), 'server');
  refusal(publicFile, /no secret-key: this is a public certificate, a secret one \(NAME\.key_secret\) is needed here/)(t);
  t.notThrows(() => loadCertificate(publicFile));
});

test('decodeKey: every 40-character Z85 text whose groups fit 32 bits decodes to 32 bytes; any other character or length is refused', (t) => {
  const z85Char = fc.constantFrom(...Z85);
  const group = fc.array(z85Char, { minLength: 5, maxLength: 5 }).map((chars) => chars.join(''));
  const fits = (g: string) => [...g].reduce((value, char) => value * 85 + Z85.indexOf(char), 0) <= 0xffffffff;
  t.notThrows(() => fc.assert(fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
    const result = decodeKey(groups.join(''));
    return groups.every(fits) ? 'bytes' in result && result.bytes.length === 32 : 'error' in result && /worth more than 32 bits/.test(result.error);
  })));
  t.notThrows(() => fc.assert(fc.property(fc.string({ maxLength: 80 }), (text) => {
    const result = decodeKey(text);
    const plausible = text.length === 40 && [...text].every((char) => Z85.includes(char));
    return plausible || 'error' in result;
  })));
});

test('loadCertificate on arbitrary file contents returns a certificate or throws a CertificateError, nothing else', (t) => {
  const file = join(tempDir(t), 'fuzz.key_secret');
  const { publicKey, secretKey } = curveKeyPair();
  const valid = certificateText({ 'public-key': publicKey, 'secret-key': secretKey });
  // Random bytes, and the valid certificate with one byte replaced: the edits a reader most likely meets.
  const contents = fc.oneof(
    fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
    fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
      const edited = Buffer.from(valid);
      edited[at] = byte;
      return edited;
    }),
  );
  let accepted = 0;
  t.notThrows(() => fc.assert(fc.property(contents, (bytes) => {
    writeFileSync(file, bytes);
    try {
      const certificate = loadCertificate(file, 'secret');
      accepted++;
      // Whatever edit survived validation (a comment, whitespace, a metadata value), the keys are the pair's.
      return certificate.publicKey === publicKey && certificate.secretKey === secretKey;
    } catch (err) {
      return err instanceof CertificateError && err.message.startsWith(`certificate ${file}: `);
    }
  }), { numRuns: 500 }));
  t.log(`${accepted} of 500 contents accepted`);
});
