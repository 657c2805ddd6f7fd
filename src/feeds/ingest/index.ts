/** The ZeroMQ ingest edge: other programs push [topic, JSON record]; tickfan sequences and publishes. */
export { IngestAdapter, decodePush, type IngestOptions } from './ingest.js';
