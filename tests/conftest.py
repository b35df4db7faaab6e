"""The root of the test suite: fixtures come from ``tests/fixtures/`` as plugins, markers from the
table below.

Layout (by area; a test module's basename is unique across folders, as pytest's default import mode
needs without ``__init__.py`` files):

* ``contracts/``: the token's behaviour on Anvil, its roles, upgrades, state machine, ABI, gas, slither
* ``library/``: the Python library's input validation and the ape scripts
* ``ops/``: the issuer tooling (ledger, workflows, CLI, crash recovery, ISO 20022)
* ``settlement/``: escrow, PvP, hashed time-locks and the cross-border deployment
* ``crosschain/``: the bank's cross-chain messenger on two Anvils, and its gas
* ``e2e/``: the README's blocks, the JS package and cross-library signing, on devnets of their own

``constants.py`` holds the values tests share, ``helpers.py`` the contract tests' assertions,
``ops_support.py`` the ops tests' helpers (``Devnet``), ``ape_overhead.py`` what ape's per-call work
no test asserts is left out of the test processes.

Markers (registered in pyproject.toml): ``slow``, ``two_node`` (starts a node besides ape's Anvil) and
``postgres`` (the PostgreSQL variant of a ledger test, skipped with its reason when
``DEPTOKEN_TEST_POSTGRES_URL`` is not set). A new test marks itself (``@pytest.mark.slow``); the
tests that were here before the markers are marked from ``MARKS`` so that their files stay as they were.
``make test-fast`` deselects ``slow`` and ``two_node``.
"""

from __future__ import annotations

import functools

import ape_test.accounts
import pytest

import ape_overhead

# ape derives a test account from its mnemonic (PBKDF2, then BIP-32) each time it looks one up, and
# it looks all 32 up for every revert it explains (ape-foundry prints the call trace): half of a
# contract test's time. The derivation is a pure function of its arguments, so it is remembered.
ape_test.accounts.generate_dev_accounts = functools.cache(ape_test.accounts.generate_dev_accounts)

ape_overhead.apply()  # more of ape's per-call work that no test asserts (tests/ape_overhead.py)

pytest_plugins = ["fixtures.accounts", "fixtures.tokens", "fixtures.ops"]

# Fixtures that start a node of their own (a standalone Anvil): a test using one is ``two_node``.
NODE_FIXTURES = {"devnet", "deployed_devnet", "second_chain", "prepared"}

