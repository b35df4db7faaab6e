/**
 * The trade escrow's funding with one signature: the buyer signs an EIP-3009
 * ReceiveWithAuthorization paying the escrow the order's amount, whose nonce is the order key, the
 * EIP-712 struct hash of OrderTerms(address escrow, bytes32 orderId, address buyer, address seller,
 * uint256 amount, uint64 shipBy, uint64 confirmWindow). That nonce commits the signature to these
 * terms at this escrow: it funds this order and no other. Anyone (the marketplace) submits it.
 */
import { type Address, type Hex, type PublicClient, type TransactionReceipt, getAddress, hashStruct } from 'viem';
import { orderTermsTypes, tradeEscrowAbi } from './generated/index.js';
import { buildTransferAuthorization } from './authorizations.js';
import { type Clients, send } from './chain.js';
import { SdkError } from './errors.js';
import { encodeReference } from './reference.js';
import { type AnySigner, type Signed, sign } from './signing.js';

/** An order's terms as the contract's OrderTerms (amount in minor units; shipBy unix seconds; confirmWindow seconds). */
export interface OrderTerms {
  orderId: Hex;
  buyer: Address;
  seller: Address;
  amount: bigint;
  shipBy: bigint;
  confirmWindow: bigint;
}

/** The buyer's signed funding: the escrow, the terms and the ReceiveWithAuthorization (the Python tooling's SignedFunding). */
export interface SignedFunding extends Signed<'ReceiveWithAuthorization'> {
  escrow: Address;
  terms: OrderTerms;
}

/** Checked terms; `orderId` is a marketplace reference (hashed, keccak-256 of its UTF-8) or 0x + 64 hex. */
export function orderTerms(args: { orderId: string; buyer: Address; seller: Address; amount: bigint; shipBy: bigint; confirmWindow: bigint }): OrderTerms {
  const terms = {
    orderId: encodeReference(args.orderId, 'order id'), buyer: getAddress(args.buyer), seller: getAddress(args.seller),
    amount: args.amount, shipBy: args.shipBy, confirmWindow: args.confirmWindow,
  };
  if (terms.buyer === terms.seller) throw new SdkError('buyer and seller must be two different accounts');
  if (terms.amount <= 0n || terms.amount >= 2n ** 128n) throw new SdkError(`order amount ${terms.amount} is out of range`);
  if (terms.shipBy <= 0n || terms.confirmWindow <= 0n || terms.shipBy + terms.confirmWindow >= 2n ** 64n) {
    throw new SdkError('shipBy and confirmWindow must be positive and fit in 64 bits');
  }
  return terms;
}

/** The order key: the EIP-712 struct hash of OrderTerms with the escrow's address (the funding's EIP-3009 nonce). */
export function orderKey(escrow: Address, terms: OrderTerms): Hex {
  return hashStruct({ data: { escrow: getAddress(escrow), ...terms }, primaryType: 'OrderTerms', types: orderTermsTypes } as never);
}

/**
 * The buyer signs the funding of `terms` at `escrow` (nothing is sent): a ReceiveWithAuthorization
 * to the escrow for the amount, nonce orderKey(escrow, terms), valid for `validFor` seconds from the
 * chain's time (or until `validBefore`).
 */
export async function signFunding(publicClient: PublicClient, buyer: AnySigner, args: {
  escrow: Address; terms: OrderTerms; validFor?: number; validBefore?: bigint;
}): Promise<SignedFunding> {
  const escrow = getAddress(args.escrow);
  const token = await publicClient.readContract({ address: escrow, abi: tradeEscrowAbi, functionName: 'token' });
  const data = await buildTransferAuthorization(publicClient, {
    token, from: args.terms.buyer, to: escrow, value: args.terms.amount, receive: true,
    validFor: args.validFor, validBefore: args.validBefore, nonce: orderKey(escrow, args.terms),
  });
  const signed = await sign(buyer, data);
  return { escrow, terms: args.terms, typedData: signed.typedData as SignedFunding['typedData'], signature: signed.signature };
}

/** Checks that a signed funding is consistent: payer the buyer, payee the escrow, the amount, and the nonce the order key. */
export function checkFunding(signed: SignedFunding): void {
  const m = signed.typedData.message as { from: Address; to: Address; value: bigint; nonce: Hex };
  if (signed.typedData.primaryType !== 'ReceiveWithAuthorization') throw new SdkError(`a funding is a ReceiveWithAuthorization, not a ${signed.typedData.primaryType}`);
  if (getAddress(m.to) !== getAddress(signed.escrow)) throw new SdkError(`the authorization pays ${m.to}, not the escrow ${signed.escrow}`);
  if (getAddress(m.from) !== signed.terms.buyer || m.value !== signed.terms.amount) {
    throw new SdkError("the authorization's payer or amount differs from the order's buyer and amount");
  }
  if (m.nonce.toLowerCase() !== orderKey(signed.escrow, signed.terms)) throw new SdkError('the authorization was not signed for these terms at this escrow');
}

/** Submits the buyer's signed funding from the wallet's account (anyone, e.g. the marketplace), simulated first. */
export async function fundWithAuthorization(clients: Clients, signed: SignedFunding): Promise<TransactionReceipt> {
  checkFunding(signed);
  const m = signed.typedData.message as { validAfter: bigint; validBefore: bigint };
  return send(clients, {
    address: signed.escrow, abi: tradeEscrowAbi, functionName: 'fundWithAuthorization',
    args: [signed.terms, m.validAfter, m.validBefore, signed.signature],
  });
}
