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
import { accounts, chain, clientsOf, publicClient, record } from '../testing/devnet.mjs';
import { chainTime } from '@deposit-token/sdk';

const { USD, CNH } = record.tokens;
const bal = (token, who) => publicClient.readContract({ address: token, abi: depositTokenAbi, functionName: 'balanceOf', args: [who] });

test('PvP: the desk quotes CNH for 100.00 USD at 7.1234, the supplier settles both legs', async () => {
  const { desk, supplier, buyer, marketplace } = accounts;
  // the supplier gets 150.00 USD from the buyer (a transfer), the desk allows the PvP contract its CNH (a permit)
  await send(clientsOf(buyer), { address: USD, abi: depositTokenAbi, functionName: 'transfer', args: [supplier.address, 15000n] });
  const permit = await signAuthorization(desk, await buildPermit(publicClient, { token: CNH, owner: desk, spender: record.pvp, value: parseAmount('1000000.00', 2), validFor: 600 }));
  await submitAuthorization(clientsOf(marketplace), permit);

  const quote = await buildQuote(publicClient, { pvp: record.pvp, maker: desk, taker: supplier.address, makerToken: CNH, takerToken: USD, takerAmount: '100.00', rate: '7.1234', validFor: 120 });
  assert.equal(quote.message.makerAmount, 71234n); // 712.34 CNH
  const signed = await signQuote(desk, quote);
  assert.ok(await isValidSignature(publicClient, desk.address, signed.typedData, signed.signature));
  assert.equal(await publicClient.readContract({ address: record.pvp, abi: pvpSettlementAbi, functionName: 'hashQuote', args: [quote.message] }), digest(quote));
  const [usdBefore, cnhBefore] = [await bal(USD, supplier.address), await bal(CNH, supplier.address)];
  await settleQuote(clientsOf(supplier), signed, { approve: true });
  assert.equal(await bal(USD, supplier.address), usdBefore - 10000n);
  assert.equal(await bal(CNH, supplier.address), cnhBefore + 71234n);
  await assert.rejects(settleQuote(clientsOf(supplier), signed), (e) => e instanceof SdkError && e.decoded.name === 'QuoteAlreadyUsed');
});

test('escrow: funded with one signature (nonce = order key), shipped, confirmed; a nested token refusal decoded', async () => {
  const { buyer, supplier, marketplace, usdCompliance } = accounts;
  const escrow = record.escrows.USD;
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

  // the USD bank de-lists the seller: the escrow's payout transfer is refused by the token, inside confirm
  await send(clientsOf(usdCompliance), { address: USD, abi: depositTokenAbi, functionName: 'removeFromAllowlist', args: [supplier.address] });
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

  await send(clientsOf(usdCompliance), { address: USD, abi: depositTokenAbi, functionName: 'allowlist', args: [supplier.address, now + 365n * 86400n] });
  const sellerBefore = await bal(USD, supplier.address);
  await send(clientsOf(buyer), { address: escrow, abi: tradeEscrowAbi, functionName: 'confirm', args: [key] });
  assert.equal(await bal(USD, supplier.address), sellerBefore + 4000n - 60n); // 1.50 % fee
  void chain;
});
