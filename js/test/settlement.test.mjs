// A PvP quote built from a rate across decimals, signed by the desk and settled by the taker; an escrow
// order funded with one signature (nonce = the order key), shipped, confirmed; a token refusal bubbling
// out of TradeEscrow.confirm decoded by the one decoder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SdkError, buildPermit, buildQuote, decodeRevert, depositTokenAbi, digest, encodeReference, fundWithAuthorization, isValidSignature,
  orderKey, orderTerms, parseAmount, pvpSettlementAbi, send, settleQuote, signAuthorization, signFunding, signQuote, submitAuthorization,
  tradeEscrowAbi,
} from '@deposit-token/sdk';
import { account, accounts, bankB, chain, clientsOf, publicClient, record } from '../testing/devnet.mjs';
import { chainTime } from '@deposit-token/sdk';

const { USD, CNH } = record.tokens;
const bal = (token, who) => publicClient.readContract({ address: token, abi: depositTokenAbi, functionName: 'balanceOf', args: [who] });

test('PvP: a dealer quotes CNH for 100.00 USD at 7.1234, a trader settles both legs (two clients of both banks)', async () => {
  // the devnet onboards nobody at two banks: this test onboards its own two traders at Banks A and C
  const [dealer, trader] = [account(7), account(8)];
  const { marketplace } = accounts;
  const until = (await chainTime(publicClient)) + 365n * 86400n;
  for (const [token, compliance] of [[USD, account(3)], [CNH, account(23)]]) {
    for (const who of [dealer, trader]) await send(clientsOf(compliance), { address: token, abi: depositTokenAbi, functionName: 'allowlist', args: [who.address, until] });
  }
  await send(clientsOf(account(2)), { address: USD, abi: depositTokenAbi, functionName: 'mint', args: [trader.address, 15000n, encodeReference(`JS-TRADER-${until}`)] });
  await send(clientsOf(account(22)), { address: CNH, abi: depositTokenAbi, functionName: 'mint', args: [dealer.address, 100000000n, encodeReference(`JS-DEALER-${until}`)] });
  // the dealer allows the PvP contract its CNH (a permit the marketplace submits)
  const permit = await signAuthorization(dealer, await buildPermit(publicClient, { token: CNH, owner: dealer, spender: record.pvp, value: parseAmount('1000000.00', 2), validFor: 600 }));
  await submitAuthorization(clientsOf(marketplace), permit);

  const quote = await buildQuote(publicClient, { pvp: record.pvp, maker: dealer, taker: trader.address, makerToken: CNH, takerToken: USD, takerAmount: '100.00', rate: '7.1234', validFor: 120 });
  assert.equal(quote.message.makerAmount, 71234n); // 712.34 CNH
  const signed = await signQuote(dealer, quote);
  assert.ok(await isValidSignature(publicClient, dealer.address, signed.typedData, signed.signature));
  assert.equal(await publicClient.readContract({ address: record.pvp, abi: pvpSettlementAbi, functionName: 'hashQuote', args: [quote.message] }), digest(quote));
  const [usdBefore, cnhBefore] = [await bal(USD, trader.address), await bal(CNH, trader.address)];
  await settleQuote(clientsOf(trader), signed, { approve: true });
  assert.equal(await bal(USD, trader.address), usdBefore - 10000n);
  assert.equal(await bal(CNH, trader.address), cnhBefore + 71234n);
  await assert.rejects(settleQuote(clientsOf(trader), signed), (e) => e instanceof SdkError && e.decoded.name === 'QuoteAlreadyUsed');
});

test('escrow: funded with one signature (nonce = order key), shipped, confirmed; a nested token refusal decoded', async () => {
  const { buyer, supplier, marketplace, usdBCompliance } = accounts;
  const escrow = record.escrows.USD; // Bank A's: the buyer banks at A, the supplier at B (paid through the network)
  await send(clientsOf(supplier), { address: escrow, abi: tradeEscrowAbi, functionName: 'setPayoutToken', args: [bankB] });
  const now = await chainTime(publicClient);
  const terms = orderTerms({ orderId: `ORDER-JS-${now}`, buyer: buyer.address, seller: supplier.address, amount: parseAmount('40.00', 2), shipBy: now + 86400n, confirmWindow: 3n * 86400n });
  assert.equal(terms.orderId, encodeReference(`ORDER-JS-${now}`));
  const signed = await signFunding(publicClient, buyer, { escrow, terms, validFor: 3600 });
  assert.equal(signed.typedData.message.nonce, orderKey(escrow, terms));
  const key = orderKey(escrow, terms); // the order's key on-chain: every call after funding names it
  assert.equal(await publicClient.readContract({ address: escrow, abi: tradeEscrowAbi, functionName: 'orderKey', args: [terms] }), key);
  const before = await bal(USD, escrow);
  await fundWithAuthorization(clientsOf(marketplace), signed);
  assert.equal(await bal(USD, escrow), before + 4000n);
  await send(clientsOf(supplier), { address: escrow, abi: tradeEscrowAbi, functionName: 'ship', args: [key, encodeReference('BL-JS-1')] });

  // the seller's bank de-lists it: the mint to it at Bank B is refused by that token, inside the network's pay, inside confirm
  await send(clientsOf(usdBCompliance), { address: bankB, abi: depositTokenAbi, functionName: 'removeFromAllowlist', args: [supplier.address] });
  let refusal;
  await assert.rejects(send(clientsOf(buyer), { address: escrow, abi: tradeEscrowAbi, functionName: 'confirm', args: [key] }), (e) => { refusal = e; return e instanceof SdkError; });
  assert.equal(refusal.decoded.name, 'ERC7943CannotReceive');
  assert.equal(refusal.decoded.named.account ?? refusal.decoded.args[0], supplier.address);
  assert.ok(refusal.decoded.contracts.includes('DepositToken') && refusal.decoded.contracts.includes('TradeEscrow'));
  // the same revert straight from viem (simulateContract with the escrow's ABI) and as raw data
  const viemError = await publicClient.simulateContract({ account: buyer, address: escrow, abi: tradeEscrowAbi, functionName: 'confirm', args: [key] }).catch((e) => e);
  assert.equal(viemError.cause?.data?.errorName, 'ERC7943CannotReceive'); // the exported ABI names the token's error
  assert.equal(decodeRevert(viemError).message, `ERC7943CannotReceive(account=${supplier.address})`);
  assert.equal(decodeRevert(refusal.decoded.data).name, 'ERC7943CannotReceive');

  await send(clientsOf(usdBCompliance), { address: bankB, abi: depositTokenAbi, functionName: 'allowlist', args: [supplier.address, now + 365n * 86400n] });
  const sellerBefore = await bal(bankB, supplier.address);
  await send(clientsOf(buyer), { address: escrow, abi: tradeEscrowAbi, functionName: 'confirm', args: [key] });
  assert.equal(await bal(bankB, supplier.address), sellerBefore + 4000n - 60n); // 1.50 % fee, kept at A; the rest paid at B
  void chain;
});
