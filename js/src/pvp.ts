/**
 * FX payment-versus-payment quotes (PvPSettlement): the maker (an FX desk) signs an EIP-712 Quote
 * under the settlement contract's domain ("DepositToken PvP Settlement", version "1"); the taker
 * settles it, both legs in one transaction. The maker's amount follows from the taker's amount and
 * the rate, in integers, rounded down (makerAmountFor); the rate itself is informational (the
 * contract moves the two amounts; the tooling checks they agree within one minor unit).
 */
import { type Address, type Hex, type PublicClient, type TransactionReceipt, encodeAbiParameters, getAddress, isAddressEqual, keccak256 } from 'viem';
import {
  depositTokenAbi, interbankNetworkAbi, pvpDomainName, pvpDomainVersion, pvpSettlementAbi, quoteTypes, routedPaymentLabel, routedQuoteTypes,
} from './generated/index.js';
import { makerAmountFor, parseAmount, parseRate } from './amounts.js';
import { type Clients, chainTime, readDomain, send, tokenDecimals } from './chain.js';
import { SdkError } from './errors.js';
import { randomNonce } from './reference.js';
import { type AnySigner, type Signed, type TypedData, digest, sign, signerAddress, typedData } from './signing.js';

export interface Quote {
  maker: Address;
  taker: Address;
  makerToken: Address;
  makerAmount: bigint;
  takerToken: Address;
  takerAmount: bigint;
  rate: bigint;
  expiry: bigint;
  nonce: Hex;
}

/**
 * A quote: `maker` gives floor(takerAmount x rate) of `makerToken` to `taker` against `takerAmount`
 * of `takerToken`. `takerAmount`: minor units (bigint) or decimal text in the taker token's units
 * ("1000.00"); `rate`: decimal text ("7.1234", maker currency units per taker currency unit) or
 * 18-decimal fixed point (bigint). Valid until `expiry` or for `validFor` seconds from the chain's
 * time; a random nonce unless given. Decimals are read from the tokens.
 */
export async function buildQuote(publicClient: PublicClient, args: {
  pvp: Address; maker: Address | AnySigner; taker: Address; makerToken: Address; takerToken: Address;
  takerAmount: bigint | string; rate: string | bigint; expiry?: bigint; validFor?: number; nonce?: Hex;
}): Promise<TypedData<'Quote'>> {
  const maker = typeof args.maker === 'string' ? getAddress(args.maker) : await signerAddress(args.maker);
  const [makerDecimals, takerDecimals, domain] = await Promise.all([
    tokenDecimals(publicClient, args.makerToken), tokenDecimals(publicClient, args.takerToken), readDomain(publicClient, args.pvp),
  ]);
  if (domain.name !== pvpDomainName || domain.version !== pvpDomainVersion) {
    throw new SdkError(`${args.pvp} is not a PvPSettlement (its EIP-712 domain is ${domain.name} ${domain.version})`);
  }
  const takerAmount = typeof args.takerAmount === 'bigint' ? args.takerAmount : parseAmount(args.takerAmount, takerDecimals, { what: 'taker amount' });
  const rate = typeof args.rate === 'bigint' ? args.rate : parseRate(args.rate);
  if (takerAmount <= 0n || rate <= 0n) throw new SdkError('a quote needs a positive taker amount and rate');
  if (isAddressEqual(args.makerToken, args.takerToken)) throw new SdkError(`both legs use the same token ${args.makerToken}`);
  if (isAddressEqual(maker, args.taker)) throw new SdkError(`maker and taker are the same account ${maker}`);
  const makerAmount = makerAmountFor(takerAmount, rate, { makerDecimals, takerDecimals });
  if (makerAmount === 0n) throw new SdkError('the taker amount at this rate is less than one minor unit of the maker token');
  if ((args.expiry === undefined) === (args.validFor === undefined)) throw new SdkError('give the expiry or validFor seconds (one of them)');
  const expiry = args.expiry ?? (await chainTime(publicClient)) + BigInt(args.validFor as number);
  const quote: Quote = {
    maker, taker: getAddress(args.taker), makerToken: getAddress(args.makerToken), makerAmount,
    takerToken: getAddress(args.takerToken), takerAmount, rate, expiry, nonce: (args.nonce ?? randomNonce()).toLowerCase() as Hex,
  };
  return typedData(domain, 'Quote', quoteTypes.Quote, { ...quote });
}

/** The maker signs a quote (its key, or the owner key of its ERC-1271 wallet). */
export async function signQuote(signer: AnySigner, data: TypedData<'Quote'>): Promise<Signed<'Quote'>> {
  return sign(signer, data);
}

/** The quote of signed typed data, as the contract's Quote struct. */
export function quoteOf(data: TypedData): Quote {
  if (data.primaryType !== 'Quote') throw new SdkError(`not a quote: ${data.primaryType}`);
  return data.message as unknown as Quote;
}

/**
 * The taker settles a signed quote from the wallet's account: both legs at once. `approve`: if the
 * taker's allowance for the settlement contract is short, approve its leg first. Simulated first.
 */
