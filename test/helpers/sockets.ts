import { zmqSocketOptions } from '../../src/config/index.js';

/** Socket options for tests: no linger (a closed test socket goes at once), the default keepalives. */
export const TEST_SOCKETS = zmqSocketOptions({ lingerMs: 0 });
