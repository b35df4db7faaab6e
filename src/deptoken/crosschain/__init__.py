"""The bank's cross-chain transfer of its deposit token (``contracts/crosschain/DepositTokenMessenger.sol``):
burn on the source chain, k-of-n attestation by the bank's attesters, mint on the destination (or refusal
there and a refund at the source). :mod:`.messenger` holds the message, its attestations and the deployment."""
