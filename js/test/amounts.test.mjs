// Amounts, rates and references: exact bigint arithmetic, equal to the Python library's on the same inputs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { encodeReference, formatAmount, formatRate, makerAmountFor, parseAmount, parseRate } from '@deposit-token/sdk';

test('parseAmount / formatAmount are exact and refuse what the Python library refuses', () => {
  assert.equal(parseAmount('125.50', 2), 12550n);
  assert.equal(parseAmount('125.5', 2), 12550n);
  assert.equal(parseAmount('7', 0), 7n);
  assert.equal(parseAmount('1.500', 2), 150n); // trailing zeros are not extra places
  assert.equal(parseAmount('123456789012345678901234567890.12', 2), 12345678901234567890123456789012n);
  assert.equal(formatAmount(12550n, 2), '125.50');
  assert.equal(formatAmount(7n, 0), '7');
  for (const bad of ['1e5', '1,000.00', '0', '-5', '1.234', '', ' .5', '0x10']) assert.throws(() => parseAmount(bad, 2), /amount/);
  assert.throws(() => parseAmount(125.5, 2), /never as a number/);
  assert.equal(parseAmount('0', 2, { allowZero: true }), 0n);
});

test('maker amount from a rate across decimals: floor, in integers, as deptoken.settlement.pvp', async () => {
  assert.equal(parseRate('7.1234'), 7123400000000000000n);
  assert.equal(formatRate(7123400000000000000n), '7.1234');
  // 1,000.00 USD (2 decimals) at 7.1234 CNH per USD -> 7,123.40 CNH (2 decimals)
  assert.equal(makerAmountFor(100000n, parseRate('7.1234'), { makerDecimals: 2, takerDecimals: 2 }), 712340n);
  // 10.00 USD at 7.1234 -> 71.234 CNH, rounded down to 71.23
  assert.equal(makerAmountFor(1000n, parseRate('7.1234'), { makerDecimals: 2, takerDecimals: 2 }), 7123n);
  // 1,000.00 USD at 151.237 JPY per USD -> 151,237 JPY (0 decimals)
  assert.equal(makerAmountFor(100000n, parseRate('151.237'), { makerDecimals: 0, takerDecimals: 2 }), 151237n);
  const cases = [
    ['1000.00', '7.1234', 2, 2], ['10.00', '7.1234', 2, 2], ['1000.00', '151.237', 0, 2], ['12345', '0.006612', 2, 0],
    ['0.001', '0.377', 2, 3], ['99999999.99', '0.123456789012345678', 18, 2], ['1.01', '1', 6, 2],
  ];
  const js = cases.map(([amount, rate, md, td]) => String(makerAmountFor(parseAmount(amount, td), parseRate(rate), { makerDecimals: md, takerDecimals: td })));
  const script = `
import json, sys
from deptoken.amounts import parse_amount
from deptoken.settlement.pvp import maker_amount_for, parse_rate
print(json.dumps([str(maker_amount_for(parse_amount(a, td), parse_rate(r), maker_decimals=md, taker_decimals=td)) for a, r, md, td in json.loads(sys.argv[1])]))`;
  const { stdout } = await promisify(execFile)('python', ['-c', script, JSON.stringify(cases)]);
  assert.deepEqual(js, JSON.parse(stdout));
});

test('references: keccak-256 of the UTF-8 text, or 0x + 64 hex as is (deptoken.validation.reference_to_bytes32)', async () => {
  const texts = ['DEP-2026-000123', '  ORDER-1  ', 'Zahlung für Bestellung 7', `0x${'ab'.repeat(32)}`];
  const js = texts.map((t) => encodeReference(t));
  assert.equal(js[3], `0x${'ab'.repeat(32)}`);
  assert.equal(js[1], encodeReference('ORDER-1'));
  const script = `
import json, sys
from deptoken.validation import reference_to_bytes32
print(json.dumps(["0x" + reference_to_bytes32(t).hex() for t in json.loads(sys.argv[1])]))`;
  const { stdout } = await promisify(execFile)('python', ['-c', script, JSON.stringify(texts)]);
  assert.deepEqual(js, JSON.parse(stdout));
  assert.throws(() => encodeReference('   '), /must not be empty/);
  assert.throws(() => encodeReference(`0x${'00'.repeat(32)}`), /must not be zero/);
});
