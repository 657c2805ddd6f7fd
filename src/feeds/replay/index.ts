/** Replay of recorded files (NDJSON from `tickfan record`, or CSV) at a chosen pace. */
export { ReplayFeed, type ReplayOptions } from './replay.js';
export { CSV_COLUMNS, parseCsvLine, parseRecordedLine, recordedLine, type RecordedLine, type ReplayEntry } from './format.js';
