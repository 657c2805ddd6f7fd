import { isSnapshotCommand } from '../wire/index.js';

/**
 * Splits a ROUTER message into the routing envelope (up to the empty delimiter) and the request
 * body; undefined when the delimiter is missing. A command word among the routing ids means a
 * DEALER sent its request without the delimiter, and an empty frame of the request itself (the
 * empty prefix of `SNAPSHOT ""`, an empty field) was about to be taken for it.
 */
export function splitEnvelope(frames: readonly Buffer[]): { envelope: Buffer[]; body: Buffer[] } | undefined {
  const delimiter = frames.findIndex((frame) => frame.length === 0);
  if (delimiter < 1) return undefined;
  for (let i = 1; i < delimiter; i++) {
    if (isSnapshotCommand(frames[i]!)) return undefined;
  }
  return { envelope: frames.slice(0, delimiter + 1), body: frames.slice(delimiter + 1) };
}
