/**
 * Interbank payments (InterbankNetwork): a client of one bank pays a client of another bank in one
 * transaction. The payer's tokens at its bank are burned, the payee's bank mints to the payee, and
 * the network records what the payer's bank owes the payee's bank. Two ways to pay:
 *
 * - payInterbank: by approval. The payer approves the network on its bank's token, then sends pay.
 * - signInterbankPayment + submitInterbankPayment: one signature, no gas, for a checkout. The payer
 *   signs an EIP-3009 ReceiveWithAuthorization on its bank's token, payee the network, with nonce
 *   paymentNonce(network, toToken, payee, paymentId). That nonce binds the signature to this payee,
 *   its bank and this payment id. Anyone (the marketplace) submits it.
 *
 * A payer uses each payment id once in the network (ids are scoped by the payer: nobody can use up
 * another payer's). A text id ("INV-2026-0042") is its keccak-256 hash, as with every reference. Both
 * banks book the payment under paymentReference(payer, id) = keccak256(abi.encode(payer, id)), the
 * burn reference at the payer's bank and the deposit reference at the payee's. The signed payment's file is the Python tooling's
 * (`deptoken interbank sign` / `submit`), byte for byte: an authorization file plus network,
 * fromToken, toToken, payee and paymentId.
 */
import {
  type Address, type Hex, type PublicClient, type TransactionReceipt,
  encodeAbiParameters, getAddress, isAddressEqual, keccak256, stringToHex,
} from 'viem';
import { depositTokenAbi, interbankNetworkAbi } from './generated/index.js';
import { buildTransferAuthorization } from './authorizations.js';
import { parseAmount } from './amounts.js';
import { type Clients, send, tokenDecimals } from './chain.js';
import { SdkError } from './errors.js';
import { encodeReference } from './reference.js';
import { type AnySigner, type Signed, sign, signerAddress } from './signing.js';

/** keccak256("InterbankPayment(address network,address toToken,address payee,bytes32 paymentId)"), the contract's PAYMENT_TYPEHASH. */
export const PAYMENT_TYPEHASH: Hex = keccak256(stringToHex('InterbankPayment(address network,address toToken,address payee,bytes32 paymentId)'));

/** A payer's signed payment: the ReceiveWithAuthorization and the terms it pays (the Python tooling's SignedPayment). */
export interface SignedPayment extends Signed<'ReceiveWithAuthorization'> {
  network: Address;
  fromToken: Address;
  toToken: Address;
  payee: Address;
  paymentId: Hex;
}

/** The payment's reference on both tokens (the contract's paymentReference): keccak256(abi.encode(payer, paymentId)). */
export function paymentReference(payer: Address, paymentId: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [getAddress(payer), paymentId]));
}

/** The EIP-3009 nonce a payer signs for payWithAuthorization (the contract's paymentNonce), computed locally. */
export function paymentNonce(network: Address, toToken: Address, payee: Address, paymentId: Hex): Hex {
  return keccak256(encodeAbiParameters(
    [{ type: 'bytes32' }, { type: 'address' }, { type: 'address' }, { type: 'address' }, { type: 'bytes32' }],
    [PAYMENT_TYPEHASH, getAddress(network), getAddress(toToken), getAddress(payee), paymentId],
  ));
}

interface PaymentArgs {
  network: Address;
  /** The payer's bank's token and the payee's bank's token (two members of the network). */
  fromToken: Address;
  toToken: Address;
  payee: Address;
  /** Minor units (bigint), or decimal text in the token's units ("125.50"). */
  amount: bigint | string;
  /** 0x + 64 hex digits, or text (recorded as its keccak-256). */
  paymentId: string;
}

async function terms(publicClient: PublicClient, args: PaymentArgs, payer: Address) {
  const [network, fromToken, toToken, payee] = [args.network, args.fromToken, args.toToken, args.payee].map((a) => getAddress(a));
  if (isAddressEqual(fromToken, toToken)) throw new SdkError('a payment within one bank is a plain transfer, not a network payment');
  const amount = typeof args.amount === 'bigint' ? args.amount : parseAmount(args.amount, await tokenDecimals(publicClient, fromToken), { what: 'amount' });
  if (amount <= 0n) throw new SdkError('the amount of a payment must be positive');
  const paymentId = encodeReference(args.paymentId, 'payment id');
  const used = await publicClient.readContract({ address: network, abi: interbankNetworkAbi, functionName: 'isPaymentIdUsed', args: [payer, paymentId] });
  if (used) throw new SdkError(`payment id ${paymentId} was already used by ${payer} in the network`);
  return { network, fromToken, toToken, payee, amount, paymentId };
}