# (path under tests/, test name or "*" for the whole module) -> markers. Slow: several seconds or more
# on a 2-core machine (`--durations`): state machines, subprocesses, slither, many deployments.
MARKS: dict[tuple[str, str], tuple[str, ...]] = {
    # whole modules
    ("contracts/test_stateful.py", "*"): ("slow",),
    ("contracts/test_slither.py", "*"): ("slow",),
    ("contracts/test_halmos.py", "*"): ("slow",),  # halmos symbolic proofs, tens of seconds
    ("contracts/test_halmos_roles.py", "*"): ("slow",),  # halmos's role sweeps, 25-110 s each
    ("settlement/test_escrow_stateful.py", "*"): ("slow",),
    ("settlement/test_interbank_stateful.py", "*"): ("slow",),
    ("settlement/test_forge_invariants.py", "*"): ("slow",),  # forge invariant campaigns, ~30-40 s in all
    ("settlement/test_settlement_deploy.py", "*"): ("slow", "two_node"),
    ("ops/test_ops_faults.py", "*"): ("slow", "two_node"),
    ("ops/test_ops_interbank_faults.py", "*"): ("slow", "two_node"),
    ("ops/test_ops_cli.py", "*"): ("slow",),  # its tests on a devnet are two_node by their fixture
    ("e2e/test_readme_blocks.py", "*"): ("slow", "two_node"),
    ("e2e/test_js_package.py", "test_js_package_builds_and_its_node_tests_pass"): ("slow", "two_node"),
    ("ops/test_ops_benchmark.py", "*"): ("slow", "two_node"),  # the benchmark's and the demo's own Anvil
    ("console/test_console_browser.py", "*"): ("slow", "two_node"),  # chromium, `deptoken console`, a devnet
    ("console/test_console_bench.py", "*"): ("slow", "two_node"),  # the benchmark's own Anvil and console
    ("contracts/test_benchmark.py", "*"): ("slow",),
    ("settlement/test_pvp.py", "test_property_both_legs_or_neither"): ("slow",),  # hypothesis, 4-8 s each
    ("settlement/test_pvp.py", "test_property_proposals_books_and_legal_exits"): ("slow",),
    ("e2e/test_typed_data_interop.py", "test_readme_event_filter_and_signed_file_snippets_run"): ("slow",),  # node subprocesses
    ("e2e/test_typed_data_interop.py", "test_python_files_verify_in_ethers_and_viem"): ("slow",),
    # single tests: a Hardhat node, `ape run` / `deptoken` subprocesses, upgrades that deploy implementations
    ("library/test_scripts.py", "test_scripts_on_a_hardhat_node"): ("slow", "two_node"),
    ("library/test_scripts.py", "test_mint_script"): ("slow",),
    ("library/test_scripts.py", "test_allowlist_script_rejects_a_broken_file"): ("slow",),
    ("contracts/test_upgrade.py", "test_upgrade_keeps_all_state"): ("slow",),
    ("contracts/test_upgrade.py", "test_upgraded_token_keeps_working_and_enforcing"): ("slow",),
    ("contracts/test_upgrade.py", "test_upgrade_from_1_0_0_sets_up_the_eip712_domain"): ("slow",),
    ("contracts/test_upgrade.py", "test_token_deployed_as_1_1_0_refuses_the_1_0_0_upgrade_step"): ("slow",),
    ("contracts/test_upgrade.py", "test_upgrade_cannot_reinitialize"): ("slow",),
    ("contracts/test_upgrade.py", "test_upgrade_with_call"): ("slow",),
    ("contracts/test_upgrade.py", "test_upgrade_to_proxy_reverts"): ("slow",),
    ("contracts/test_authorizations.py", "test_authorization_window_and_alterations"): ("slow",),
    ("contracts/test_authorizations.py", "test_cancel_authorization"): ("slow",),
    ("contracts/test_authorizations.py", "test_cli_sign_verify_submit"): ("slow",),
    ("contracts/test_authorizations.py", "test_receive_with_authorization_only_by_payee"): ("slow",),
    ("contracts/test_eip7702.py", "test_delegated_holder_signatures_follow_its_delegate"): ("slow",),
    ("settlement/test_htlc.py", "test_cli_withdraw_seize_replace_positions"): ("slow",),
    ("settlement/test_htlc.py", "test_state_machine_books_balance_under_restrictions"): ("slow",),
    ("settlement/test_escrow.py", "test_cli"): ("slow",),
    ("ops/test_ops_status.py", "test_bulk_approve_shows_totals_asks_then_signs_each"): ("slow",),
}