export async function settleQuote(clients: Clients, signed: Signed<'Quote'>, { approve = false } = {}): Promise<TransactionReceipt> {
  const q = quoteOf(signed.typedData);
  const pvp = signed.typedData.domain.verifyingContract;
  const taker = clients.walletClient.account?.address;
  if (!taker || !isAddressEqual(taker, q.taker)) throw new SdkError(`the quote is for taker ${q.taker}; ${taker} cannot settle it`);
  if (approve) {
    const allowance = await clients.publicClient.readContract({ address: q.takerToken, abi: depositTokenAbi, functionName: 'allowance', args: [q.taker, pvp] });
    if (allowance < q.takerAmount) {
      await send(clients, { address: q.takerToken, abi: depositTokenAbi, functionName: 'approve', args: [pvp, q.takerAmount] });
    }
  }
  return send(clients, { address: pvp, abi: pvpSettlementAbi, functionName: 'settle', args: [q, signed.signature] });
}

/**
 * A quote across banks (settleThroughNetwork): the maker (the desk's account at the maker token's
 * bank) gives makerAmount of makerToken to a payee the taker names, against takerAmount paid to the
 * desk's `receiver` account at takerToken's bank, through `network` (an InterbankNetwork) when the
 * taker pays from another bank of it. No account needs to bank at two banks.
 */
export interface RoutedQuote extends Quote {
  receiver: Address;
  network: Address;
}

/**
 * A routed quote: as buildQuote, with the desk's `receiver` account (at takerToken's bank) and the
 * `network` the taker's payment may go through (takerToken must be a member of it).
 */
export async function buildRoutedQuote(publicClient: PublicClient, args: Parameters<typeof buildQuote>[1] & {
  receiver: Address; network: Address;
}): Promise<TypedData<'RoutedQuote'>> {
  const base = (await buildQuote(publicClient, args)).message as unknown as Quote;
  const receiver = getAddress(args.receiver);
  if (isAddressEqual(receiver, base.taker) || isAddressEqual(receiver, args.pvp)) {
    throw new SdkError(`the receiver ${receiver} must be the desk's own account, not the taker's or the settlement contract's`);
  }
  const member = await publicClient.readContract({ address: args.network, abi: interbankNetworkAbi, functionName: 'bank', args: [base.takerToken] });
  if (/^0x0{40}$/.test(member.operator)) throw new SdkError(`${base.takerToken} is not a member of the network ${args.network}`);
  const domain = await readDomain(publicClient, args.pvp);
  const { maker, taker, makerToken, makerAmount, takerToken, takerAmount, rate, expiry, nonce } = base;
  return typedData(domain, 'RoutedQuote', routedQuoteTypes.RoutedQuote, {
    maker, receiver, taker, makerToken, makerAmount, takerToken, takerAmount, rate, expiry, nonce, network: getAddress(args.network),
  });
}

/** The maker signs a routed quote. */
export async function signRoutedQuote(signer: AnySigner, data: TypedData<'RoutedQuote'>): Promise<Signed<'RoutedQuote'>> {
  return sign(signer, data);
}

/** The quote of signed typed data, as the contract's RoutedQuote struct. */
export function routedQuoteOf(data: TypedData): RoutedQuote {
  if (data.primaryType !== 'RoutedQuote') throw new SdkError(`not a routed quote: ${data.primaryType}`);
  return data.message as unknown as RoutedQuote;
}

/** The interbank payment id of a routed quote's payment leg: keccak256(abi.encode(quoteHash, "fx")), as the contract's routedPaymentId. */
export function routedPaymentId(signed: Signed<'RoutedQuote'>): Hex {
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'string' }], [digest(signed.typedData), routedPaymentLabel]));
}

/**
 * The taker settles a routed quote from the wallet's account: its `fromToken` (its own bank's token)
 * goes to the desk's receiver (through the network when the banks differ), the desk's makerToken to
 * `payee`, at once. `approve`: approve the settlement contract for the taker's amount first if short.
 */
export async function settleThroughNetwork(clients: Clients, signed: Signed<'RoutedQuote'>, args: {
  fromToken: Address; payee: Address; approve?: boolean;
}): Promise<TransactionReceipt> {
  const q = routedQuoteOf(signed.typedData);
  const pvp = signed.typedData.domain.verifyingContract;
  const taker = clients.walletClient.account?.address;
  if (!taker || !isAddressEqual(taker, q.taker)) throw new SdkError(`the quote is for taker ${q.taker}; ${taker} cannot settle it`);
  if (args.approve) {
    const allowance = await clients.publicClient.readContract({ address: args.fromToken, abi: depositTokenAbi, functionName: 'allowance', args: [q.taker, pvp] });
    if (allowance < q.takerAmount) {
      await send(clients, { address: args.fromToken, abi: depositTokenAbi, functionName: 'approve', args: [pvp, q.takerAmount] });
    }
  }
  return send(clients, {
    address: pvp, abi: pvpSettlementAbi, functionName: 'settleThroughNetwork',
    args: [q, signed.signature, q.network, getAddress(args.fromToken), getAddress(args.payee)],
  });
}
