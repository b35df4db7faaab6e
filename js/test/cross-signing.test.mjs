// Cross-signing with the Python tooling, both directions: files signed by `deptoken` are read and
// submitted from JavaScript; files signed here are verified and submitted by `deptoken`.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildRoutedQuote, buildTransferAuthorization, depositTokenAbi, fundWithAuthorization, fundingFileJson, isFunding, orderKey, orderTerms,
  parseAmount, parseSignedFile, payInterbank, settleThroughNetwork, signAuthorization, signFunding, signRoutedQuote, signedFileJson,
  submitAuthorization, chainTime, tradeEscrowAbi, send,
} from '@deposit-token/sdk';
import { accounts, bankB, clientsOf, deptoken, publicClient, record, workdir } from '../testing/devnet.mjs';

const { USD, CNH } = record.tokens;
const bal = (token, who) => publicClient.readContract({ address: token, abi: depositTokenAbi, functionName: 'balanceOf', args: [who] });
const file = (name) => join(workdir, name);
const { buyer, supplier, desk, deskUsd, manufacturer, marketplace } = accounts; // one bank each: A, B, C, A, C, A

test('Python signs, JavaScript submits: a transfer authorization and a permit (files read back byte for byte)', async () => {
  await deptoken('auth', 'sign-transfer', '--token', 'USD', '--to', deskUsd.address, '--amount', '125.50', '--out', file('py-pay.json'), '--as', '27');
  const text = readFileSync(file('py-pay.json'), 'utf8');
  const signed = parseSignedFile(text);
  assert.equal(signed.typedData.primaryType, 'TransferWithAuthorization');
  assert.equal(signed.typedData.message.value, 12550n);
  assert.equal(signedFileJson(signed), text); // the same bytes Python wrote
  const before = await bal(USD, deskUsd.address);
  await submitAuthorization(clientsOf(marketplace), signed);
  assert.equal(await bal(USD, deskUsd.address), before + 12550n);

  await deptoken('auth', 'sign-permit', '--token', 'CNH', '--spender', 'pvp', '--amount', '1000000.00', '--out', file('py-permit.json'), '--as', '29');
  await submitAuthorization(clientsOf(desk), parseSignedFile(readFileSync(file('py-permit.json'), 'utf8')));
  assert.equal(await publicClient.readContract({ address: CNH, abi: depositTokenAbi, functionName: 'allowance', args: [desk.address, record.pvp] }), 100000000n);
});

test('JavaScript signs, Python verifies and submits: a transfer authorization', async () => {
  const auth = await buildTransferAuthorization(publicClient, { token: USD, from: buyer, to: deskUsd.address, value: parseAmount('3.21', 2), validFor: 600 });
  writeFileSync(file('js-pay.json'), signedFileJson(await signAuthorization(buyer, auth)));
  assert.match(await deptoken('auth', 'verify', file('js-pay.json')), /valid now/);
  const before = await bal(USD, deskUsd.address);
  await deptoken('auth', 'submit', file('js-pay.json'), '--as', '30');
  assert.equal(await bal(USD, deskUsd.address), before + 321n);
});

test('routed FX quotes both ways: the supplier (USD at Bank B) pays the manufacturer (CNH at Bank C) through the network', async () => {
  const network = record.interbank;
  const now = await chainTime(publicClient);
  await payInterbank(clientsOf(buyer), { network, fromToken: USD, toToken: bankB, payee: supplier.address, amount: '40.00', paymentId: `XS-FUND-${now}`, approve: true });
  await deptoken('pvp', 'quote', '--via-network', network, '--receiver', deskUsd.address, '--to', supplier.address, '--maker-token', 'CNH',
    '--taker-token', USD, '--taker-amount', '10.00', '--rate', '7.1234', '--valid-for', '600', '--out', file('py-quote.json'), '--as', '29');
  const text = readFileSync(file('py-quote.json'), 'utf8');
  const pyQuote = parseSignedFile(text);
  assert.equal(pyQuote.typedData.primaryType, 'RoutedQuote');
  assert.equal(pyQuote.typedData.message.makerAmount, 7123n);
  assert.equal(signedFileJson(pyQuote), text);
  const [cnh, usd] = [await bal(CNH, manufacturer.address), await bal(USD, deskUsd.address)];
  await settleThroughNetwork(clientsOf(supplier), pyQuote, { fromToken: bankB, payee: manufacturer.address, approve: true });
  assert.equal(await bal(CNH, manufacturer.address), cnh + 7123n);
  assert.equal(await bal(USD, deskUsd.address), usd + 1000n); // the desk's USD account at A, paid through the network

  const quote = await buildRoutedQuote(publicClient, { pvp: record.pvp, maker: desk, receiver: deskUsd.address, taker: supplier.address,
    makerToken: CNH, takerToken: USD, takerAmount: '20.00', rate: '7.1234', validFor: 600, network });
  writeFileSync(file('js-quote.json'), signedFileJson(await signRoutedQuote(desk, quote)));
  await deptoken('pvp', 'settle-across', file('js-quote.json'), '--from-token', 'EXUSB', '--payee', manufacturer.address, '--approve', '--as', '28');
  assert.equal(await bal(CNH, manufacturer.address), cnh + 7123n + 14246n);
  assert.equal(await bal(USD, deskUsd.address), usd + 3000n);
});

test('escrow fundings both ways: Python-signed funded from JavaScript, JavaScript-signed funded by Python', async () => {
  const escrow = record.escrows.USD;
  // the supplier banks at B: it names Bank B as where the escrow pays it (Python checks a seller where it is paid)
  await send(clientsOf(supplier), { address: escrow, abi: tradeEscrowAbi, functionName: 'setPayoutToken', args: [bankB] });
  await deptoken('escrow', 'sign-funding', '--escrow', 'USD', '--order', 'ORDER-PY-1', '--seller', supplier.address, '--amount', '50.00',
    '--ship-by', '+7d', '--confirm-window', '3d', '--out', file('py-order.json'), '--as', '27');
  const text = readFileSync(file('py-order.json'), 'utf8');
  const pyFunding = parseSignedFile(text);
  assert.ok(isFunding(pyFunding));
  assert.equal(pyFunding.typedData.message.nonce, orderKey(escrow, pyFunding.terms)); // the Python order key is ours
  assert.equal(fundingFileJson(pyFunding), text);
  const held = await bal(USD, escrow);
  await fundWithAuthorization(clientsOf(marketplace), pyFunding);
  assert.equal(await bal(USD, escrow), held + 5000n);

  const now = await chainTime(publicClient);
  const terms = orderTerms({ orderId: 'ORDER-JS-TO-PY-1', buyer: buyer.address, seller: supplier.address, amount: 6000n, shipBy: now + 7n * 86400n, confirmWindow: 3n * 86400n });
  writeFileSync(file('js-order.json'), fundingFileJson(await signFunding(publicClient, buyer, { escrow, terms, validFor: 3600 })));
  await deptoken('escrow', 'fund', '--escrow', 'USD', '--authorization', file('js-order.json'), '--as', '30');
  assert.equal(await bal(USD, escrow), held + 11000n);
});