# Scheduling under pytest-xdist (`make test`: --dist loadgroup --no-loadscope-reorder). Every test
# module is one group (as with --dist loadfile: its module-scoped deployments are made once), and the
# groups go to the workers costliest first, so that no long group starts last and runs alone
# (xdist's own order, by number of tests, put the slowest modules, which have few tests, at the end).
# A worker takes its next group when two tests of its current one are left, so a group's last tests
# decide how long the group taken after them waits.
# COST: seconds of a group's tests on a 2-core machine (from `--durations`, summed by group; only the
# order matters, unlisted groups take a few seconds and follow). Cutting a long module into several
# groups was measured too: each group then makes its own module fixtures (the fault tests' prepared
# devnet), which cost more than the better balance saved. OWN_GROUP: the tests that use no module
# fixture of their module and are long on their own (a node or a solver run of their own) form a
# group each ("path::test id"), so that they spread over the workers ("*": each test of the module).
OWN_GROUP: set[tuple[str, str]] = {
    ("contracts/test_halmos.py", "*"),  # one halmos run per test
    ("contracts/test_halmos_roles.py", "*"),
    ("e2e/test_readme_blocks.py", "test_readme_deptoken_walkthrough_runs_as_written"),  # its own `make devnet`
    ("library/test_scripts.py", "test_scripts_on_a_hardhat_node"),  # a Hardhat node
    ("library/test_deployments.py", "test_two_local_nodes_keep_their_own_records"),  # two devnets
}
COST: dict[str, int] = {
    "e2e/test_readme_blocks.py": 100,  # the devnet of `make devnet` and the README's blocks on it
    "e2e/test_readme_blocks.py::test_readme_deptoken_walkthrough_runs_as_written": 55,
    "contracts/test_halmos.py::test_halmos_proves[IssuanceTest]": 48,
    "contracts/test_halmos_roles.py::test_role_sweep_proves[legalCaller]": 109,
    "contracts/test_halmos_roles.py::test_role_sweep_proves[complianceCaller]": 44,
    "contracts/test_halmos_roles.py::test_role_sweep_proves[minterAdminCaller]": 40,
    "contracts/test_halmos_roles.py::test_role_sweep_proves[adminCaller]": 39,
    "contracts/test_halmos_roles.py::test_role_sweep_proves[minterCaller]": 32,
    "contracts/test_halmos_roles.py::test_role_sweep_proves[upgraderCaller]": 31,
    "contracts/test_halmos_roles.py::test_role_sweep_proves[pauserCaller]": 27,
    "contracts/test_halmos_roles.py::test_role_sweep_proves[noRoleCaller]": 26,
    "contracts/test_halmos.py::test_halmos_proves[TransferTest]": 13,
    "contracts/test_halmos.py::test_halmos_refutes_wrong_properties": 11,
    "contracts/test_halmos.py::test_halmos_proves[PackedAccountTokenTest]": 6,
    "contracts/test_halmos.py::test_halmos_proves[PackedAccountLibraryTest]": 5,
    "settlement/test_escrow_stateful.py": 53,
    "library/test_scripts.py": 50,
    "library/test_scripts.py::test_scripts_on_a_hardhat_node": 20,
    "e2e/test_js_package.py": 45,
    "ops/test_ops_ledger.py": 45,
    "contracts/test_slither.py": 43,  # with the release comparisons (issue 14)
    "contracts/test_stateful.py": 42,
    "settlement/test_forge_invariants.py": 35,
    "ops/test_ops_interbank_faults.py": 30,
    "ops/test_ops_faults.py": 30,
    "settlement/test_pvp_interbank.py": 31,
    "settlement/test_settlement_deploy.py": 25,
    "contracts/test_roles.py": 13,
    "settlement/test_interbank.py": 28,
    "contracts/test_upgrade_releases.py": 27,
    "settlement/test_interbank_stateful.py": 26,
    "settlement/test_pvp.py": 24,
    "library/test_deployments.py::test_two_local_nodes_keep_their_own_records": 22,
    "ops/test_ops_benchmark.py": 22,
    "ops/test_ops_flows.py": 22,
    "ops/test_ops_cli.py": 21,
    "settlement/test_htlc.py": 20,
    "settlement/test_escrow.py": 19,
    "e2e/test_typed_data_interop.py": 19,
    "contracts/test_allowlist.py": 12,
    "contracts/test_upgrade.py": 16,
    "ops/test_ops_status.py": 15,
    "ops/test_ops_interbank.py": 15,
    "ops/test_ops_lifecycle.py": 14,
    "contracts/test_legal.py": 9,
    "settlement/test_interbank_client.py": 12,
    "settlement/test_escrow_interbank.py": 12,
    "contracts/test_issuance.py": 7,
    "contracts/test_benchmark.py": 10,
    "contracts/test_storage_layout.py": 10,
    "contracts/test_erc20.py": 7,
    "contracts/test_admin.py": 6,
    "library/test_architecture.py": 8,
    "crosschain/test_messenger.py": 45,  # with its second Anvil; its state machine about 30 s
    "crosschain/test_xchain_cli.py": 22,  # its second Anvil, the xchain commands in-process
    "console/test_console_browser.py": 65,  # a devnet, two console servers, chromium
    "console/test_console_bench.py": 15,
}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath / "tests"
    order: dict[str, tuple[int, int]] = {}  # group -> (minus its cost, position of its first test)
    group_of: dict[int, str] = {}
    for index, item in enumerate(items):
        path = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else str(item.path)
        name = item.originalname if isinstance(item, pytest.Function) else item.name
        marks = set(MARKS.get((path, "*"), ())) | set(MARKS.get((path, name), ()))
        if NODE_FIXTURES & set(getattr(item, "fixturenames", ())):
            marks.add("two_node")
        for mark in sorted(marks):
            item.add_marker(getattr(pytest.mark, mark))
        group = f"{path}::{item.name}" if {(path, "*"), (path, name)} & OWN_GROUP else path
        item.add_marker(pytest.mark.xdist_group(group))
        order.setdefault(group, (-COST.get(group, 0), index))
        group_of[id(item)] = group
        module = getattr(item, "module", None)
        for table, entries in (("MARKS", MARKS), ("OWN_GROUP", OWN_GROUP)):
            stale = [n for (p, n) in entries if p == path and n != "*" and module is not None and not hasattr(module, n)]
            if stale:
                raise pytest.UsageError(f"tests/conftest.py {table} names tests that {path} does not have: {stale}")
    items.sort(key=lambda item: order[group_of[id(item)]])  # stable: a group's tests keep their order
