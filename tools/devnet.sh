#!/usr/bin/env bash
# A long-running local devnet for testers: Anvil on 127.0.0.1:$PORT (default 8545; `make devnet PORT=8546`; chain id 31337) with the token of
# config/devnet.yaml deployed (deployments/local.json), the demo clients of config/devnet-clients.csv
# onboarded, and the cross-border devnet (CNH token, settlement contracts, parties:
# deployments/local-settlement.json). Stays up until Ctrl-C. In another terminal:
#   export DEPTOKEN_NETWORK=ethereum:local:http://127.0.0.1:8545   # the `deptoken` CLI has no default network
#   .venv/bin/ape run status --network ethereum:local:http://127.0.0.1:8545
#   .venv/bin/ape run mint --network ethereum:local:http://127.0.0.1:8545 --to 0x14dC79964da2C08b23698B3D3cc7Ca32193d9955 --amount 100.00 --deposit-ref DEP-1
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8545}"
NET="ethereum:local:http://127.0.0.1:$PORT"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "devnet: 127.0.0.1:$PORT is already in use (another node running? choose another: make devnet PORT=8546)" >&2
  exit 1
fi
anvil --host 127.0.0.1 --port "$PORT" --chain-id 31337 --accounts 32 --silent &
anvil_pid=$!
trap 'kill "$anvil_pid" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.2
done
ape run deploy --network "$NET" --force
ape run allowlist --network "$NET" --file config/devnet-clients.csv
ape run deploy_settlement --network "$NET"   # CNH token, PvP, HTLC, escrow, cross-border parties
echo "devnet: up at http://127.0.0.1:$PORT (chain id 31337); use --network $NET (or export DEPTOKEN_NETWORK=$NET); Ctrl-C stops it"
wait "$anvil_pid"
