// Cross-library check of the signed files, run by tests/e2e/test_typed_data_interop.py (ethers and viem from node_modules).
// stdin: one JSON job; stdout: one JSON answer.
//   {"mode": "sign", "key": "0x...", "typedData": {...}}  -> a signed file as ethers emits it: typedData is
//        TypedDataEncoder.getPayload (hex chainId, lower-case addresses), uints rewritten as 0x-hex text, and,
//        with "dropDomainType", types without EIP712Domain; the signature from ethers' Wallet.signTypedData
//   {"mode": "verify", "file": "<file text>"} -> the signer as ethers' verifyTypedData recovers it (EIP712Domain
//        stripped from types, the one step ethers needs), as viem's recoverTypedDataAddress recovers it from the file's
//        typedData as it is, and what ethers' verifyTypedData says given the file's types unchanged
import { TypedDataEncoder, Wallet, verifyTypedData } from 'ethers';
import { recoverTypedDataAddress } from 'viem';

const job = JSON.parse(await new Promise((resolve) => { let s = ''; process.stdin.on('data', (d) => { s += d; }); process.stdin.on('end', () => resolve(s)); }));

if (job.mode === 'sign') {
  const { EIP712Domain, ...types } = job.typedData.types;
  const wallet = new Wallet(job.key);
  const { domain, message } = job.typedData;
  const signature = await wallet.signTypedData(domain, types, message);
  const payload = TypedDataEncoder.getPayload(domain, types, message);
  for (const field of types[payload.primaryType]) {
    if (field.type.startsWith('uint')) payload.message[field.name] = '0x' + BigInt(payload.message[field.name]).toString(16);
  }
  if (job.dropDomainType) delete payload.types.EIP712Domain;
  process.stdout.write(JSON.stringify({ typedData: payload, signature }));
} else {
  const file = JSON.parse(job.file);
  const { EIP712Domain, ...types } = file.typedData.types;
  const { domain, message } = file.typedData;
  const answer = {
    ethers: verifyTypedData(domain, types, message, file.signature),
    viem: await recoverTypedDataAddress({ ...file.typedData, signature: file.signature }),
  };
  try {
    answer.ethersWithDomainType = verifyTypedData(domain, file.typedData.types, message, file.signature);
  } catch (error) {
    answer.ethersWithDomainType = `error: ${error.shortMessage ?? error.message}`;
  }
  process.stdout.write(JSON.stringify(answer));
}
