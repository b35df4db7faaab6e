/**
 * Exact money: decimal text <-> bigint minor units, rates as 18-decimal fixed point, and the PvP
 * maker amount from a rate, all in integer arithmetic (never a JavaScript number), exactly as the
 * Python library (deptoken.amounts, deptoken.settlement.pvp) computes them.
 */
import { rateDecimals } from './generated/eip712.js';
import { SdkError } from './errors.js';

const PLAIN = /^\+?(\d+)(?:\.(\d+))?$/;

/**
 * Currency units as plain decimal text ("125.50") to minor units (12550n for 2 decimals). Refuses
 * numbers (floats), exponents, separators, more decimal places than `decimals`, and zero or
 * negative amounts unless `allowZero`.
 */
export function parseAmount(text: string, decimals: number, { allowZero = false, what = 'amount' } = {}): bigint {
  if (typeof text !== 'string') {
    throw new SdkError(`${what} ${String(text)} must be given as decimal text (e.g. "125.50"), never as a number`);
  }
  const match = PLAIN.exec(text.trim());
  if (!match) throw new SdkError(`${what} ${JSON.stringify(text)} is not a plain decimal number such as 125.50`);
  const whole = match[1];
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > decimals) throw new SdkError(`${what} ${JSON.stringify(text)} has more than ${decimals} decimal places`);
  const units = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
  if (units === 0n && !allowZero) throw new SdkError(`${what} ${JSON.stringify(text)} must be positive`);
  if (units >= 2n ** 256n) throw new SdkError(`${what} ${JSON.stringify(text)} is too large`);
  return units;
}

/** Minor units as plain decimal text with exactly `decimals` places: 12550n -> "125.50". */
export function formatAmount(units: bigint, decimals: number): string {
  const sign = units < 0n ? '-' : '';
  const abs = units < 0n ? -units : units;
  const scale = 10n ** BigInt(decimals);
  const whole = (abs / scale).toString();
  return decimals ? `${sign}${whole}.${(abs % scale).toString().padStart(decimals, '0')}` : `${sign}${whole}`;
}

/** A rate ("7.1234") as 18-decimal fixed point (7123400000000000000n); positive, at most 18 decimals. */
export function parseRate(text: string): bigint {
  return parseAmount(text, rateDecimals, { what: 'rate' });
}

/** An 18-decimal fixed-point rate as text without trailing zeros: "7.1234". */
export function formatRate(rate: bigint): string {
  const text = formatAmount(rate, rateDecimals);
  return text.replace(/\.?0+$/, '');
}

/**
 * The maker's amount of a PvP quote: floor(takerAmount x rate), in the maker token's minor units.
 * `takerAmount` in the taker token's minor units, `rate` 18-decimal fixed point (maker currency
 * units per taker currency unit). Rounded down, in the maker's favour.
 */
export function makerAmountFor(
  takerAmount: bigint,
  rate: bigint,
  { makerDecimals, takerDecimals }: { makerDecimals: number; takerDecimals: number },
): bigint {
  return (takerAmount * rate * 10n ** BigInt(makerDecimals)) / 10n ** BigInt(takerDecimals + rateDecimals);
}
