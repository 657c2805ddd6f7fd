/** The Z85 alphabet (ZeroMQ RFC 32), in which CURVE keys are written: 5 characters per 4 bytes. */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const DIGIT = new Map([...ALPHABET].map((char, value) => [char, value]));

/** A CURVE key is 32 bytes, which Z85 writes as 40 characters. */
export const KEY_BYTES = 32;
export const KEY_CHARS = 40;

/**
 * The 32 bytes of a Z85-written CURVE key, or the reason the text is not one: wrong length,
 * a character outside the alphabet, or a 5-character group worth more than 32 bits.
 */
export function decodeKey(text: string): { bytes: Buffer } | { error: string } {
  if (text.length !== KEY_CHARS) return { error: `a key is ${KEY_CHARS} Z85 characters, this one has ${text.length}` };
  const bytes = Buffer.alloc(KEY_BYTES);
  for (let group = 0; group < KEY_CHARS / 5; group++) {
    let value = 0;
    for (let i = group * 5; i < group * 5 + 5; i++) {
      const digit = DIGIT.get(text[i]!);
      if (digit === undefined) return { error: `character ${i + 1} (${JSON.stringify(text[i])}) is not a Z85 character` };
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) return { error: `characters ${group * 5 + 1}-${group * 5 + 5} are worth more than 32 bits` };
    bytes.writeUInt32BE(value, group * 4);
  }
  return { bytes };
}

/** The Z85 text of a 32-byte key, as czmq and pyzmq print keys (what an operator greps a certificate directory for). */
export function encodeKey(bytes: Buffer): string {
  let text = '';
  for (let offset = 0; offset + 4 <= bytes.length; offset += 4) {
    let value = bytes.readUInt32BE(offset);
    let group = '';
    for (let i = 0; i < 5; i++) {
      group = ALPHABET[value % 85]! + group;
      value = Math.floor(value / 85);
    }
    text += group;
  }
  return text;
}
