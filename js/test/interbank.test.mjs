// Interbank payments from JavaScript on the devnet's network: the buyer banks at Bank A (USD), the
// supplier at Bank B (USD). One signature (JS or Python signs, the other side submits) and by approval.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  PAYMENT_TYPEHASH, buildRoutedQuote, depositTokenAbi, encodeReference, interbankNetworkAbi, isPayment, parseSignedFile, payInterbank,
  paymentFileJson, paymentNonce, paymentReference, pvpSettlementAbi, routedPaymentId, settleThroughNetwork, signInterbankPayment, signRoutedQuote,
  signedFileJson, submitInterbankPayment,
} from '@deposit-token/sdk';
import { account, accounts, clientsOf, deptoken, publicClient, record, workdir } from '../testing/devnet.mjs';

const network = record.interbank;
const bankA = record.tokens.USD;
const members = await publicClient.readContract({ address: network, abi: interbankNetworkAbi, functionName: 'members' });
const bankB = members.find((m) => m.toLowerCase() !== bankA.toLowerCase());
const bal = (token, who) => publicClient.readContract({ address: token, abi: depositTokenAbi, functionName: 'balanceOf', args: [who] });
const position = async (token) => (await publicClient.readContract({ address: network, abi: interbankNetworkAbi, functionName: 'bank', args: [token] })).position;
const { buyer, supplier, marketplace } = accounts;
const file = (name) => join(workdir, name);

test('the payment nonce and its type hash are the contract\'s', async () => {
  assert.equal(await publicClient.readContract({ address: network, abi: interbankNetworkAbi, functionName: 'PAYMENT_TYPEHASH' }), PAYMENT_TYPEHASH);
  const id = encodeReference('NONCE-CHECK');
  assert.equal(await publicClient.readContract({ address: network, abi: interbankNetworkAbi, functionName: 'paymentNonce', args: [bankB, supplier.address, id] }),
    paymentNonce(network, bankB, supplier.address, id));
  assert.equal(await publicClient.readContract({ address: network, abi: interbankNetworkAbi, functionName: 'paymentReference', args: [buyer.address, id] }),
    paymentReference(buyer.address, id));
});

test('the buyer at Bank A signs once in JavaScript; the marketplace submits; the supplier is paid at Bank B', async () => {
  const [a, b, posA, posB] = [await bal(bankA, buyer.address), await bal(bankB, supplier.address), await position(bankA), await position(bankB)];
  const signed = await signInterbankPayment(publicClient, buyer, {
    network, fromToken: bankA, toToken: bankB, payee: supplier.address, amount: '25.00', paymentId: 'JS-CHECKOUT-1', validFor: 600,
  });
  await submitInterbankPayment(clientsOf(marketplace), signed);
  assert.equal(await bal(bankA, buyer.address), a - 2500n);
  assert.equal(await bal(bankB, supplier.address), b + 2500n);
  assert.equal(await position(bankA), posA - 2500n); // Bank A owes the network (Bank B) 25.00 more
  assert.equal(await position(bankB), posB + 2500n);
  await assert.rejects(submitInterbankPayment(clientsOf(marketplace), signed), (e) => e.decoded?.name === 'PaymentIdUsed');
  await assert.rejects(signInterbankPayment(publicClient, buyer, {
    network, fromToken: bankA, toToken: bankB, payee: supplier.address, amount: 1n, paymentId: 'JS-CHECKOUT-1', validFor: 600,
  }), /already used/);
});

test('a signed payment cannot be redirected: another payee breaks its nonce', async () => {
  const signed = await signInterbankPayment(publicClient, buyer, {
    network, fromToken: bankA, toToken: bankB, payee: supplier.address, amount: '1.00', paymentId: 'JS-REDIRECT-1', validFor: 600,
  });
  const text = paymentFileJson({ ...signed, payee: marketplace.address });
  assert.throws(() => parseSignedFile(text), /nonce differs/);
});

