/**
 * The signed files the Python tooling writes and reads (deptoken auth, deptoken pvp quote,
 * deptoken escrow sign-funding): `{"typedData": {...}, "signature": "0x..."}`, and for an escrow
 * funding also `"escrow"` and `"terms"`. Written here byte for byte as Python writes them (2-space
 * JSON, uints of the message as decimal text, the domain's chainId a number, addresses checksummed,
 * types with EIP712Domain), so a file signed in JavaScript is verified and submitted by
 * `deptoken auth verify/submit`, `deptoken pvp settle`, `deptoken escrow fund`, and the other way round.
 *
 * The reader also takes what the common libraries emit: ethers' TypedDataEncoder.getPayload (hex
 * chainId, uints as hex text), types without EIP712Domain, lower-case addresses.
 */
import { type Address, type Hex, getAddress } from 'viem';
import { eip712DomainType } from './generated/eip712.js';
import { AUTHORIZATION_TYPES } from './authorizations.js';
import { SdkError } from './errors.js';
import { type OrderTerms, type SignedFunding, checkFunding } from './escrow.js';
import { type SignedPayment, checkPayment } from './interbank.js';
import { quoteTypes, routedQuoteTypes } from './generated/eip712.js';
import type { Domain, Signed, TypedData, TypedField } from './signing.js';

const KNOWN: Record<string, readonly TypedField[]> = { ...AUTHORIZATION_TYPES, Quote: quoteTypes.Quote, RoutedQuote: routedQuoteTypes.RoutedQuote };

/** JSON as Python's json.dumps(indent=2) writes it: bigint as a bare integer, non-ASCII escaped. */
function pythonJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `\u0000bigint:${v}` : v), 2);
  return text
    .replace(/"\\u0000bigint:(-?\d+)"/g, '$1')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function messageJson(data: TypedData): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of data.types[data.primaryType] ?? []) {
    const v = data.message[field.name];
    out[field.name] = typeof v === 'bigint' ? v.toString() : v;
  }
  return out;
}

function typedDataJson(data: TypedData): Record<string, unknown> {
  return {
    types: { EIP712Domain: eip712DomainType, [data.primaryType]: data.types[data.primaryType] },
    primaryType: data.primaryType,
    domain: { name: data.domain.name, version: data.domain.version, chainId: data.domain.chainId, verifyingContract: getAddress(data.domain.verifyingContract) },
    message: messageJson(data),
  };
}

/** The file text of a signed permit, authorization or quote (Python's SignedMessage / SignedQuote). */
export function signedFileJson(signed: Signed): string {
  return `${pythonJson({ typedData: typedDataJson(signed.typedData), signature: signed.signature.toLowerCase() })}\n`;
}

/** The file text of a signed interbank payment (Python's SignedPayment: `deptoken interbank sign`). */
export function paymentFileJson(signed: SignedPayment): string {
  return `${pythonJson({
    network: getAddress(signed.network), fromToken: getAddress(signed.fromToken), toToken: getAddress(signed.toToken),
    payee: getAddress(signed.payee), paymentId: signed.paymentId.toLowerCase(),
    typedData: typedDataJson(signed.typedData), signature: signed.signature.toLowerCase(),
  })}\n`;
}

/** The file text of a signed escrow funding (Python's SignedFunding). */
export function fundingFileJson(signed: SignedFunding): string {
  const t = signed.terms;
  const terms = { orderId: t.orderId, buyer: t.buyer, seller: t.seller, amount: t.amount, shipBy: t.shipBy, confirmWindow: t.confirmWindow };
  return `${pythonJson({ escrow: getAddress(signed.escrow), terms, typedData: typedDataJson(signed.typedData), signature: signed.signature.toLowerCase() })}\n`;
}

function uint(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if ((typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || (typeof value === 'string' && /^(\d+|0x[0-9a-fA-F]+)$/.test(value.trim()))) {
    const n = BigInt(typeof value === 'string' ? value.trim() : value);
    if (n < 2n ** 256n) return n;
  }
  throw new SdkError(`${what} must be a non-negative integer (decimal, or 0x-hex text), not ${JSON.stringify(value)}`);
}

function address(value: unknown, what: string): Address {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) throw new SdkError(`${what} ${JSON.stringify(value)} is not an address`);
  return getAddress(value);
}

function bytes32(value: unknown, what: string): Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value)) throw new SdkError(`${what} ${JSON.stringify(value)} is not 0x followed by 64 hex digits`);
  return value.toLowerCase() as Hex;
}

function sameFields(a: readonly TypedField[] | undefined, b: readonly TypedField[]): boolean {
  return !!a && a.length === b.length && a.every((f, i) => f.name === b[i].name && f.type === b[i].type);
}

