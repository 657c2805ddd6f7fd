import { zmqSocketOptions } from '../../src/config/index.js';

/** Socket options of the bench's own publishers and proxies: no linger, the default keepalives. */
export const BENCH_SOCKETS = zmqSocketOptions({ lingerMs: 0 });
