// The generated ABIs and EIP-712 constants: those of abi/ (the compiled contracts) and of the deployed contracts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  depositTokenAbi, depositTokenMessengerAbi, hashedTimelockAbi, ierc7943FungibleAbi, interbankNetworkAbi, orderTermsType, orderTermsTypehash, pvpDomainName, pvpDomainVersion,
  pvpSettlementAbi, readDomain, tradeEscrowAbi,
} from '@deposit-token/sdk';
import { keccak256, stringToHex } from 'viem';
import { publicClient, record } from '../testing/devnet.mjs';

const json = (name) => JSON.parse(readFileSync(new URL(`../../abi/${name}.json`, import.meta.url), 'utf8'));

test('each generated ABI is the committed abi/<Contract>.json, and the settlement ABIs carry the token errors', () => {
  const pairs = { DepositToken: depositTokenAbi, PvPSettlement: pvpSettlementAbi, TradeEscrow: tradeEscrowAbi, HashedTimelock: hashedTimelockAbi, InterbankNetwork: interbankNetworkAbi, IERC7943Fungible: ierc7943FungibleAbi, DepositTokenMessenger: depositTokenMessengerAbi };
  for (const [name, abi] of Object.entries(pairs)) assert.deepEqual(abi, json(name), name);
  const tokenErrors = depositTokenAbi.filter((e) => e.type === 'error').map((e) => e.name);
  for (const abi of [pvpSettlementAbi, tradeEscrowAbi, hashedTimelockAbi, interbankNetworkAbi, depositTokenMessengerAbi]) {
    const names = new Set(abi.filter((e) => e.type === 'error').map((e) => e.name));
    for (const name of tokenErrors) assert.ok(names.has(name), name);
  }
});

test('EIP-712 constants agree with the deployed contracts', async () => {
  const pvp = await readDomain(publicClient, record.pvp);
  assert.deepEqual([pvp.name, pvp.version, pvp.chainId], [pvpDomainName, pvpDomainVersion, 31337]);
  assert.equal(keccak256(stringToHex(orderTermsType)), orderTermsTypehash);
  const onChain = await publicClient.readContract({ address: record.escrows.USD, abi: tradeEscrowAbi, functionName: 'ORDER_TERMS_TYPEHASH' });
  assert.equal(onChain, orderTermsTypehash);
  const usd = await readDomain(publicClient, record.tokens.USD);
  assert.equal(usd.version, '1');
  assert.equal(usd.name, await publicClient.readContract({ address: record.tokens.USD, abi: depositTokenAbi, functionName: 'name' }));
  // typed inference: viem knows decimals() returns a number and balanceOf a bigint
  const decimals = await publicClient.readContract({ address: record.tokens.CNH, abi: depositTokenAbi, functionName: 'decimals' });
  assert.equal(decimals, 2);
});
