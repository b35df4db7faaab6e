"""Work ape and ape-foundry do on every call of a test that no test asserts, left out of the test
process (imported by tests/conftest.py, so in each pytest-xdist worker); found with cProfile on the
contract tests. On test_allowlist.py, test_legal.py and test_roles.py (242 tests, one process, a
loaded 2-core machine) they take the run from 56 s to 34 s of CPU time and from 78 s to 50 s.

* ``revert_traces_quiet``: ape-foundry prints the call trace of every reverted transaction or call
  to standard output (``trace.show()``, which first enriches the whole call tree: ~0.3 s a revert,
  and the contract tests make hundreds of reverts on purpose). pytest captured that output and
  showed it only for a failed test. The error itself (custom error, its inputs, the transaction)
  is made as before: only the printing is left out. ``DEPTOKEN_TEST_REVERT_TRACES=1`` prints them
  again (to look at a failing test's trace).
* ``node_records_fast``: when a node ape started stops, ape drops its record from
  ``<ape data folder>/processes/nodes.json`` by comparing the stopped provider with every record,
  computing the provider's network anew for each (~45 ms): with the hundreds of records this
  machine's runs left (ape-foundry forgets its host before that comparison, so its own record never
  matches) each worker's Anvil took 15-20 s to stop at the end of the run. The comparison is made
  once per stop, with the same result, and the stopped Anvil's own record (by its process id) goes too.
* ``custom_networks_cached``: ape builds the custom networks of ape-config.yaml (the Hardhat one), a
  new pydantic class each, every time it looks a network up, twice per contract call (the default
  transaction type). They are remembered per ecosystem and custom network list, as ape remembers
  its plugins' networks.
* ``provider_settings_cached``: a provider's ``settings`` (its ape-config section merged with its
  ``provider_settings``) is validated again on every JSON-RPC request ape makes (pydantic-settings
  reads the environment each time). It is remembered per provider, config object and
  provider_settings: the same inputs give the same settings.
"""

from __future__ import annotations

import contextvars
import os

import ape.api.networks
import ape.api.providers
import ape.managers.networks
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


def node_records_fast() -> None:
    process_map = ape.managers.networks.NodeProcessMap
    disconnect = ape_foundry.provider.FoundryProvider.disconnect

    def remove_provider(self, provider) -> None:
        """``NodeProcessMap.remove_provider`` with ``NodeProcessData.matches_provider``'s comparison
        made once."""
        choice = f"{provider.network.choice}:{provider.name}"
        where = tuple(getattr(provider, attr, None) for attr in ("ipc_path", "http_uri", "ws_uri"))
        stale = {pid for pid, data in self.nodes.items()
                 if data.network_choice == choice and (data.ipc_path, data.http_uri, data.ws_uri) == where}
        self.nodes = {pid: node for pid, node in self.nodes.items() if pid not in stale}
        self.model_dump_file()

    def disconnect_and_forget(self) -> None:
        pid = self.process.pid if self.process is not None else None
        disconnect(self)
        if pid is not None and pid in self.network_manager.running_nodes.nodes:
            self.network_manager.running_nodes.remove_processes(pid)

    process_map.remove_provider = remove_provider
    ape_foundry.provider.FoundryProvider.disconnect = disconnect_and_forget


def custom_networks_cached() -> None:
    custom_networks = ape.api.networks.EcosystemAPI._custom_networks.fget
    cache: dict[tuple, tuple] = {}

    def cached_custom_networks(self):
        key = (id(self), repr(self.network_manager.custom_networks))
        hit = cache.get(key)
        if hit is None or hit[0] is not self:
            hit = cache[key] = (self, custom_networks(self))
        return hit[1]

    ape.api.networks.EcosystemAPI._custom_networks = property(cached_custom_networks)


def provider_settings_cached() -> None:
    settings = ape.api.providers.ProviderAPI.settings.fget
    cache: dict[tuple, tuple] = {}

    def cached_settings(self):
        config = self.config
        key = (id(self), id(config), repr(self.provider_settings))
        hit = cache.get(key)
        if hit is None or hit[0] is not self or hit[1] is not config:  # the objects themselves: ids are reused
            hit = cache[key] = (self, config, settings(self))
        return hit[2]

    ape.api.providers.ProviderAPI.settings = property(cached_settings, doc=ape.api.providers.ProviderAPI.settings.__doc__)


def apply() -> None:
    """Each of the above, in this process (tests/conftest.py calls it once)."""
    if os.environ.get("DEPTOKEN_TEST_REVERT_TRACES") != "1":
        revert_traces_quiet()
    node_records_fast()
    custom_networks_cached()
    provider_settings_cached()
