# Every target sets up what it needs first (idempotent, fast when already done).
#   make demo    local devnet demo: start Anvil, deploy, onboard, mint, transfer, redeem, report, stop
#   make test    the whole test suite on a real Anvil, plus slither, the ABI check and the JS package's Node tests
#   make test-fast  the inner loop: the suite without the slow and the two-node tests (tests/conftest.py)
#   make bench   gas benchmark against a plain OpenZeppelin ERC-20 deployed in the same run
#   make bench-xchain  seconds from a cross-chain send to its mint, with the attester service running (1 s blocks)
#   make bench-ops  issuer tooling throughput: onboard 10,000 KYC records, 500 mints on 12 s blocks, index 10,000 transfers
#   make bench-console  console page timings with 10,000 clients and 100,000 indexed events
#   make devnet  a long-running Anvil on 127.0.0.1:8545 (PORT=8546: another port) with the token deployed and clients onboarded
#   make console the operations console on http://127.0.0.1:8600 against that devnet (its users and passwords are printed)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HALMOS_VENV := .venv-halmos
NET    ?= ethereum:local:foundry
PORT   ?= 8545

# Keep in step with tools/env.sh (the same settings for running ape by hand).
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export SOLCX_BINARY_PATH := $(CURDIR)/.solc/bin
# forge (foundry.toml) compiles offline with the same solc front end
export FOUNDRY_SOLC := $(CURDIR)/.solc/bin/solc-v$(shell sed -n 's/.*"solc": "\(.*\)".*/\1/p' package.json)
export APE_DISABLE_TELEMETRY := 1
export HARDHAT_DISABLE_TELEMETRY_PROMPT := true

.PHONY: setup demo test test-fast bench bench-xchain bench-ops bench-console devnet console browser compile abi clean

setup: $(VENV)/.installed $(HALMOS_VENV)/.installed node_modules/.installed js/dist/index.js
	@$(BIN)/python tools/setup_solc.py
	@# The project's own modules compiled ahead (only what changed): with PYTHONDONTWRITEBYTECODE set, as on
	@# these machines, each of the suite's processes would otherwise compile them again on import.
	@$(BIN)/python -m compileall -q src scripts tests

# requirements.lock pins everything, runtime and development tools (pyproject's `dev` extra) alike.
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e '.[dev]'
	touch $@

# halmos (symbolic tests over forge's build, tests/forge) in a virtualenv of its own: it pins rich<14.1,
# which ape's rich>=14.3.3 excludes.
$(HALMOS_VENV)/.installed: requirements-halmos.lock
	test -x $(HALMOS_VENV)/bin/python || $(PYTHON) -m venv $(HALMOS_VENV)
	$(HALMOS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-halmos.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --no-update-notifier --loglevel=error
	touch $@

# The npm package @deposit-token/sdk (js/, a workspace of the root package: `npm ci` installs its
# dependencies), compiled with the pinned TypeScript into js/dist.
js/dist/index.js: node_modules/.installed js/package.json js/tsconfig.json $(wildcard js/src/*.ts js/src/generated/*.ts)
	node_modules/.bin/tsc -p js/tsconfig.json
	touch $@

# --force: ape 0.8 does not always recompile a contract when only a contract it inherits changed.
# So every contract is compiled again, but only when a source (or a folder: a source added, moved or
# deleted), the compiler settings or the pinned OpenZeppelin packages changed since the last
# compilation (.build/.compiled).
CONTRACTS := $(shell find contracts -name '*.sol' -o -type d)

compile: setup .build/.compiled

.build/.compiled: $(CONTRACTS) ape-config.yaml package-lock.json
	$(BIN)/ape compile --force
	touch $@

demo: setup
	$(BIN)/ape run demo --network $(NET)

# -n auto: one pytest-xdist worker per CPU, each with its own Anvil. --dist loadgroup: tests/conftest.py
# puts each test module in one group (kept on one worker, so its module-scoped deployments are made
# once) and orders the modules costliest first, which --no-loadscope-reorder keeps.
XDIST := -n auto --dist loadgroup --no-loadscope-reorder

test: compile browser
	$(BIN)/ape test --network $(NET) -p no:cacheprovider $(XDIST)

# The inner loop (under 2 minutes on 2 cores): leaves out the tests marked slow or two_node.
test-fast: compile browser
	$(BIN)/ape test --network $(NET) -p no:cacheprovider $(XDIST) -m "not slow and not two_node"

bench: setup
	$(BIN)/ape run benchmark --network $(NET)

bench-xchain: compile
	$(BIN)/python tools/xchain_latency.py

bench-ops: setup
	$(BIN)/ape run ops_benchmark --network $(NET)

bench-console: compile
	$(BIN)/python tools/console_bench.py

# The console's browser tests drive Debian's chromium (installed here if missing; Playwright downloads no browser).
browser:
	@bash tools/chromium.sh > /dev/null

devnet: setup
	PORT=$(PORT) bash tools/devnet.sh

console: setup
	PORT=$(PORT) bash tools/console.sh

abi: compile
	$(BIN)/python -m deptoken.abi --write

clean:
	rm -rf .build .solc var js/dist $(VENV)/.installed node_modules/.installed
