#!/usr/bin/env bash
# The operations console against the devnet of `make devnet PORT=$PORT` (a tester's bank): on first use it
# makes the console's ledger (var/devnet-$PORT-console.sqlite) with the devnet team (operators ana, ben,
# chen, dan: Anvil's test accounts 10-13), the devnet's clients, and one console user per role, each with a
# random password, listed in var/devnet-$PORT-console-users.txt (mode 600) and printed. Devnet only:
# Anvil's public test keys sign (--devnet-keys). Serves http://127.0.0.1:$CONSOLE_PORT (default 8600).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8545}"
CONSOLE_PORT="${CONSOLE_PORT:-8600}"
ENV_FILE="var/devnet-$PORT.env"
[ -f "$ENV_FILE" ] || { echo "console: no devnet on port $PORT ($ENV_FILE is missing): start one with \`make devnet PORT=$PORT\`" >&2; exit 1; }
. "$ENV_FILE"
. tools/env.sh
export DEPTOKEN_DB_URL="sqlite:///$PWD/var/devnet-$PORT-console.sqlite"
USERS="var/devnet-$PORT-console-users.txt"
if [ ! -f "$USERS" ]; then
  rm -f "var/devnet-$PORT-console.sqlite"
  deptoken db upgrade > /dev/null
  deptoken operators bootstrap --operator ana 0xBcd4042DE499D14e55001CcbB24a551F3b954096 P-ANA \
    --operator ben 0x71bE63f3384f5fb98995898A86B02Fb2426c5788 P-BEN --operator chen 0xFABB0ac9d68B0B445fB7357272Ff202C5651694a P-CHEN \
    --operator dan 0x1CBd3b2770909D4e10f157cABC84C7264073C9Ec P-DAN > /dev/null
  deptoken --adopt clients import config/devnet-kyc.csv --as 10 > /dev/null   # --adopt: the devnet minted before this ledger
  deptoken clients import config/devnet-parties-kyc.csv --as 10 > /dev/null
  deptoken clients apply > /dev/null
  (umask 077 && : > "$USERS.tmp")
  for entry in maria:maker:ana bob:checker:ben carla:compliance:chen tess:treasury:dan vic:viewer: adam:admin:; do
    IFS=: read -r name role operator <<< "$entry"
    password="$(python -c 'import secrets; print(secrets.token_urlsafe(12))')"
    echo "$password" | deptoken console-users add "$name" --role "$role" ${operator:+--operator "$operator"} --password-stdin > /dev/null
    printf '%-6s %-11s %-9s %s\n' "$name" "$role" "${operator:-(none)}" "$password" >> "$USERS.tmp"
  done
  mv "$USERS.tmp" "$USERS"
fi
echo "console users of this devnet (user, role, operator, password; in $USERS):"
cat "$USERS"
exec deptoken console --port "$CONSOLE_PORT" --devnet-keys --work-dir "var/devnet-$PORT-console"
