/**
 * FX payment-versus-payment quotes (PvPSettlement): the maker (an FX desk) signs an EIP-712 Quote
 * under the settlement contract's domain ("DepositToken PvP Settlement", version "1"); the taker
 * settles it, both legs in one transaction. The maker's amount follows from the taker's amount and
 * the rate, in integers, rounded down (makerAmountFor); the rate itself is informational (the
 * contract moves the two amounts; the tooling checks they agree within one minor unit).
 */
import { type Address, type Hex, type PublicClient, type TransactionReceipt, getAddress, isAddressEqual } from 'viem';
import { depositTokenAbi, pvpDomainName, pvpDomainVersion, pvpSettlementAbi, quoteTypes } from './generated/index.js';
import { makerAmountFor, parseAmount, parseRate } from './amounts.js';
import { type Clients, chainTime, readDomain, send, tokenDecimals } from './chain.js';
import { SdkError } from './errors.js';
import { randomNonce } from './reference.js';
import { type AnySigner, type Signed, type TypedData, sign, signerAddress, typedData } from './signing.js';

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