function parseTypedData(raw: Record<string, unknown>): TypedData {
  const primaryType = raw.primaryType as string;
  const fields = KNOWN[primaryType];
  if (!fields) throw new SdkError(`unknown primaryType ${JSON.stringify(primaryType)} (expected one of ${Object.keys(KNOWN).join(', ')})`);
  const types = raw.types as Record<string, TypedField[]>;
  if (!types || typeof types !== 'object') throw new SdkError('the typed data has no types');
  if (!sameFields(types[primaryType], fields)) throw new SdkError(`the ${primaryType} type is not the contracts' ${primaryType}`);
  if (types.EIP712Domain && !sameFields(types.EIP712Domain, eip712DomainType)) throw new SdkError('the EIP712Domain type must be name, version, chainId, verifyingContract');
  if (Object.keys(types).some((k) => k !== primaryType && k !== 'EIP712Domain')) throw new SdkError('the typed data has other types than its primaryType and EIP712Domain');
  const d = raw.domain as Record<string, unknown>;
  if (!d || ['name', 'version', 'chainId', 'verifyingContract'].some((k) => !(k in d)) || Object.keys(d).length !== 4) {
    throw new SdkError('the EIP-712 domain must have exactly name, version, chainId and verifyingContract');
  }
  const domain: Domain = { name: String(d.name), version: String(d.version), chainId: Number(uint(d.chainId, 'chainId')), verifyingContract: address(d.verifyingContract, 'verifyingContract') };
  const m = raw.message as Record<string, unknown>;
  if (!m || Object.keys(m).length !== fields.length || fields.some((f) => !(f.name in m))) {
    throw new SdkError(`the ${primaryType} message must have exactly the fields ${fields.map((f) => f.name).join(', ')}`);
  }
  const message: Record<string, unknown> = {};
  for (const f of fields) {
    message[f.name] = f.type === 'address' ? address(m[f.name], f.name) : f.type === 'bytes32' ? bytes32(m[f.name], f.name) : uint(m[f.name], f.name);
  }
  return { types: { EIP712Domain: eip712DomainType, [primaryType]: fields }, primaryType, domain, message };
}

export type SignedFile = Signed | SignedFunding | SignedPayment;

/** Whether a parsed file is an escrow funding. */
export function isFunding(signed: SignedFile): signed is SignedFunding {
  return 'terms' in signed;
}

/** Whether a parsed file is an interbank payment. */
export function isPayment(signed: SignedFile): signed is SignedPayment {
  return 'paymentId' in signed;
}

/**
 * Reads a signed file's text: a permit, an EIP-3009 authorization, a PvP quote, an escrow funding or
 * an interbank payment (values as bigint, addresses checksummed). Checks its shape and, for a funding
 * or a payment, that it is consistent (payer, payee, amount, nonce = order key; nonce = payment
 * nonce); not the signature (the chain decides that:
 * isValidSignature, or simulate the submission).
 */
export function parseSignedFile(text: string): SignedFile {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SdkError(`not a signed file (JSON: ${(error as Error).message})`);
  }
  if (!raw || typeof raw !== 'object') throw new SdkError('not a signed file');
  const signature = raw.signature;
  if (typeof signature !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(signature)) throw new SdkError('the file has no 0x-hex signature');
  const typedData = parseTypedData((raw.typedData ?? raw) as Record<string, unknown>);
  const signed: Signed = { typedData, signature: signature.toLowerCase() as Hex };
  if ('paymentId' in raw || 'network' in raw) {
    const payment: SignedPayment = {
      ...(signed as SignedPayment), network: address(raw.network, 'network'), fromToken: address(raw.fromToken, 'fromToken'),
      toToken: address(raw.toToken, 'toToken'), payee: address(raw.payee, 'payee'), paymentId: bytes32(raw.paymentId, 'paymentId'),
    };
    checkPayment(payment);
    return payment;
  }
  if (!('terms' in raw) && !('escrow' in raw)) return signed;
  const t = raw.terms as Record<string, unknown>;
  const names = ['orderId', 'buyer', 'seller', 'amount', 'shipBy', 'confirmWindow'];
  if (!t || Object.keys(t).length !== names.length || names.some((n) => !(n in t))) throw new SdkError(`order terms need exactly ${names.join(', ')}`);
  const terms: OrderTerms = {
    orderId: bytes32(t.orderId, 'orderId'), buyer: address(t.buyer, 'buyer'), seller: address(t.seller, 'seller'),
    amount: uint(t.amount, 'amount'), shipBy: uint(t.shipBy, 'shipBy'), confirmWindow: uint(t.confirmWindow, 'confirmWindow'),
  };
  const funding: SignedFunding = { ...(signed as SignedFunding), escrow: address(raw.escrow, 'escrow'), terms };
  checkFunding(funding);
  return funding;
}

/** The typed data of a signed file in the form ethers' signTypedData / verifyTypedData take (no EIP712Domain in types). */
export function ethersTypedData(data: TypedData): { domain: Domain; types: Record<string, TypedField[]>; message: Record<string, unknown> } {
  return { domain: data.domain, types: { [data.primaryType]: [...(data.types[data.primaryType] ?? [])] }, message: data.message };
}

