import { decodeEnvelope, decodeRecord, WireError, type DecodedMessage, type Envelope } from '../../wire/index.js';

/**
 * One message as a shared socket received it, decoded at most once however many readers
 * want it: its envelope (topic and header) when the first reader asks, its record (the JSON
 * parse, the costly half) only when some reader takes it on. A message that breaks the
 * contract throws the same WireError to every reader, and each counts it as its own.
 */
export class Received {
  private envelopeResult: Envelope | WireError | undefined;
  private messageResult: DecodedMessage | WireError | undefined;

  constructor(readonly frames: Buffer[]) {}

  get topicFrame(): Buffer | undefined {
    return this.frames[0];
  }

  /** Frame count, topic and header checked; throws a WireError when one is wrong. */
  envelope(): Envelope {
    this.envelopeResult ??= attempt(() => decodeEnvelope(this.frames));
    if (this.envelopeResult instanceof WireError) throw this.envelopeResult;
    return this.envelopeResult;
  }

  /** The whole message, record validated; throws a WireError when anything is wrong. */
  message(): DecodedMessage {
    this.messageResult ??= attempt(() => decodeRecord(this.envelope()));
    if (this.messageResult instanceof WireError) throw this.messageResult;
    return this.messageResult;
  }
}

function attempt<T>(decode: () => T): T | WireError {
  try {
    return decode();
  } catch (err) {
    if (err instanceof WireError) return err;
    throw err;
  }
}
