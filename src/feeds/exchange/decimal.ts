/** A plain decimal as exchanges send them: "64000.5", "0.00010000", "-1.25"; no exponent, no spaces. */
const DECIMAL = /^-?\d+(?:\.\d+)?$/;
/** Beyond this many significant digits a double no longer holds every decimal exactly. */
const MAX_SIGNIFICANT_DIGITS = 15;

/**
 * The number a decimal string names. Number() of a decimal of at most 15 significant digits is
 * the double whose shortest representation (what JSON.stringify prints) is that decimal again,
 * so "0.3" stays 0.3 on the wire. Anything else (exponents, hex, "NaN", spaces, digits a double
 * cannot hold) is refused with a RangeError rather than silently rounded.
 */
export function parseDecimal(text: unknown): number {
  if (typeof text !== 'string' || !DECIMAL.test(text)) {
    throw new RangeError(`${JSON.stringify(text) ?? String(text)} is not a decimal string`);
  }
  if (significantDigits(text) > MAX_SIGNIFICANT_DIGITS) {
    throw new RangeError(`${text} has more than ${MAX_SIGNIFICANT_DIGITS} significant digits`);
  }
  return Number(text);
}

function significantDigits(text: string): number {
  const digits = text.replace(/^-/, '').replace('.', '').replace(/^0+/, '');
  return digits.replace(/0+$/, '').length;
}

/**
 * An exact running sum of decimal strings (e.g. traded quantities), held as a scaled BigInt:
 * adding "0.1" and "0.2" gives 0.3, never 0.30000000000000004.
 */
export class DecimalSum {
  private units = 0n;
  private decimals = 0;

  add(text: string): void {
    parseDecimal(text);
    const [whole, fraction = ''] = text.split('.') as [string, string?];
    if (fraction.length > this.decimals) {
      this.units *= 10n ** BigInt(fraction.length - this.decimals);
      this.decimals = fraction.length;
    }
    this.units += BigInt(whole + fraction.padEnd(this.decimals, '0'));
  }

  /** The sum as the double nearest to it; exact in JSON while it has at most 15 significant digits. */
  value(): number {
    if (this.decimals === 0) return Number(this.units);
    const negative = this.units < 0n;
    const digits = (negative ? -this.units : this.units).toString().padStart(this.decimals + 1, '0');
    const point = digits.length - this.decimals;
    return Number(`${negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`);
  }
}

const ISO_UTC = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

/** Microseconds since the Unix epoch of an ISO-8601 UTC time such as "2026-11-25T17:03:38.061769Z". */
export function isoToMicros(text: unknown): number {
  const match = typeof text === 'string' ? ISO_UTC.exec(text) : null;
  const seconds = match ? Date.parse(`${match[1]}Z`) : NaN;
  if (!match || Number.isNaN(seconds)) throw new RangeError(`${JSON.stringify(text) ?? String(text)} is not an ISO-8601 UTC time`);
  return seconds * 1000 + Number((match[2] ?? '').padEnd(6, '0').slice(0, 6));
}
