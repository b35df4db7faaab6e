/**
 * One error decoder across all the contracts: a revert's data (from a viem or ethers error, a
 * JSON-RPC error, or raw hex) decoded against the errors of the DepositToken, PvPSettlement,
 * TradeEscrow, HashedTimelock and ERC-7943 ABIs, plus Solidity's Error(string) and Panic(uint256).
 * A token refusal inside a settlement call (ERC7943CannotReceive bubbling out of TradeEscrow.confirm,
 * ERC20InsufficientBalance out of PvPSettlement.settle) decodes to the token's error.
 */
import { type Abi, type AbiParameter, type Hex, decodeErrorResult, keccak256, stringToHex } from 'viem';
import {
  depositTokenAbi,
  hashedTimelockAbi,
  interbankNetworkAbi,
  ierc7943FungibleAbi,
  pvpSettlementAbi,
  tradeEscrowAbi,
} from './generated/index.js';

/** An error of this package (bad input, a check that failed before sending, a revert). */
export class SdkError extends Error {
  readonly decoded?: DecodedError;
  constructor(message: string, options: { cause?: unknown; decoded?: DecodedError } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DepositTokenSdkError';
    if (options.decoded) this.decoded = options.decoded;
  }
}

export interface DecodedError {
  /** The error's name: "ERC7943CannotReceive", "Error" (a revert string), "Panic". */
  name: string;
  /** The full signature, e.g. "ERC7943CannotReceive(address)". */
  signature: string;
  /** The 4-byte selector. */
  selector: Hex;
  /** The arguments in order. */
  args: readonly unknown[];
  /** The arguments by parameter name. */
  named: Record<string, unknown>;
  /** The contracts whose ABI defines this error (e.g. ["DepositToken", "TradeEscrow"]). */
  contracts: string[];
  /** One line: `ERC7943CannotReceive(account=0x...)`. */
  message: string;
  /** The raw revert data. */
  data: Hex;
}

type AbiError = { type: 'error'; name: string; inputs: readonly AbiParameter[] };

function canonicalType(p: AbiParameter): string {
  if (!p.type.startsWith('tuple')) return p.type;
  const components = (p as { components?: readonly AbiParameter[] }).components ?? [];
  return `(${components.map(canonicalType).join(',')})${p.type.slice('tuple'.length)}`;
}

/** `Name(type,...)` of an error, tuples expanded (as selectors are computed). */
function formatAbiItem(item: AbiError): string {
  return `${item.name}(${item.inputs.map(canonicalType).join(',')})`;
}

function toFunctionSelector(signature: string): Hex {
  return keccak256(stringToHex(signature)).slice(0, 10) as Hex;
}

const CONTRACT_ABIS: Record<string, Abi> = {
  DepositToken: depositTokenAbi as Abi,
  PvPSettlement: pvpSettlementAbi as Abi,
  TradeEscrow: tradeEscrowAbi as Abi,
  HashedTimelock: hashedTimelockAbi as Abi,
  InterbankNetwork: interbankNetworkAbi as Abi,
  IERC7943Fungible: ierc7943FungibleAbi as Abi,
};

const SOLIDITY_ERRORS: AbiError[] = [
  { type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] },
  { type: 'error', name: 'Panic', inputs: [{ name: 'code', type: 'uint256' }] },
];

function buildErrorTable(): { abi: AbiError[]; contracts: Map<Hex, string[]> } {
  const bySelector = new Map<Hex, AbiError>();
  const contracts = new Map<Hex, string[]>();
  for (const [contract, abi] of Object.entries(CONTRACT_ABIS)) {
    for (const entry of abi) {
      if (entry.type !== 'error') continue;
      const item = entry as AbiError;
      const selector = toFunctionSelector(formatAbiItem(item));
      if (!bySelector.has(selector)) bySelector.set(selector, item);
      contracts.set(selector, [...(contracts.get(selector) ?? []), contract]);
    }
  }
  for (const item of SOLIDITY_ERRORS) {
    const selector = toFunctionSelector(formatAbiItem(item));
    bySelector.set(selector, item);
    contracts.set(selector, ['Solidity']);
  }
  return { abi: [...bySelector.values()], contracts };
}

const TABLE = buildErrorTable();

/** Every error of every contract here (and Error(string), Panic(uint256)), one entry per selector. */
export const allErrorsAbi: readonly AbiError[] = TABLE.abi;

const PANICS: Record<string, string> = {
  '1': 'assertion failed', '17': 'arithmetic overflow or underflow', '18': 'division by zero',
  '33': 'invalid enum value', '34': 'invalid storage byte array', '49': 'pop on empty array',
  '50': 'array index out of bounds', '65': 'out of memory', '81': 'uninitialized function',
};

function isRevertData(value: unknown): value is Hex {
  return typeof value === 'string' && /^0x[0-9a-fA-F]{8}([0-9a-fA-F]{2})*$/.test(value);
}

/** The revert data inside an error of viem, ethers or a JSON-RPC reply (searched through causes), or the hex given. */
export function revertData(error: unknown): Hex | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length) {
    const item = queue.shift();
    if (isRevertData(item)) return item;
    if (typeof item === 'string' && item.startsWith('{')) {
      try { queue.push(JSON.parse(item)); } catch { /* not JSON */ }
      continue;
    }
    if (!item || typeof item !== 'object' || seen.has(item)) continue;
    seen.add(item);
    const o = item as Record<string, unknown>;
    // viem: ContractFunctionRevertedError.raw, RawContractError.data; ethers: CallExceptionError.data,
    // error.info.error.data; JSON-RPC: error.data (or error.data.data)
    for (const key of ['raw', 'data', 'error', 'cause', 'info', 'body', 'errorArgs']) {
      if (key in o) queue.push(o[key]);
    }
  }
  return undefined;
}

/**
 * Decodes a revert (an error thrown by viem or ethers, a JSON-RPC error, or the revert data as hex)
 * against every contract's errors. `undefined` when there is no revert data in it or the selector is
 * unknown (then `revertData(error)` still gives the raw bytes).
 */
export function decodeRevert(error: unknown): DecodedError | undefined {
  const data = revertData(error);
  if (!data) return undefined;
  let decoded;
  try {
    decoded = decodeErrorResult({ abi: allErrorsAbi as Abi, data });
  } catch {
    return undefined;
  }
  const item = decoded.abiItem as AbiError;
  const args = (decoded.args ?? []) as readonly unknown[];
  const named: Record<string, unknown> = {};
  item.inputs.forEach((input: AbiParameter, i: number) => { named[input.name || `arg${i}`] = args[i]; });
  const signature = formatAbiItem(item);
  const selector = data.slice(0, 10).toLowerCase() as Hex;
  let message = `${item.name}(${item.inputs.map((input: AbiParameter, i: number) => `${input.name || `arg${i}`}=${String(args[i])}`).join(', ')})`;
  if (item.name === 'Error') message = `reverted: ${String(args[0])}`;
  if (item.name === 'Panic') message = `panic 0x${(args[0] as bigint).toString(16)}: ${PANICS[String(args[0])] ?? 'unknown panic code'}`;
  return { name: item.name, signature, selector, args, named, contracts: TABLE.contracts.get(selector) ?? [], message, data };
}
