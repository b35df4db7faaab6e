"""Work ape and ape-foundry do on every call of a test that no test asserts, left out of the test
process (imported by tests/conftest.py, so in each pytest-xdist worker); found with cProfile on the
contract tests.

* ``revert_traces_quiet``: ape-foundry prints the call trace of every reverted transaction or call
  to standard output (``trace.show()``, which first enriches the whole call tree: ~0.3 s a revert,
  and the contract tests make hundreds of reverts on purpose). pytest captured that output and
  showed it only for a failed test. The error itself (custom error, its inputs, the transaction)
  is made as before: only the printing is left out. ``DEPTOKEN_TEST_REVERT_TRACES=1`` prints them
  again (to look at a failing test's trace).
"""

from __future__ import annotations

import contextvars
import os

import ape_ethereum.trace
import ape_foundry.provider

_QUIET = contextvars.ContextVar("deptoken_quiet_revert_trace", default=False)


def revert_traces_quiet() -> None:
    show = ape_ethereum.trace.Trace.show
    handle = ape_foundry.provider.FoundryProvider._handle_execution_reverted

    def show_unless_quiet(self, *args, **kwargs):
        if _QUIET.get():
            return None
        return show(self, *args, **kwargs)

    def handle_quietly(self, *args, **kwargs):
        token = _QUIET.set(True)
        try:
            return handle(self, *args, **kwargs)
        finally:
            _QUIET.reset(token)

    ape_ethereum.trace.Trace.show = show_unless_quiet
    ape_foundry.provider.FoundryProvider._handle_execution_reverted = handle_quietly


def apply() -> None:
    """Each of the above, in this process (tests/conftest.py calls it once)."""
    if os.environ.get("DEPTOKEN_TEST_REVERT_TRACES") != "1":
        revert_traces_quiet()
