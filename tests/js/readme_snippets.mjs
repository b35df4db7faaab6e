// Runs the README's integrator snippets (the indented ```js blocks of "Integrating: references, simulation,
// overloaded functions") as written, with what they assume in scope; run by tests/e2e/test_typed_data_interop.py.
// argv: rpc URL, path of the built SDK (js/dist/index.js). cwd: a directory with pay.json;
// env: DEPTOKEN_TOKEN_RECORD, the token's deployment record.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Contract, JsonRpcProvider, verifyTypedData } from 'ethers';
import { createPublicClient, http } from 'viem';
import { foundry } from 'viem/chains';

const [rpc, sdkPath, readmePath] = process.argv.slice(2);
const { encodeReference, depositTokenAbi } = await import(pathToFileURL(sdkPath).href);
const readme = readFileSync(readmePath, 'utf8');
const blocks = [...readme.matchAll(/^  ```js\n([\s\S]*?)^  ```$/gm)].map((m) => m[1].replace(/^  /gm, ''));
const snippet = (marker) => {
  const found = blocks.filter((b) => b.includes(marker));
  if (found.length !== 1) throw new Error(`${found.length} README snippets contain ${marker}`);
  return found[0];
};
const AsyncFunction = (async () => {}).constructor;
const publicClient = createPublicClient({ chain: { ...foundry, id: Number(await (new JsonRpcProvider(rpc)).send('eth_chainId', [])) }, transport: http(rpc) });
const provider = new JsonRpcProvider(rpc);
const scope = { readFileSync, publicClient, provider, Contract, encodeReference, depositTokenAbi, verifyTypedData };
const run = (code, result) => new AsyncFunction(...Object.keys(scope), `${code}\nreturn ${result};`)(...Object.values(scope));

const events = await run(snippet('token.filters.Minted'), '{ minted: minted.length, same: same.length, to: minted[0]?.args.to, ref }');
const file = await run(snippet('EIP712Domain, ...types'), 'verifyTypedData(typedData.domain, types, typedData.message, signature)');
process.stdout.write(JSON.stringify({ ...events, signer: file }));
provider.destroy();
