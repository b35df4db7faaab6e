"""The node the library talks to: a web3 connection, with the network's name and chain id.

Two ways in, one library above them:

* the ``deptoken`` command connects web3 alone to its ``--network`` (:func:`connect`): no ape, so a
  chain command starts in about a second;
* scripts and tests run under ape, and the library uses ape's own connection.

:func:`current` returns whichever is open (the command's first). A network is chosen as ape names
one, ``ECOSYSTEM:NETWORK:PROVIDER``: the provider a node's URI (``ethereum:local:http://127.0.0.1:8545``)
or ``node``, the URI that ``ape-config.yaml`` gives that network under ``node:`` (``ethereum:local:node``).
The network's name (``local``, ``hardhat``, ``sepolia``) is what deployment records are filed under.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from .errors import DepositTokenError, InvalidInput, NodeUnreachable, first_line

REQUEST_TIMEOUT = 60  # seconds for one JSON-RPC request


class Node:
    """A connected node (see the module docstring): JSON-RPC requests (:meth:`request`, :meth:`rpc`,
    :meth:`batch`) and, for code that wants web3's API, ``web3`` (made on first use: importing web3
    takes half a second a command need not spend)."""

    def __init__(self, network: str, uri: str, *, ape_provider: Any = None) -> None:
        self.network, self.uri = network, uri
        self._ape = ape_provider  # under ape: its provider's web3, whatever it is now
        self._web3: Any = None  # else made from ``uri`` when asked for
        self._local = threading.local()  # each thread's own kept-alive HTTP connection (the console serves from threads)
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"<Node {self.network} {self.uri}>"

    @property
    def ape_provider(self) -> Any:
        """ape's provider this node is (under ape), else None."""
        return self._ape

    @property
    def web3(self) -> Any:
        if self._ape is not None:
            return self._ape.web3
        if self._web3 is None:
            from web3 import HTTPProvider, IPCProvider, Web3

            http = self.uri.startswith(("http://", "https://"))
            provider = HTTPProvider(self.uri, request_kwargs={"timeout": REQUEST_TIMEOUT}) if http else IPCProvider(self.uri, timeout=REQUEST_TIMEOUT)
            self._web3 = Web3(provider)
        return self._web3

    def request(self, payload: Any) -> Any:
        """One JSON-RPC request (a call, or a list of calls) and the node's reply; an absent node is ``NodeUnreachable``."""
        try:
            if self._ape is not None or self._web3 is not None or not self.uri.startswith(("http://", "https://")):
                provider = self.web3.provider
                if isinstance(payload, list):
                    return provider.make_batch_request([(p["method"], p["params"]) for p in payload])
                return provider.make_request(payload["method"], payload["params"])
            return self._post(payload)
        except DepositTokenError:
            raise
        except Exception as exc:  # noqa: BLE001 - the transports raise various connection errors
            raise NodeUnreachable(f"cannot reach the node: {first_line(exc)}") from None

    def _post(self, payload: Any) -> Any:
        """``payload`` posted to the node over the thread's kept-alive HTTP(S) connection (made again once
        if it dropped)."""
        import http.client

        url = urlsplit(self.uri)
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **({"Authorization": _basic(url)} if url.username else {})}
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            if connection is None:
                kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
                connection = self._local.connection = kind(url.hostname, url.port, timeout=REQUEST_TIMEOUT)
            try:
                connection.request("POST", url.path or "/", body, headers)
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
                continue
            if response.status != 200:
                raise DepositTokenError(f"the node answered HTTP {response.status}: {data[:200].decode(errors='replace')}")
            return json.loads(data)
        raise AssertionError("unreachable")

    def rpc(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call's result; the node's error as ``DepositTokenError``."""
        reply = self.request({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        if reply.get("error"):
            raise DepositTokenError(f"the node refused {method}: {_message(reply['error'])}")
        return reply.get("result")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[tuple[Any, str | None]]:
        """JSON-RPC ``calls`` in one request (one by one where the node cannot batch): each call's
        result and error message (None when it succeeded), in order."""
        if not calls:
            return []
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in enumerate(calls)]
        try:
            replies = self.request(payload)
        except NotImplementedError:
            replies = None
        if not isinstance(replies, list) or len(replies) != len(calls):  # no batches here: one by one
            replies = [self.request(p) for p in payload]
        else:
            replies = sorted(replies, key=lambda r: int(r.get("id") or 0))
        return [(r.get("result"), _message(r["error"]) if r.get("error") else None) for r in replies]

    def chain_id(self) -> int:
        """The chain id the node reports."""
        return int(self.rpc("eth_chainId"), 16)

    @functools.cached_property
    def signing_chain_id(self) -> int:
        """The chain id transactions are signed for: the node's, asked once per connection."""
        return self.chain_id()

    def block_number(self) -> int:
        """The number of the node's latest block."""
        return int(self.rpc("eth_blockNumber"), 16)

    def block(self, number: int | str) -> dict[str, Any]:
        """Block ``number`` (or ``latest``, ``pending``) as the node gives it (hex fields); an error if there is none."""
        block = self.rpc("eth_getBlockByNumber", hex(number) if isinstance(number, int) else number, False)
        if block is None:
            raise DepositTokenError(f"the node has no block {number}")
        return block

    def pending_timestamp(self) -> int:
        """The timestamp the next block will carry: what a contract's time checks will see."""
        return int(self.block("pending")["timestamp"], 16)

    def code(self, address: str) -> bytes:
        """The code at ``address`` (empty: no contract)."""
        return bytes.fromhex(self.rpc("eth_getCode", address, "latest")[2:])


_connected: Node | None = None
_under_ape: Node | None = None  # the Node of ape's active provider, made once per provider


def connect(choice: str) -> Node:
    """Connects web3 to the network ``choice`` names (see the module docstring) and checks the node
    answers; what :func:`current` returns from now on."""
    global _connected
    network, uri = resolve_choice(choice)
    if not uri.startswith(("http://", "https://")) and not uri.endswith(".ipc"):
        raise InvalidInput(f"network {choice!r}: the command line reaches a node over HTTP(S) or IPC, not {uri!r}")
    node = Node(network, uri)
    node.rpc("eth_chainId")  # an absent node is refused here, not at the first real request
    _connected = node
    return node


def connected() -> Node | None:
    """The command's connection (None: it made none)."""
    return _connected


def disconnect() -> None:
    """Forgets the command's connection (the next :func:`current` is ape's, if any)."""
    global _connected
    _connected = None


@contextlib.contextmanager
def using(chain: Node) -> Iterator[Node]:
    """``chain`` as :func:`current` inside the block (a command that talks to two chains), then the one before."""
    global _connected
    before = _connected
    _connected = chain
    try:
        yield chain
    finally:
        _connected = before


def current() -> Node:
    """The command's connection if it made one, else ape's (scripts and tests)."""
    if _connected is not None:
        return _connected
    if "ape" in sys.modules:  # only code that runs under ape has imported it
        global _under_ape
        from ape import networks

        provider = networks.active_provider
        if _under_ape is not None and provider is _under_ape.ape_provider:
            return _under_ape
        if provider is not None and provider.is_connected:
            _under_ape = Node(provider.network.name, str(getattr(provider, "uri", "") or ""), ape_provider=provider)
            return _under_ape
    raise DepositTokenError("not connected to a node (pass --network)")


def resolve_choice(choice: str) -> tuple[str, str]:
    """``(network name, node URI)`` of an ape-style network choice (see the module docstring)."""
    text = choice.strip()
    ecosystem, _, rest = text.partition(":")
    network, _, provider = rest.partition(":")
    if not ecosystem or not network or not provider:
        raise InvalidInput(f"network {text!r}: expected ECOSYSTEM:NETWORK:URI (e.g. ethereum:local:http://127.0.0.1:8545) "
                           "or ECOSYSTEM:NETWORK:node (the URI ape-config.yaml gives it)")
    if "://" in provider or provider.endswith(".ipc"):
        return network, provider
    if provider != "node":
        raise InvalidInput(f"network {text!r}: the command line connects to a running node: give its URI "
                           f"({ecosystem}:{network}:http://HOST:PORT) or `node` for ape-config.yaml's URI, not {provider!r}")
    uri = configured_uri(ecosystem, network)
    if uri is None:
        raise InvalidInput(f"network {text!r}: ape-config.yaml gives no node.{ecosystem}.{network}.uri")
    return network, uri


def configured_uri(ecosystem: str, network: str) -> str | None:
    """The URI ``ape-config.yaml`` gives ``ecosystem:network`` under ``node:`` (None: none)."""
    import yaml

    from .project import project_root

    config = yaml.safe_load((project_root() / "ape-config.yaml").read_text()) or {}
    entry = ((config.get("node") or {}).get(ecosystem) or {}).get(network) or {}
    uri = entry.get("uri") if isinstance(entry, dict) else None
    return str(uri) if uri else None


def _message(error: Any) -> str:
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)


def _basic(url: Any) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{url.username}:{url.password or ''}".encode()).decode()
