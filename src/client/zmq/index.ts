export { TickStream, type TickStreamOptions } from './stream.js';
