/** Reading the chain and sending checked transactions with viem. */
import { type Abi, type Address, type PublicClient, type TransactionReceipt, type WalletClient, getAddress } from 'viem';
import { depositTokenAbi } from './generated/index.js';
import { SdkError, decodeRevert } from './errors.js';
import type { Domain } from './signing.js';

/** A viem PublicClient (reads, simulation, receipts) and a WalletClient with an account (sends). */
export interface Clients {
  publicClient: PublicClient;
  walletClient: WalletClient;
}

/** The EIP-712 domain a deployed contract signs under, from its ERC-5267 eip712Domain(). */
export async function readDomain(publicClient: PublicClient, address: Address): Promise<Domain> {
  const [fields, name, version, chainId, verifyingContract] = await publicClient.readContract({
    address, abi: depositTokenAbi, functionName: 'eip712Domain',
  });
  if (fields !== '0x0f') throw new SdkError(`${address}: unexpected EIP-712 domain fields ${fields}`);
  return { name, version, chainId: Number(chainId), verifyingContract: getAddress(verifyingContract) };
}

/** The timestamp of the latest block (the chain's clock, for validity windows and expiries). */
export async function chainTime(publicClient: PublicClient): Promise<bigint> {
  return (await publicClient.getBlock({ blockTag: 'latest' })).timestamp;
}

/** A token's decimals. */
export async function tokenDecimals(publicClient: PublicClient, token: Address): Promise<number> {
  return publicClient.readContract({ address: token, abi: depositTokenAbi, functionName: 'decimals' });
}

export interface Call {
  address: Address;
  abi: Abi | readonly unknown[];
  functionName: string;
  args: readonly unknown[];
}

/**
 * Simulates `call` from the wallet's account first (a mined revert carries no reason; a simulated
 * one does), then sends it and waits for the receipt. A refusal throws an SdkError whose `decoded`
 * is the contract's error (the token's too, when it bubbles up through a settlement contract).
 */
export async function send({ publicClient, walletClient }: Clients, call: Call): Promise<TransactionReceipt> {
  const account = walletClient.account;
  if (!account) throw new SdkError('the WalletClient has no account: create it with { account }');
  let request;
  try {
    ({ request } = await publicClient.simulateContract({ ...(call as object), account } as never));
  } catch (error) {
    const decoded = decodeRevert(error);
    const reason = decoded ? decoded.message : (error as { shortMessage?: string }).shortMessage ?? String(error);
    throw new SdkError(`${call.functionName} would revert: ${reason}`, { cause: error, decoded });
  }
  const hash = await walletClient.writeContract(request as never);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new SdkError(`${call.functionName} reverted on-chain (transaction ${hash})`);
  return receipt;
}
