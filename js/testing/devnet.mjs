// The devnet the JS tests run on, as tests/e2e/test_js_package.py prepares it: an Anvil with the token and
// the cross-border contracts deployed (`ape run deploy_settlement`), described by the environment.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createPublicClient, createWalletClient, http } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the JS tests through tests/e2e/test_js_package.py`);
  return value;
};

export const rpcUrl = need('DEPTOKEN_JS_RPC_URL');
export const workdir = need('DEPTOKEN_JS_WORKDIR');
export const record = JSON.parse(readFileSync(need('DEPTOKEN_SETTLEMENT_RECORD'), 'utf8'));

const MNEMONIC = 'test test test test test test test test test test test junk'; // Anvil's public test accounts
export const account = (index) => mnemonicToAccount(MNEMONIC, { addressIndex: index });
// Every devnet party is a client of one bank (the record's parties.clients): Bank A (USD) the buyer, the
// marketplace, its fees and the FX desk's USD account; Bank B (USD) the supplier; Bank C (CNH) the FX desk
// and the manufacturer.
export const accounts = {
  buyer: account(27), supplier: account(28), desk: account(29), marketplace: account(30), fees: account(31),
  deskUsd: account(40), manufacturer: account(41),
  usdCompliance: account(3), // config/devnet.yaml: Bank A's compliance
  usdBCompliance: account(35), // config/devnet-usd-b.yaml: Bank B's compliance
};
/** Bank B's token (the devnet's second USD bank): the record's banks by symbol. */
export const bankB = record.banks.EXUSB;

/** The private key of a viem HD account (for an ethers Wallet). */
export const privateKeyOf = (acct) => `0x${Buffer.from(acct.getHdKey().privateKey).toString('hex')}`;

export const chain = { ...foundry, rpcUrls: { default: { http: [rpcUrl] } } };
export const publicClient = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 200 });
export const clientsOf = (acct) => ({ publicClient, walletClient: createWalletClient({ account: acct, chain, transport: http(rpcUrl) }) });

/** `deptoken ARGS` (the Python tooling's CLI) against the same devnet; its stdout. */
export async function deptoken(...args) {
  const { stdout } = await promisify(execFile)('deptoken', args, { cwd: workdir, env: process.env, timeout: 120_000 });
  return stdout;
}
