#!/usr/bin/env bash
# A long-running local devnet for testers: Anvil on 127.0.0.1:$PORT (default 8545; `make devnet PORT=8546`; chain id 31337) with the token of
# config/devnet.yaml deployed (USD Bank A), the demo clients of config/devnet-clients.csv onboarded, and the
# cross-border devnet: USD Bank B and CNH Bank C, the settlement contracts, the interbank network with the
# banks' collateral, the cross-border parties each onboarded at one bank only (README "Interbank payments";
# 44 test accounts). The deployment records go to
# deployments/local-31337-<chain tag>.json and ...-settlement.json (named after this chain: two devnets
# never share one). Once all is deployed it writes var/devnet-$PORT.env, which exports RPC_URL,
# DEPTOKEN_NETWORK, DEPTOKEN_TOKEN_RECORD and DEPTOKEN_SETTLEMENT_RECORD for this devnet; it stays up
# until Ctrl-C (and removes that file). The cross-chain devnet beside it: a second Anvil on $PORT+1 (chain id
# 31338) with the same bank's token, a messenger on each chain, routes both ways, and the bank's one attester
# (test account 43) running as two services, one per direction (`deptoken xchain run`; logs in var/); the env
# file also exports DEPTOKEN_XCHAIN_NETWORK_B, DEPTOKEN_XCHAIN_MESSENGER_A/B. In another terminal:
#   . var/devnet-8545.env                        # the `deptoken` CLI has no default network: this sets it
#   deptoken status
#   .venv/bin/ape run mint --network $DEPTOKEN_NETWORK --to 0x14dC79964da2C08b23698B3D3cc7Ca32193d9955 --amount 100.00 --deposit-ref DEP-1
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8545}"
PORT_B=$((PORT + 1))
NET="ethereum:local:http://127.0.0.1:$PORT"
NET_B="ethereum:local:http://127.0.0.1:$PORT_B"
ENV_FILE="var/devnet-$PORT.env"
for port in "$PORT" "$PORT_B"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "devnet: 127.0.0.1:$port is already in use (another node running? choose another: make devnet PORT=8555)" >&2
    exit 1
  fi
done
mkdir -p var
rm -f "$ENV_FILE" "var/devnet-$PORT-attester-a.sqlite" "var/devnet-$PORT-attester-b.sqlite"
anvil --host 127.0.0.1 --port "$PORT" --chain-id 31337 --accounts 44 --silent &
anvil_pid=$!
anvil --host 127.0.0.1 --port "$PORT_B" --chain-id 31338 --accounts 44 --silent &
anvil_b_pid=$!
pids="$anvil_pid $anvil_b_pid"
trap 'kill $pids 2>/dev/null || true; rm -f "$ENV_FILE"' EXIT INT TERM
for port in "$PORT" "$PORT_B"; do
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
done
ape run deploy --network "$NET"
ape run allowlist --network "$NET" --file config/devnet-clients.csv
ape run deploy_settlement --network "$NET"   # Banks B and C, PvP, HTLC, escrows, network, parties
python -m deptoken.deployments --rpc "http://127.0.0.1:$PORT" --network local --env > "$ENV_FILE.tmp"
ape run deploy_crosschain --network "$NET" --to-uri "http://127.0.0.1:$PORT_B" --env-file "$ENV_FILE.tmp"
. "$ENV_FILE.tmp"
# the bank's policy on this chain names its messenger: its mints and burns are cross-chain transfers in the reconciliation
sed "s/^crosschain_messengers: \[\]/crosschain_messengers: [\"$DEPTOKEN_XCHAIN_MESSENGER_A\"]/" config/ops.yaml > "var/devnet-$PORT-ops.yaml"
echo "export DEPTOKEN_OPS_CONFIG=$PWD/var/devnet-$PORT-ops.yaml" >> "$ENV_FILE.tmp"
# the bank's attester, one service per direction, each with its ledger (a devnet test key: --as 43)
for dir in a b; do
  if [ "$dir" = a ]; then from="$NET" to="$NET_B" m="$DEPTOKEN_XCHAIN_MESSENGER_A" block="$DEPTOKEN_XCHAIN_BLOCK_A"
  else from="$NET_B" to="$NET" m="$DEPTOKEN_XCHAIN_MESSENGER_B" block="$DEPTOKEN_XCHAIN_BLOCK_B"; fi
  db="sqlite:///var/devnet-$PORT-attester-$dir.sqlite"
  deptoken --network "$from" --db "$db" db upgrade > /dev/null
  deptoken --network "$from" --db "$db" xchain run --messenger "$m" --to-network "$to" --from-block "$block" \
    --as 43 --interval 1 > "var/devnet-$PORT-attester-$dir.log" 2>&1 &
  pids="$pids $!"
done
mv "$ENV_FILE.tmp" "$ENV_FILE"
echo "devnet: up at http://127.0.0.1:$PORT (chain id 31337) and http://127.0.0.1:$PORT_B (chain id 31338, the cross-chain devnet); \`. $ENV_FILE\` sets DEPTOKEN_NETWORK=$NET and the records' paths; Ctrl-C stops it"
wait "$anvil_pid"
