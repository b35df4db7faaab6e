# Source this (`. tools/env.sh`) to run ape and the scripts by hand, as the Makefile does:
# the project's Python, Anvil, forge and Hardhat first on PATH, and its own solc front end for py-solc-x
# and forge.
_deptoken_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export PATH="$_deptoken_root/.venv/bin:$_deptoken_root/node_modules/.bin:$PATH"
export SOLCX_BINARY_PATH="$_deptoken_root/.solc/bin"
export FOUNDRY_SOLC="$_deptoken_root/.solc/bin/solc-v$(sed -n 's/.*"solc": "\(.*\)".*/\1/p' "$_deptoken_root/package.json")"
export APE_DISABLE_TELEMETRY=1
export HARDHAT_DISABLE_TELEMETRY_PROMPT=true
unset _deptoken_root
