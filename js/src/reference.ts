/** Bank references (deposit, payout, burn, legal order), order ids and shipment references as the contracts record them. */
import { type Hex, keccak256, stringToHex } from 'viem';
import { SdkError } from './errors.js';

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/**
 * The bytes32 the contracts record for a reference: `0x` + 64 hex digits is the value itself; any
 * other text ("DEP-2026-000123") is keccak-256 of its UTF-8 bytes (so no client data is on-chain in
 * clear; the bank's reconciliation matches on this hash). Surrounding whitespace is ignored; empty
 * and zero references are refused. As deptoken.validation.reference_to_bytes32.
 */
export function encodeReference(reference: string, what = 'reference'): Hex {
  const text = String(reference).trim();
  if (!text) throw new SdkError(`${what} must not be empty`);
  const value = (BYTES32.test(text) ? text.toLowerCase() : keccak256(stringToHex(text))) as Hex;
  if (/^0x0{64}$/.test(value)) throw new SdkError(`${what} must not be zero`);
  return value;
}

/** A fresh random 32-byte nonce (EIP-3009 authorizations, PvP quotes). */
export function randomNonce(): Hex {
  const bytes = new Uint8Array(32);
  (globalThis as unknown as { crypto: { getRandomValues(a: Uint8Array): Uint8Array } }).crypto.getRandomValues(bytes);
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
