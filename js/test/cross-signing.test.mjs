// Cross-signing with the Python tooling, both directions: files signed by `deptoken` are read and
// submitted from JavaScript; files signed here are verified and submitted by `deptoken`.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildQuote, buildTransferAuthorization, depositTokenAbi, fundWithAuthorization, fundingFileJson, isFunding, orderKey, orderTerms,
  parseAmount, parseSignedFile, settleQuote, signAuthorization, signFunding, signQuote, signedFileJson, submitAuthorization, chainTime,
} from '@deposit-token/sdk';
import { accounts, clientsOf, deptoken, publicClient, record, workdir } from '../testing/devnet.mjs';

const { USD, CNH } = record.tokens;
const bal = (token, who) => publicClient.readContract({ address: token, abi: depositTokenAbi, functionName: 'balanceOf', args: [who] });
const file = (name) => join(workdir, name);
const { buyer, supplier, desk, marketplace } = accounts;

test('Python signs, JavaScript submits: a transfer authorization and a permit (files read back byte for byte)', async () => {
  await deptoken('auth', 'sign-transfer', '--token', 'USD', '--to', supplier.address, '--amount', '125.50', '--out', file('py-pay.json'), '--as', '27');
  const text = readFileSync(file('py-pay.json'), 'utf8');
  const signed = parseSignedFile(text);
  assert.equal(signed.typedData.primaryType, 'TransferWithAuthorization');
  assert.equal(signed.typedData.message.value, 12550n);
  assert.equal(signedFileJson(signed), text); // the same bytes Python wrote
  const before = await bal(USD, supplier.address);
  await submitAuthorization(clientsOf(marketplace), signed);
  assert.equal(await bal(USD, supplier.address), before + 12550n);

  await deptoken('auth', 'sign-permit', '--token', 'CNH', '--spender', 'pvp', '--amount', '1000000.00', '--out', file('py-permit.json'), '--as', '29');
  await submitAuthorization(clientsOf(desk), parseSignedFile(readFileSync(file('py-permit.json'), 'utf8')));
  assert.equal(await publicClient.readContract({ address: CNH, abi: depositTokenAbi, functionName: 'allowance', args: [desk.address, record.pvp] }), 100000000n);
});

test('JavaScript signs, Python verifies and submits: a transfer authorization', async () => {
  const auth = await buildTransferAuthorization(publicClient, { token: USD, from: buyer, to: supplier.address, value: parseAmount('3.21', 2), validFor: 600 });
  writeFileSync(file('js-pay.json'), signedFileJson(await signAuthorization(buyer, auth)));
  assert.match(await deptoken('auth', 'verify', file('js-pay.json')), /valid now/);
  const before = await bal(USD, supplier.address);
  await deptoken('auth', 'submit', file('js-pay.json'), '--as', '30');
  assert.equal(await bal(USD, supplier.address), before + 321n);
});

test('PvP quotes both ways: Python quote settled from JavaScript, JavaScript quote settled by Python', async () => {
  await deptoken('pvp', 'quote', '--to', supplier.address, '--maker-token', 'CNH', '--taker-token', 'USD', '--taker-amount', '10.00',
    '--rate', '7.1234', '--valid-for', '600', '--out', file('py-quote.json'), '--as', '29');
  const text = readFileSync(file('py-quote.json'), 'utf8');
  const pyQuote = parseSignedFile(text);
  assert.equal(pyQuote.typedData.message.makerAmount, 7123n);
  assert.equal(signedFileJson(pyQuote), text);
  const cnh = await bal(CNH, supplier.address);
  await settleQuote(clientsOf(supplier), pyQuote, { approve: true });
  assert.equal(await bal(CNH, supplier.address), cnh + 7123n);

  const quote = await buildQuote(publicClient, { pvp: record.pvp, maker: desk, taker: supplier.address, makerToken: CNH, takerToken: USD, takerAmount: '20.00', rate: '7.1234', validFor: 600 });
  writeFileSync(file('js-quote.json'), signedFileJson(await signQuote(desk, quote)));
  await deptoken('pvp', 'settle', file('js-quote.json'), '--approve', '--as', '28');
  assert.equal(await bal(CNH, supplier.address), cnh + 7123n + 14246n);
});

test('escrow fundings both ways: Python-signed funded from JavaScript, JavaScript-signed funded by Python', async () => {
  const escrow = record.escrows.USD;
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
