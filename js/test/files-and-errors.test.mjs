// The signed-file reader takes what ethers emits; the decoder takes raw data, Error(string) and Panic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SdkError, decodeRevert, ethersTypedData, parseSignedFile, sign, signedFileJson, typedData, transferWithAuthorizationTypes } from '@deposit-token/sdk';
import { TypedDataEncoder, Wallet } from 'ethers';
import { encodeAbiParameters, encodeErrorResult, toFunctionSelector } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const key = `0x${'11'.repeat(32)}`;
const data = typedData({ name: 'Example Bank USD', version: '1', chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
  'TransferWithAuthorization', transferWithAuthorizationTypes.TransferWithAuthorization,
  { from: privateKeyToAccount(key).address, to: '0x40Fc963A729c542424cD800349a7E4Ecc4896624', value: 12550n, validAfter: 0n, validBefore: 1900000000n, nonce: `0x${'ab'.repeat(32)}` });

test("ethers' TypedDataEncoder.getPayload (hex chainId, hex uints, lower-case addresses) reads as the same message; viem and ethers signatures agree", async () => {
  const ethersSigner = new Wallet(key);
  const viemSigned = await sign(privateKeyToAccount(key), data);
  const ethersSigned = await sign(ethersSigner, data);
  assert.equal(viemSigned.signature, ethersSigned.signature);
  const { domain, types, message } = ethersTypedData(data);
  const payload = TypedDataEncoder.getPayload({ ...domain, verifyingContract: domain.verifyingContract.toLowerCase() }, types, { ...message, to: message.to.toLowerCase() });
  const parsed = parseSignedFile(JSON.stringify({ ...payload, signature: viemSigned.signature }));
  assert.deepEqual(parsed.typedData, data);
  assert.equal(signedFileJson(parsed), signedFileJson(viemSigned));
  for (const broken of [{ ...payload, primaryType: 'Mint' }, { ...payload, message: { ...payload.message, extra: 1 } }, { ...payload, domain: { name: 'x' } }]) {
    assert.throws(() => parseSignedFile(JSON.stringify({ typedData: broken, signature: viemSigned.signature })), SdkError);
  }
  assert.throws(() => parseSignedFile('{"typedData": {}}'), /signature/);
});

test('decodeRevert: raw data, nested error objects, Error(string), Panic, unknown selectors', () => {
  const raw = encodeErrorResult({ abi: [{ type: 'error', name: 'ERC20InsufficientBalance', inputs: [{ name: 'sender', type: 'address' }, { name: 'balance', type: 'uint256' }, { name: 'needed', type: 'uint256' }] }],
    errorName: 'ERC20InsufficientBalance', args: ['0x40Fc963A729c542424cD800349a7E4Ecc4896624', 5n, 7n] });
  const decoded = decodeRevert({ info: { error: { code: 3, data: raw } } }); // as a JSON-RPC error nests it
  assert.equal(decoded.message, 'ERC20InsufficientBalance(sender=0x40Fc963A729c542424cD800349a7E4Ecc4896624, balance=5, needed=7)');
  assert.deepEqual(decoded.contracts, ['DepositToken', 'PvPSettlement', 'TradeEscrow', 'HashedTimelock', 'InterbankNetwork']);
  const text = toFunctionSelector('Error(string)') + encodeAbiParameters([{ type: 'string' }], ['nope']).slice(2);
  assert.equal(decodeRevert(text).message, 'reverted: nope');
  const panic = toFunctionSelector('Panic(uint256)') + encodeAbiParameters([{ type: 'uint256' }], [0x11n]).slice(2);
  assert.equal(decodeRevert(new Error('x', { cause: { data: panic } })).message, 'panic 0x11: arithmetic overflow or underflow');
  assert.equal(decodeRevert('0xdeadbeef'), undefined);
  assert.equal(decodeRevert(new Error('no data')), undefined);
});
