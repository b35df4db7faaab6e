/**
 * Typed data as this project passes it around (the JSON form of eth-account, wallets and the Python
 * tooling: types with EIP712Domain, primaryType, domain, message), and signing it with any signer:
 * a viem Account (privateKeyToAccount, mnemonicToAccount, ...), a viem WalletClient with an account
 * (a browser wallet), or an ethers v6 Signer (Wallet, JsonRpcSigner, BrowserProvider's signer).
 */
import {
  type Account,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
  getAddress,
  hashTypedData,
  isAddressEqual,
  recoverTypedDataAddress,
} from 'viem';
import { eip712DomainType } from './generated/eip712.js';
import { SdkError } from './errors.js';

export type TypedField = { readonly name: string; readonly type: string };
export type TypedTypes = Record<string, readonly TypedField[]>;

export interface Domain {
  name: string;
  version: string;
  chainId: number;
  verifyingContract: Address;
}

export interface TypedData<P extends string = string> {
  /** The struct types, EIP712Domain included (as the Python tooling and eth_signTypedData_v4 write them). */
  types: TypedTypes;
  primaryType: P;
  domain: Domain;
  /** Values: uints as bigint, bytes32 as 0x-hex, addresses checksummed. */
  message: Record<string, unknown>;
}

export interface Signed<P extends string = string> {
  typedData: TypedData<P>;
  /** The signature: 65 bytes r || s || v (v 27 or 28) from a key; any length from an ERC-1271 wallet. */
  signature: Hex;
}

/** The part of an ethers v6 Signer used here (ethers.Wallet, JsonRpcSigner, ...). */
export interface EthersSignerLike {
  getAddress(): Promise<string>;
  signTypedData(domain: object, types: Record<string, TypedField[]>, value: Record<string, unknown>): Promise<string>;
}

/** Whatever can sign: a viem Account, a viem WalletClient (with an account), or an ethers Signer. */
export type AnySigner = Account | WalletClient | EthersSignerLike;

function isEthers(signer: AnySigner): signer is EthersSignerLike {
  return typeof (signer as EthersSignerLike).getAddress === 'function';
}

function isWalletClient(signer: AnySigner): signer is WalletClient {
  return typeof (signer as WalletClient).request === 'function' && 'transport' in signer;
}

/** The address that signs with `signer`. */
export async function signerAddress(signer: AnySigner): Promise<Address> {
  if (isEthers(signer)) return getAddress(await signer.getAddress());
  if (isWalletClient(signer)) {
    if (!signer.account) throw new SdkError('the WalletClient has no account: create it with { account }');
    return signer.account.address;
  }
  return (signer as Account).address;
}

/** The types without EIP712Domain (what viem's and ethers' signTypedData take). */
export function structTypes(types: TypedTypes): Record<string, TypedField[]> {
  const out: Record<string, TypedField[]> = {};
  for (const [name, fields] of Object.entries(types)) if (name !== 'EIP712Domain') out[name] = [...fields];
  return out;
}

/** Full typed data for a primary type without nested structs. */
export function typedData<P extends string>(domain: Domain, primaryType: P, fields: readonly TypedField[], message: Record<string, unknown>): TypedData<P> {
  return {
    types: { EIP712Domain: eip712DomainType, [primaryType]: fields } as TypedTypes,
    primaryType,
    domain: { ...domain, verifyingContract: getAddress(domain.verifyingContract) },
    message,
  };
}

/** `signer` signs `data`; the 0x-hex signature. */
export async function signTypedData(signer: AnySigner, data: TypedData): Promise<Hex> {
  const types = structTypes(data.types);
  if (isEthers(signer)) return (await (signer as EthersSignerLike).signTypedData(data.domain, types, data.message)) as Hex;
  const params = { domain: data.domain, types, primaryType: data.primaryType, message: data.message } as never;
  if (isWalletClient(signer)) {
    if (!signer.account) throw new SdkError('the WalletClient has no account: create it with { account }');
    return signer.signTypedData({ ...(params as object), account: signer.account } as never);
  }
  const account = signer as Account;
  if (!account.signTypedData) throw new SdkError(`account ${account.address} cannot sign locally: use a WalletClient for a JSON-RPC account`);
  return account.signTypedData(params);
}

/** `signer` signs `data`: the typed data and its signature, ready to be written as a file or submitted. */
export async function sign<P extends string>(signer: AnySigner, data: TypedData<P>): Promise<Signed<P>> {
  return { typedData: data, signature: await signTypedData(signer, data) };
}

/** The EIP-712 digest keccak256(0x1901 || domainSeparator || hashStruct(message)). */
export function digest(data: TypedData): Hex {
  return hashTypedData({ domain: data.domain, types: structTypes(data.types), primaryType: data.primaryType, message: data.message } as never);
}

const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * The address whose key made `signature` over `data`, under OpenZeppelin ECDSA's rules (65 bytes,
 * v 27 or 28, s in the lower half of the curve order), or undefined for a signature the contracts refuse.
 */
export async function ecdsaSigner(data: TypedData, signature: Hex): Promise<Address | undefined> {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return undefined;
  const v = parseInt(signature.slice(130, 132), 16);
  if (v !== 27 && v !== 28) return undefined;
  if (BigInt(`0x${signature.slice(66, 130)}`) > HALF_N) return undefined;
  return recoverTypedDataAddress({ domain: data.domain, primaryType: data.primaryType, message: data.message, types: structTypes(data.types), signature } as never);
}

const ERC1271_ABI = [{
  type: 'function', name: 'isValidSignature', stateMutability: 'view',
  inputs: [{ name: 'hash', type: 'bytes32' }, { name: 'signature', type: 'bytes' }],
  outputs: [{ name: '', type: 'bytes4' }],
}] as const;

/**
 * Whether `signature` is `signer`'s over `data` as OpenZeppelin's SignatureChecker decides on-chain:
 * an account without code by ECDSA (ecdsaSigner); an account with code (a contract wallet, or an
 * EIP-7702 delegated account) only by its ERC-1271 isValidSignature.
 */
export async function isValidSignature(publicClient: PublicClient, signer: Address, data: TypedData, signature: Hex): Promise<boolean> {
  const code = await publicClient.getCode({ address: signer });
  if (!code || code === '0x') {
    const recovered = await ecdsaSigner(data, signature);
    return recovered !== undefined && isAddressEqual(recovered, signer);
  }
  try {
    const magic = await publicClient.readContract({ address: signer, abi: ERC1271_ABI, functionName: 'isValidSignature', args: [digest(data), signature] });
    return magic.toLowerCase() === '0x1626ba7e';
  } catch {
    return false;
  }
}
