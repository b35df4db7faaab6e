// Permits and EIP-3009 authorizations built, signed (viem account, viem wallet client, ethers signer) and submitted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SdkError, buildCancelAuthorization, buildPermit, buildTransferAuthorization, decodeRevert, depositTokenAbi, ethersTypedData,
  parseAmount, signAuthorization, submitAuthorization,
} from '@deposit-token/sdk';
import { Contract, JsonRpcProvider, Signature, Wallet, verifyTypedData } from 'ethers';
import { accounts, clientsOf, privateKeyOf, publicClient, record, rpcUrl } from '../testing/devnet.mjs';

const USD = record.tokens.USD;
const balance = (who) => publicClient.readContract({ address: USD, abi: depositTokenAbi, functionName: 'balanceOf', args: [who] });
const allowance = (owner, spender) => publicClient.readContract({ address: USD, abi: depositTokenAbi, functionName: 'allowance', args: [owner, spender] });

test('permit: a viem account signs, anyone submits (v, r, s form)', async () => {
  const { buyer, marketplace } = accounts;
  const permit = await buildPermit(publicClient, { token: USD, owner: buyer, spender: marketplace.address, value: parseAmount('12.34', 2), validFor: 3600 });
  const signed = await signAuthorization(buyer, permit);
  await submitAuthorization(clientsOf(marketplace), signed);
  assert.equal(await allowance(buyer.address, marketplace.address), 1234n);
});

test('permit: an ethers Wallet signs, ethers submits with the full signature of the overload', async () => {
  const { buyer, marketplace } = accounts;
  const provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
  const wallet = new Wallet(privateKeyOf(buyer), provider);
  const permit = await buildPermit(publicClient, { token: USD, owner: wallet, spender: marketplace.address, value: 777n, validFor: 3600 });
  const signed = await signAuthorization(wallet, permit);
  const { domain, types, message } = ethersTypedData(permit);
  assert.equal(verifyTypedData(domain, types, message, signed.signature), buyer.address);
  const { v, r, s } = Signature.from(signed.signature);
  const relayer = new Wallet(privateKeyOf(marketplace), provider);
  const token = new Contract(USD, depositTokenAbi, relayer);
  const permitVrs = token.getFunction('permit(address,address,uint256,uint256,uint8,bytes32,bytes32)');
  await permitVrs.staticCall(message.owner, message.spender, message.value, message.deadline, v, r, s); // simulate first
  await (await permitVrs(message.owner, message.spender, message.value, message.deadline, v, r, s)).wait();
  assert.equal(await allowance(buyer.address, marketplace.address), 777n);
  provider.destroy();
});

test('transferWithAuthorization: a viem wallet client signs, the marketplace submits; replay is refused and decoded', async () => {
  const { buyer, deskUsd: payee, marketplace } = accounts; // both clients of Bank A
  const before = await balance(payee.address);
  const auth = await buildTransferAuthorization(publicClient, { token: USD, from: buyer, to: payee.address, value: 2500n, validFor: 600 });
  assert.match(auth.message.nonce, /^0x[0-9a-f]{64}$/);
  const signed = await signAuthorization(clientsOf(buyer).walletClient, auth);
  await submitAuthorization(clientsOf(marketplace), signed);
  assert.equal(await balance(payee.address), before + 2500n);
  await assert.rejects(submitAuthorization(clientsOf(marketplace), signed), (error) => {
    assert.ok(error instanceof SdkError);
    assert.equal(error.decoded.name, 'ERC3009UsedAuthorization');
    assert.equal(decodeRevert(error).name, 'ERC3009UsedAuthorization');
    return true;
  });
});

test('receiveWithAuthorization (bytes overload: the signature as bytes) only from the payee; cancelAuthorization', async () => {
  const { buyer, deskUsd: payee, marketplace } = accounts; // both clients of Bank A
  const auth = await buildTransferAuthorization(publicClient, { token: USD, from: buyer, to: payee.address, value: 100n, validFor: 600, receive: true });
  const signed = await signAuthorization(buyer, auth);
  await assert.rejects(submitAuthorization(clientsOf(marketplace), signed), (e) => e.decoded?.name === 'ERC3009CallerNotPayee');
  const before = await balance(payee.address);
  const hash = await clientsOf(payee).walletClient.writeContract({
    address: USD, abi: depositTokenAbi, functionName: 'receiveWithAuthorization',
    args: [auth.message.from, auth.message.to, auth.message.value, auth.message.validAfter, auth.message.validBefore, auth.message.nonce, signed.signature],
  });
  await publicClient.waitForTransactionReceipt({ hash });
  assert.equal(await balance(payee.address), before + 100n);

  const unused = await signAuthorization(buyer, await buildTransferAuthorization(publicClient, { token: USD, from: buyer, to: payee.address, value: 1n, validFor: 600 }));
  const cancel = await signAuthorization(buyer, await buildCancelAuthorization(publicClient, { token: USD, authorizer: buyer, nonce: unused.typedData.message.nonce }));
  await submitAuthorization(clientsOf(marketplace), cancel);
  assert.equal(await publicClient.readContract({ address: USD, abi: depositTokenAbi, functionName: 'authorizationState', args: [buyer.address, unused.typedData.message.nonce] }), true);
  await assert.rejects(submitAuthorization(clientsOf(marketplace), unused), (e) => e.decoded?.name === 'ERC3009UsedAuthorization');
});