/**
 * The payer signs a payment (nothing is sent). The signature is a ReceiveWithAuthorization of the
 * amount to the network on `fromToken`, with nonce paymentNonce, valid for `validFor` seconds from
 * the chain's time (or until `validBefore`). `payer`: the paying account, if not the signer's (an
 * ERC-1271 wallet).
 */
export async function signInterbankPayment(publicClient: PublicClient, signer: AnySigner, args: PaymentArgs & {
  validFor?: number; validBefore?: bigint; payer?: Address;
}): Promise<SignedPayment> {
  const payer = getAddress(args.payer ?? await signerAddress(signer));
  const t = await terms(publicClient, args, payer);
  const data = await buildTransferAuthorization(publicClient, {
    token: t.fromToken, from: payer, to: t.network, value: t.amount, receive: true,
    validFor: args.validFor, validBefore: args.validBefore, nonce: paymentNonce(t.network, t.toToken, t.payee, t.paymentId),
  });
  const signed = await sign(signer, data);
  return { ...t, typedData: signed.typedData as SignedPayment['typedData'], signature: signed.signature };
}

/** Checks that a signed payment is consistent: a ReceiveWithAuthorization to the network whose nonce binds the payee, its bank and the id. */
export function checkPayment(signed: SignedPayment): void {
  const m = signed.typedData.message as { to: Address; nonce: Hex };
  if (signed.typedData.primaryType !== 'ReceiveWithAuthorization') throw new SdkError(`a signed payment is a ReceiveWithAuthorization, not a ${signed.typedData.primaryType}`);
  if (!isAddressEqual(m.to, signed.network)) throw new SdkError(`the authorization pays ${m.to}, not the network ${signed.network}`);
  if (!isAddressEqual(signed.typedData.domain.verifyingContract, signed.fromToken)) throw new SdkError(`the authorization was signed on ${signed.typedData.domain.verifyingContract}, not on fromToken ${signed.fromToken}`);
  if (isAddressEqual(signed.fromToken, signed.toToken)) throw new SdkError('a payment within one bank is a plain transfer, not a network payment');
  if (m.nonce.toLowerCase() !== paymentNonce(signed.network, signed.toToken, signed.payee, signed.paymentId)) {
    throw new SdkError('the signature was not given for this payee, bank and payment id (its nonce differs)');
  }
}

/** Submits a payer's signed payment from the wallet's account (anyone, e.g. the marketplace), simulated first. */
export async function submitInterbankPayment(clients: Clients, signed: SignedPayment): Promise<TransactionReceipt> {
  checkPayment(signed);
  const m = signed.typedData.message as { from: Address; value: bigint; validAfter: bigint; validBefore: bigint };
  return send(clients, {
    address: signed.network, abi: interbankNetworkAbi, functionName: 'payWithAuthorization',
    args: [signed.fromToken, signed.toToken, m.from, signed.payee, m.value, signed.paymentId, m.validAfter, m.validBefore, signed.signature],
  });
}

/**
 * Pays from the wallet's account by approval, simulated first. `approve`: if the payer's allowance
 * for the network is short, approve the amount first.
 */
export async function payInterbank(clients: Clients, args: PaymentArgs & { approve?: boolean }): Promise<TransactionReceipt> {
  const payer = clients.walletClient.account?.address;
  if (!payer) throw new SdkError('the WalletClient has no account: create it with { account }');
  const t = await terms(clients.publicClient, args, payer);
  if (args.approve) {
    const allowance = await clients.publicClient.readContract({ address: t.fromToken, abi: depositTokenAbi, functionName: 'allowance', args: [payer, t.network] });
    if (allowance < t.amount) await send(clients, { address: t.fromToken, abi: depositTokenAbi, functionName: 'approve', args: [t.network, t.amount] });
  }
  return send(clients, { address: t.network, abi: interbankNetworkAbi, functionName: 'pay', args: [t.fromToken, t.toToken, t.payee, t.amount, t.paymentId] });
}