test('Python signs, JavaScript submits; JavaScript signs, Python submits (files byte for byte)', async () => {
  await deptoken('interbank', 'sign', '--from-token', bankA, '--to-token', bankB, '--to', supplier.address, '--amount', '12.34',
    '--id', 'PY-TO-JS-1', '--valid-for', '600', '--out', file('py-payment.json'), '--as', '27');
  const text = readFileSync(file('py-payment.json'), 'utf8');
  const pySigned = parseSignedFile(text);
  assert.ok(isPayment(pySigned));
  assert.equal(paymentFileJson(pySigned), text);
  const b = await bal(bankB, supplier.address);
  await submitInterbankPayment(clientsOf(marketplace), pySigned);
  assert.equal(await bal(bankB, supplier.address), b + 1234n);

  const signed = await signInterbankPayment(publicClient, buyer, {
    network, fromToken: bankA, toToken: bankB, payee: supplier.address, amount: '5.67', paymentId: 'JS-TO-PY-1', validFor: 600,
  });
  writeFileSync(file('js-payment.json'), paymentFileJson(signed));
  await deptoken('interbank', 'submit', file('js-payment.json'), '--as', '30');
  assert.equal(await bal(bankB, supplier.address), b + 1234n + 567n);
});

test('by approval: the buyer pays from its wallet, approving the network first', async () => {
  const b = await bal(bankB, supplier.address);
  await payInterbank(clientsOf(buyer), { network, fromToken: bankA, toToken: bankB, payee: supplier.address, amount: 4200n, paymentId: 'JS-APPROVED-1', approve: true });
  assert.equal(await bal(bankB, supplier.address), b + 4200n);
  await assert.rejects(payInterbank(clientsOf(buyer), { network, fromToken: bankA, toToken: bankA, payee: supplier.address, amount: 1n, paymentId: 'JS-SAME-1' }), /plain transfer/);
});

test('FX across banks: the supplier (USD at Bank B) pays the manufacturer in CNH at Bank C against the desk\'s routed quote', async () => {
  const { desk } = accounts;
  const [deskUsd, manufacturer] = [account(40), account(41)]; // the desk's USD account at Bank A; the manufacturer at Bank C
  const CNH = record.tokens.CNH;
  await clientsOf(desk).walletClient.writeContract({ address: CNH, abi: depositTokenAbi, functionName: 'approve', args: [record.pvp, 10n ** 12n] })
    .then((hash) => publicClient.waitForTransactionReceipt({ hash }));
  const data = await buildRoutedQuote(publicClient, {
    pvp: record.pvp, maker: desk, receiver: deskUsd.address, taker: supplier.address, makerToken: CNH, takerToken: bankA,
    takerAmount: '10.00', rate: '7.1234', validFor: 600, network,
  });
  const signed = await signRoutedQuote(desk, data);
  assert.deepEqual(parseSignedFile(signedFileJson(signed)), signed); // the file form reads back
  const [usdB, usdA, cnh] = [await bal(bankB, supplier.address), await bal(bankA, deskUsd.address), await bal(CNH, manufacturer.address)];
  await settleThroughNetwork(clientsOf(supplier), signed, { fromToken: bankB, payee: manufacturer.address, approve: true });
  assert.equal(await bal(bankB, supplier.address), usdB - 1000n);
  assert.equal(await bal(bankA, deskUsd.address), usdA + 1000n);
  assert.equal(await bal(CNH, manufacturer.address), cnh + 7123n);
  const id = routedPaymentId(signed);
  assert.equal(await publicClient.readContract({ address: record.pvp, abi: pvpSettlementAbi, functionName: 'routedPaymentId',
    args: [await publicClient.readContract({ address: record.pvp, abi: pvpSettlementAbi, functionName: 'hashRoutedQuote', args: [signed.typedData.message] })] }), id);
  assert.equal(await publicClient.readContract({ address: network, abi: interbankNetworkAbi, functionName: 'isPaymentIdUsed', args: [record.pvp, id] }), true);
});
