"""The root of the test suite: fixtures come from ``tests/fixtures/`` as plugins, markers from the
table below.

Layout (by area; a test module's basename is unique across folders, as pytest's default import mode
needs without ``__init__.py`` files):

* ``contracts/``: the token's behaviour on Anvil, its roles, upgrades, state machine, ABI, gas, slither
* ``library/``: the Python library's input validation and the ape scripts
* ``ops/``: the issuer tooling (ledger, workflows, CLI, crash recovery, ISO 20022)
* ``settlement/``: escrow, PvP, hashed time-locks and the cross-border deployment
* ``e2e/``: the README's blocks, the JS package and cross-library signing, on devnets of their own

``constants.py`` holds the values tests share, ``helpers.py`` the contract tests' assertions,
``ops_support.py`` the ops tests' helpers (``Devnet``).

Markers (registered in pyproject.toml): ``slow``, ``two_node`` (starts a node besides ape's Anvil) and
``postgres`` (the PostgreSQL variant of a ledger test, skipped with its reason when
``DEPTOKEN_TEST_POSTGRES_URL`` is not set). A new test marks itself (``@pytest.mark.slow``); the
tests that were here before the markers are marked from ``MARKS`` so that their files stay as they were.
``make test-fast`` deselects ``slow`` and ``two_node``.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["fixtures.accounts", "fixtures.tokens", "fixtures.ops"]

# Fixtures that start a node of their own (a standalone Anvil): a test using one is ``two_node``.
NODE_FIXTURES = {"devnet", "second_chain", "prepared"}

# (path under tests/, test name or "*" for the whole module) -> markers. Slow: more than ~10 s on a
# 2-core machine (`--durations`), or the bulk of a module's time.
MARKS: dict[tuple[str, str], tuple[str, ...]] = {
    # whole modules
    ("contracts/test_stateful.py", "*"): ("slow",),
    ("contracts/test_slither.py", "*"): ("slow",),
    ("settlement/test_escrow_stateful.py", "*"): ("slow",),
    ("settlement/test_settlement_deploy.py", "*"): ("slow", "two_node"),
    ("ops/test_ops_faults.py", "*"): ("slow", "two_node"),
    ("ops/test_ops_cli.py", "*"): ("slow", "two_node"),
    ("e2e/test_readme_blocks.py", "*"): ("slow", "two_node"),
    ("e2e/test_js_package.py", "test_js_package_builds_and_its_node_tests_pass"): ("slow", "two_node"),
    # single tests
    ("library/test_scripts.py", "test_scripts_on_a_hardhat_node"): ("slow", "two_node"),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath / "tests"
    for item in items:
        path = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        name = item.originalname if isinstance(item, pytest.Function) else item.name
        marks = set(MARKS.get((path, "*"), ())) | set(MARKS.get((path, name), ()))
        if NODE_FIXTURES & set(getattr(item, "fixturenames", ())):
            marks.add("two_node")
        for mark in sorted(marks):
            item.add_marker(getattr(pytest.mark, mark))
