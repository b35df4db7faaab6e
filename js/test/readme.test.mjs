// The README's "From JavaScript" example, run exactly as written (extracted from README.md, so it cannot drift).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import '../testing/devnet.mjs'; // checks the devnet's environment (RPC_URL, DEPTOKEN_SETTLEMENT_RECORD)

const root = fileURLToPath(new URL('../../', import.meta.url));

export function readmeExample() {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('### From JavaScript'));
  const match = /```js\n([\s\S]*?)\n```/.exec(section);
  assert.ok(match, 'README.md has no ```js block under "### From JavaScript"');
  return match[1];
}

test("the README's JavaScript walkthrough runs as written", async () => {
  const code = readmeExample();
  assert.ok(code.split('\n').length > 10);
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '--eval', code], { cwd: root, env: process.env, timeout: 120_000 });
  assert.match(stdout, /^settled: 71234 CNH minor units for 10000 USD minor units$/m);
  assert.match(stdout, /^refused: QuoteAlreadyUsed\(maker=0x9DCCe783B6464611f38631e6C851bf441907c710, nonce=0x[0-9a-f]{64}\)$/m);
  assert.match(stdout, /^funded order 0x[0-9a-f]{64}, key 0x[0-9a-f]{64}$/m);
});
