import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { decodeMessage, type DecodedMessage, type Frames } from '../wire/index.js';
import type { StoredMessage } from './store.js';

const FORMAT = 'tickfan-snapshot';
const VERSION = 1;

/** The save in progress per file, so that saves of one file run one after another. */
const saving = new Map<string, Promise<void>>();

/**
 * The last-value cache on disk: a header line, then one line per topic holding its three
 * frames in base64, byte for byte as received (a book topic's: the snapshot record of its whole
 * book, as SNAPSHOT serves it, so that a reload has the whole book at its seq). Written to a temporary file, flushed and
 * renamed over the old one, so a crash mid-write leaves the previous file intact.
 *
 * The records are taken when the call is made; saves of the same file made while one is in
 * progress wait for it (they would share its temporary file), so the last call's records are
 * the ones left on disk.
 */
export async function saveSnapshotFile(file: string, messages: Iterable<StoredMessage>): Promise<number> {
  const lines: string[] = [];
  for (const { frames } of messages) lines.push(JSON.stringify(frames.map((frame) => frame.toString('base64'))));
  const header = JSON.stringify({ format: FORMAT, version: VERSION, count: lines.length, savedAt: new Date().toISOString() });
  const text = `${header}\n${lines.join('\n')}${lines.length ? '\n' : ''}`;
  const key = resolve(file);
  const save = (saving.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => writeAtomically(file, text));
  saving.set(key, save);
  try {
    await save;
  } finally {
    if (saving.get(key) === save) saving.delete(key);
  }
  return lines.length;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** The persisted file is not a whole, readable snapshot (truncated, another version): it is set aside, not trusted. */
export class CorruptSnapshotFile extends Error {
  override readonly name = 'CorruptSnapshotFile';
}

/**
 * Reads a snapshot file back; every record is validated as if it came off the wire, and comes
 * back decoded, so that a book record rebuilds its book. A file
 * that is corrupt or truncated anywhere is refused whole (CorruptSnapshotFile), because a
 * partial state would look complete to clients. A missing file is an empty state.
 */
export async function loadSnapshotFile(file: string): Promise<DecodedMessage[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header = parseLine(lines[0] ?? '', 1);
  if (!isHeader(header)) throw new CorruptSnapshotFile(`line 1 is not a ${FORMAT} v${VERSION} header`);
  const held = lines.length - 1;
  if (header.count !== held) {
    throw new CorruptSnapshotFile(`line 1: the header promises ${header.count} records, the file holds ${held}${held < header.count ? ' (truncated?)' : ''}`);
  }
  return lines.slice(1).map((line, i) => loadRecord(line, i + 2));
}

function loadRecord(line: string, lineNumber: number): DecodedMessage {
  const encoded = parseLine(line, lineNumber);
  if (!Array.isArray(encoded) || encoded.length !== 3 || !encoded.every((f) => typeof f === 'string')) {
    throw new CorruptSnapshotFile(`line ${lineNumber} is not an array of 3 base64 frames`);
  }
  const frames = encoded.map((f: string) => Buffer.from(f, 'base64')) as unknown as Frames;
  try {
    return decodeMessage(frames);
  } catch (err) {
    throw new CorruptSnapshotFile(`line ${lineNumber}: ${(err as Error).message}`);
  }
}

function isHeader(value: unknown): value is { count: number } {
  if (typeof value !== 'object' || value === null) return false;
  const { format, version, count } = value as Record<string, unknown>;
  return format === FORMAT && version === VERSION && Number.isSafeInteger(count) && (count as number) >= 0;
}

function parseLine(line: string, lineNumber: number): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new CorruptSnapshotFile(`line ${lineNumber} is not JSON`);
  }
}
