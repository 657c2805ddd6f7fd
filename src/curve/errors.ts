import type { CurveSetting } from './settings.js';

/**
 * Why the fabric cannot be secured as configured: a certificate missing, unreadable or
 * malformed, or no CURVE in the zeromq build. Names the setting to fix; `tickfan start`
 * exits 2 on it.
 */
export class CurveError extends Error {
  override readonly name = 'CurveError';

  constructor(readonly setting: CurveSetting | 'curve.enabled', problem: string) {
    super(`${setting}: ${problem}`);
  }
}
