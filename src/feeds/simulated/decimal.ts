const MAX_DECIMALS = 12;

/** A decimal step such as a tick or lot size, as an integer number of 10^-decimals units. */
export interface DecimalStep {
  /** The step in units of 1/scale, e.g. 5 for 0.5. */
  readonly units: number;
  /** 10^decimals, exact. */
  readonly scale: number;
  readonly decimals: number;
}

/** Finds the fewest decimals that represent `step` exactly; throws a RangeError when there is none up to 12. */
export function decimalStep(step: number): DecimalStep {
  if (!(Number.isFinite(step) && step > 0)) throw new RangeError(`step ${step} is not a positive finite number`);
  let scale = 1;
  for (let decimals = 0; decimals <= MAX_DECIMALS; decimals++) {
    const units = Math.round(step * scale);
    if (units > 0 && units / scale === step) return { units, scale, decimals };
    scale *= 10;
  }
  throw new RangeError(`step ${step} has more than ${MAX_DECIMALS} decimals`);
}

/**
 * The decimal value of `count` steps. count * units is an exact integer and dividing it by an
 * exact power of ten yields the double nearest to the decimal, whose shortest representation
 * (what JSON.stringify prints) is that decimal itself: no 0.30000000000000004.
 */
export function stepsToDecimal(count: number, step: DecimalStep): number {
  return (count * step.units) / step.scale;
}
