#!/usr/bin/env bash
# A long-running local devnet for testers: Anvil on 127.0.0.1:$PORT (default 8545; `make devnet PORT=8546`; chain id 31337) with the token of
# config/devnet.yaml deployed (USD Bank A), the demo clients of config/devnet-clients.csv onboarded, and the
# cross-border devnet: USD Bank B and CNH Bank C, the settlement contracts, the interbank network with the
# banks' collateral, the cross-border parties each onboarded at one bank only (README "Interbank payments";
# 44 test accounts). The deployment records go to
# deployments/local-31337-<chain tag>.json and ...-settlement.json (named after this chain: two devnets
# never share one). Once all is deployed it writes var/devnet-$PORT.env, which exports RPC_URL,
# DEPTOKEN_NETWORK, DEPTOKEN_TOKEN_RECORD and DEPTOKEN_SETTLEMENT_RECORD for this devnet; it stays up
# until Ctrl-C (and removes that file). In another terminal:
#   . var/devnet-8545.env                        # the `deptoken` CLI has no default network: this sets it
#   deptoken status
#   .venv/bin/ape run mint --network $DEPTOKEN_NETWORK --to 0x14dC79964da2C08b23698B3D3cc7Ca32193d9955 --amount 100.00 --deposit-ref DEP-1
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8545}"
NET="ethereum:local:http://127.0.0.1:$PORT"
ENV_FILE="var/devnet-$PORT.env"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "devnet: 127.0.0.1:$PORT is already in use (another node running? choose another: make devnet PORT=8546)" >&2
  exit 1
fi
mkdir -p var
rm -f "$ENV_FILE"
anvil --host 127.0.0.1 --port "$PORT" --chain-id 31337 --accounts 44 --silent &
anvil_pid=$!
trap 'kill "$anvil_pid" 2>/dev/null || true; rm -f "$ENV_FILE"' EXIT INT TERM
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.2
done
ape run deploy --network "$NET"
ape run allowlist --network "$NET" --file config/devnet-clients.csv
ape run deploy_settlement --network "$NET"   # Banks B and C, PvP, HTLC, escrows, network, parties
python -m deptoken.deployments --rpc "http://127.0.0.1:$PORT" --network local --env > "$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
echo "devnet: up at http://127.0.0.1:$PORT (chain id 31337); \`. $ENV_FILE\` sets DEPTOKEN_NETWORK=$NET and the records' paths; Ctrl-C stops it"
wait "$anvil_pid"
