/**
 * Gasless authorizations on a DepositToken: EIP-2612 permits and EIP-3009 transfer / receive /
 * cancel authorizations. Build the typed data (read from the chain: the token's domain, its permit
 * nonce, its clock), sign it with any signer, submit it with viem (simulated first). A 65-byte
 * signature goes to the v, r, s function, any other (an ERC-1271 wallet's) to the bytes overload.
 */
import { type Address, type Hex, type PublicClient, type TransactionReceipt, getAddress, parseSignature } from 'viem';
import {
  cancelAuthorizationTypes,
  depositTokenAbi,
  permitTypes,
  receiveWithAuthorizationTypes,
  transferWithAuthorizationTypes,
} from './generated/index.js';
import { SdkError } from './errors.js';
import { type Clients, chainTime, readDomain, send } from './chain.js';
import { randomNonce } from './reference.js';
import { type AnySigner, type Signed, type TypedData, sign, signerAddress, typedData } from './signing.js';

export type AuthorizationKind = 'Permit' | 'TransferWithAuthorization' | 'ReceiveWithAuthorization' | 'CancelAuthorization';

export const AUTHORIZATION_TYPES = {
  Permit: permitTypes.Permit,
  TransferWithAuthorization: transferWithAuthorizationTypes.TransferWithAuthorization,
  ReceiveWithAuthorization: receiveWithAuthorizationTypes.ReceiveWithAuthorization,
  CancelAuthorization: cancelAuthorizationTypes.CancelAuthorization,
} as const;

type AddressOrSigner = Address | AnySigner;

async function addressOf(who: AddressOrSigner): Promise<Address> {
  return typeof who === 'string' ? getAddress(who) : signerAddress(who);
}

/**
 * A permit for `spender` to move `value` (minor units) of `owner`'s tokens, signable until
 * `deadline` (unix seconds) or for `validFor` seconds from the chain's time; the nonce is the
 * token's nonces(owner) unless given.
 */
export async function buildPermit(publicClient: PublicClient, args: {
  token: Address; owner: AddressOrSigner; spender: Address; value: bigint;
  deadline?: bigint; validFor?: number; nonce?: bigint;
}): Promise<TypedData<'Permit'>> {
  const owner = await addressOf(args.owner);
  const domain = await readDomain(publicClient, args.token);
  const nonce = args.nonce ?? await publicClient.readContract({ address: args.token, abi: depositTokenAbi, functionName: 'nonces', args: [owner] });
  const deadline = await validUntil(publicClient, args.deadline, args.validFor, 'deadline');
  return typedData(domain, 'Permit', permitTypes.Permit, {
    owner, spender: getAddress(args.spender), value: args.value, nonce, deadline,
  });
}

async function validUntil(publicClient: PublicClient, at: bigint | undefined, validFor: number | undefined, what: string): Promise<bigint> {
  if ((at === undefined) === (validFor === undefined)) throw new SdkError(`give the ${what} as a time or as validFor seconds (one of them)`);
  if (at !== undefined) return at;
  if (!Number.isInteger(validFor) || (validFor as number) <= 0) throw new SdkError('validFor must be positive whole seconds');
  return (await chainTime(publicClient)) + BigInt(validFor as number);
}

/**
 * An EIP-3009 authorization of `value` (minor units) from `from` to `to`, valid after `validAfter`
 * (default 0) and before `validBefore` (or for `validFor` seconds from the chain's time), with a
 * random 32-byte nonce unless given. `receive`: a ReceiveWithAuthorization (only the payee may
 * submit it: the form for contracts, which cannot be front-run).
 */
export async function buildTransferAuthorization(publicClient: PublicClient, args: {
  token: Address; from: AddressOrSigner; to: Address; value: bigint;
  validAfter?: bigint; validBefore?: bigint; validFor?: number; nonce?: Hex; receive?: boolean;
}): Promise<TypedData<'TransferWithAuthorization' | 'ReceiveWithAuthorization'>> {
  if (args.value <= 0n) throw new SdkError('the value of an authorization must be positive');
  const kind = args.receive ? 'ReceiveWithAuthorization' : 'TransferWithAuthorization';
  const domain = await readDomain(publicClient, args.token);
  return typedData(domain, kind, AUTHORIZATION_TYPES[kind], {
    from: await addressOf(args.from),
    to: getAddress(args.to),
    value: args.value,
    validAfter: args.validAfter ?? 0n,
    validBefore: await validUntil(publicClient, args.validBefore, args.validFor, 'validBefore'),
    nonce: (args.nonce ?? randomNonce()).toLowerCase() as Hex,
  });
}

/** The cancellation of `authorizer`'s unused authorization `nonce`. */
export async function buildCancelAuthorization(publicClient: PublicClient, args: {
  token: Address; authorizer: AddressOrSigner; nonce: Hex;
}): Promise<TypedData<'CancelAuthorization'>> {
  const domain = await readDomain(publicClient, args.token);
  return typedData(domain, 'CancelAuthorization', AUTHORIZATION_TYPES.CancelAuthorization, {
    authorizer: await addressOf(args.authorizer), nonce: args.nonce.toLowerCase() as Hex,
  });
}

/** `signer` signs a permit or authorization (build* above). */
export async function signAuthorization<P extends AuthorizationKind>(signer: AnySigner, data: TypedData<P>): Promise<Signed<P>> {
  return sign(signer, data);
}

/** The contract function and arguments that submit `signed` (v, r, s for 65 bytes, the bytes overload otherwise). */
export function authorizationCall(signed: Signed): { address: Address; abi: typeof depositTokenAbi; functionName: string; args: readonly unknown[] } {
  const m = signed.typedData.message as Record<string, never>;
  const kind = signed.typedData.primaryType as AuthorizationKind;
  const base: Record<AuthorizationKind, [string, unknown[]]> = {
    Permit: ['permit', [m.owner, m.spender, m.value, m.deadline]],
    TransferWithAuthorization: ['transferWithAuthorization', [m.from, m.to, m.value, m.validAfter, m.validBefore, m.nonce]],
    ReceiveWithAuthorization: ['receiveWithAuthorization', [m.from, m.to, m.value, m.validAfter, m.validBefore, m.nonce]],
    CancelAuthorization: ['cancelAuthorization', [m.authorizer, m.nonce]],
  };
  if (!(kind in base)) throw new SdkError(`not an authorization: ${kind}`);
  const [functionName, args] = base[kind];
  const signature = signed.signature;
  let tail: unknown[] = [signature];
  if (signature.length === 132) {
    const { r, s, v, yParity } = parseSignature(signature);
    tail = [Number(v ?? BigInt(yParity + 27)), r, s];
  }
  return { address: signed.typedData.domain.verifyingContract, abi: depositTokenAbi, functionName, args: [...args, ...tail] };
}

/**
 * Submits a signed permit or authorization to its token from the wallet's account (anyone; the
 * payee for a ReceiveWithAuthorization), simulated first; the receipt.
 */
export async function submitAuthorization(clients: Clients, signed: Signed): Promise<TransactionReceipt> {
  return send(clients, authorizationCall(signed));
}
