"""Shared helpers of the contract tests: strict revert and event assertions, raw deployments.

``ape.reverts`` is lenient in ways that could hide a wrong revert (a revert the ABI cannot decode
passes any expected custom error; unknown input names are ignored; inputs not given are not
checked), so the tests use :func:`reverts`, which requires the exact custom error with *all* its
arguments, and :func:`events`, which returns every log of a receipt in order with all arguments.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any

import pytest
from ape.exceptions import ContractLogicError, CustomError
from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes

# Re-exported: the contract tests import these from here (the values live in constants.py).
from constants import (  # noqa: F401
    DAY,
    ERC7943_INTERFACE_ID,
    INITIAL,
    MAX_UINT128,
    MAX_UINT256,
    MINTER_ALLOWANCE,
    USE_CURRENCY_DECIMALS,
    YEAR,
    ZERO_ADDRESS,
    ZERO_REF,
)

_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


class _Any:
    """Matches any value in :func:`reverts` / :func:`events` expectations."""

    def __eq__(self, other):
        return True

    def __repr__(self):
        return "ANY"


ANY = _Any()


def ref(label: str | int) -> bytes:
    """A distinct non-zero bytes32 reference for `label`."""
    return keccak(text=str(label))


def role_id(name: str) -> bytes:
    """The bytes32 id of an AccessControl role (DEFAULT_ADMIN_ROLE is zero)."""
    return ZERO_REF if name == "DEFAULT_ADMIN_ROLE" else keccak(text=name)


def role_holders(token: Any, name: str, candidates: Any) -> set[str]:
    """The addresses among ``candidates`` (accounts or addresses) for which ``token.hasRole(role_id(name), a)``
    is true, asked of the node in one JSON-RPC batch of ``eth_call``s (one ape call per account made
    ``test_roles.py`` seconds long)."""
    import json
    import urllib.request

    from ape import chain

    addresses = [norm(a) for a in candidates]
    selector = keccak(text="hasRole(bytes32,address)")[:4]
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_call",
              "params": [{"to": str(token.address), "data": "0x" + (selector + role_id(name) + HexBytes(a).rjust(32, b"\0")).hex()}, "latest"]}
             for i, a in enumerate(addresses)]
    request = urllib.request.Request(chain.provider.http_uri, json.dumps(batch).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = {reply["id"]: reply for reply in json.loads(response.read())}
    assert len(replies) == len(addresses) and all("result" in r for r in replies.values()), replies
    return {a for i, a in enumerate(addresses) if int(replies[i]["result"], 16) == 1}


def norm(value: Any) -> Any:
    """Normalises accounts, contracts, addresses and byte strings for comparison."""
    if isinstance(value, _Any):
        return value
    if hasattr(value, "address") and not isinstance(value, (str, bytes)):
        return to_checksum_address(value.address)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str) and _ADDRESS_RE.match(value):
        return to_checksum_address(value)
    if isinstance(value, (list, tuple)):
        return tuple(norm(v) for v in value)
    return value


def _decode_raw(exc: ContractLogicError, contract_type) -> tuple[str, dict] | None:
    """Decodes a revert that ape could not attribute (e.g. inside a proxy's constructor)."""
    return decode_error_data(exc.revert_message, contract_type)


def decode_error_data(data: Any, contract_type) -> tuple[str, dict] | None:
    """``(name, inputs)`` of the custom error in revert ``data`` per ``contract_type``'s ABI."""
    if isinstance(data, (bytes, bytearray)):
        data = HexBytes(data).to_0x_hex()
    if not isinstance(data, str):
        return None
    # ape gives either the raw revert data or "custom error 0x<selector>: <hex arguments>"
    if m := re.fullmatch(r"custom error (0x[0-9a-fA-F]{8})(?::\s*([0-9a-fA-F]*))?", data.strip()):
        data = m.group(1) + (m.group(2) or "")
    if not re.fullmatch(r"0x[0-9a-fA-F]{8,}", data):
        return None
    raw = HexBytes(data)
    for abi in contract_type.abi:
        if abi.type != "error":
            continue
        if keccak(text=abi.selector)[:4] == raw[:4]:
            types = [i.canonical_type for i in abi.inputs]
            values = abi_decode(types, raw[4:])
            return abi.name, {i.name: v for i, v in zip(abi.inputs, values)}
    return None


@contextmanager
def reverts(error: Any, /, decode_with: Any = None, **inputs):
    """Expects the block to revert with the custom error ``error`` (a class such as
    ``token.ERC7943CannotSend`` or a name) and exactly the arguments ``inputs`` (all of them;
    pass ``ANY`` to skip one). ``decode_with``: a contract container whose ABI decodes errors that
    ape could not decode itself (reverts in a constructor)."""
    name = error if isinstance(error, str) else error.__name__
    with pytest.raises(ContractLogicError) as info:
        yield info
    exc = info.value
    if isinstance(exc, CustomError):
        actual_name, actual_inputs = type(exc).__name__, dict(exc.inputs)
    else:
        decoded = _decode_raw(exc, decode_with.contract_type) if decode_with is not None else None
        assert decoded is not None, f"expected {name}, got an undecoded revert: {exc!r}"
        actual_name, actual_inputs = decoded
    assert actual_name == name, f"expected {name}, got {actual_name}({actual_inputs})"
    expected = {k: norm(v) for k, v in inputs.items()}
    actual = {k: norm(v) for k, v in actual_inputs.items()}
    assert set(expected) == set(actual), f"{name}: give all inputs {sorted(actual)}, got {sorted(expected)}"
    assert actual == expected, f"{name}: expected {expected}, got {actual}"


def events(receipt, contract: Any = None) -> list[tuple[str, dict]]:
    """All logs of ``receipt`` in order as ``(name, {argument: value})``, normalised; only those
    of ``contract`` if given (asserting every log was decoded)."""
    out = []
    logs = receipt.events
    assert len(logs) == len(receipt.logs), "some logs could not be decoded"
    for log in logs:
        if contract is not None and norm(log.contract_address) != norm(contract):
            continue
        out.append((log.event_name, {k: norm(v) for k, v in log.event_arguments.items()}))
    return out


def ev(event: str, /, **args) -> tuple[str, dict]:
    """An expected event for comparison with :func:`events`."""
    return event, {k: norm(v) for k, v in args.items()}


def init_params(admin, /, **overrides) -> tuple:
    """A ``DepositToken.InitParams`` tuple: USD defaults, every role held by ``admin``."""
    p = {
        "name": "Test Deposit",
        "symbol": "TDEP",
        "currency": "USD",
        "decimals": USE_CURRENCY_DECIMALS,
        "issuerName": "Test Bank",
        "issuerLei": "5493001KJTIIGC8Y1R12",
        "issuerBic": "EXBKUS33",
        "adminTransferDelay": DAY,
        "admin": admin.address,
        "minterAdmin": admin.address,
        "compliance": admin.address,
        "legal": admin.address,
        "pauser": admin.address,
        "upgrader": admin.address,
    }
    unknown = set(overrides) - set(p)
    assert not unknown, unknown
    p.update({k: norm(v) if k in ("admin", "minterAdmin", "compliance", "legal", "pauser", "upgrader") else v
              for k, v in overrides.items()})
    return tuple(p.values())


def deploy_raw(deployer, /, **overrides):
    """Deploys implementation + proxy directly (bypassing the library's config validation);
    returns the token at the proxy address."""
    from ape import project

    implementation = deployer.deploy(project.DepositToken)
    data = implementation.initialize.encode_input(init_params(deployer, **overrides))
    proxy = deployer.deploy(project.DepositTokenProxy, implementation.address, data)
    return project.DepositToken.at(proxy.address)


def set_time(chain, timestamp: int) -> None:
    """Mines a block at ``timestamp``; views then see it, and the next transaction is not earlier."""
    chain.pending_timestamp = timestamp
    chain.mine()


def next_tx_at(chain, timestamp: int) -> None:
    """The next transaction is mined at exactly ``timestamp``."""
    chain.pending_timestamp = timestamp


def eth_call_revert_data(contract, fn: str, args: tuple, sender) -> str:
    """The revert data (hex) of calling ``contract.fn(*args)`` from ``sender`` with a plain
    ``eth_call``; fails if the call does not revert."""
    from ape import chain
    from web3.exceptions import ContractCustomError, ContractLogicError as Web3ContractLogicError

    data = getattr(contract, fn).encode_input(*args)
    tx = {"from": norm(sender), "to": norm(contract), "data": HexBytes(data).to_0x_hex()}
    try:
        chain.provider.web3.eth.call(tx)
    except (ContractCustomError, Web3ContractLogicError) as err:
        return err.data if err.data is not None else "0x"
    raise AssertionError(f"{fn} by {norm(sender)} did not revert")


def eth_call_reverts(contract, fn: str, args: tuple, sender, error: str, /, **inputs) -> None:
    """Like :func:`reverts` around a transaction, but simulated with a plain ``eth_call`` (no
    transaction, no trace: much faster), for large access-control matrices."""

    revert_data = eth_call_revert_data(contract, fn, args, sender)
    decoded = decode_error_data(revert_data, contract.contract_type)
    assert decoded is not None, f"{fn}: undecodable revert {revert_data!r}"
    actual_name, actual_inputs = decoded
    assert actual_name == error, f"{fn}: expected {error}, got {actual_name}({actual_inputs})"
    expected = {k: norm(v) for k, v in inputs.items()}
    actual = {k: norm(v) for k, v in actual_inputs.items()}
    assert actual == expected, f"{fn}: expected {error}{expected}, got {actual}"


def one_line_error(call, *args, **kwargs) -> str:
    """Runs ``call``; returns the message of the ``DepositTokenError`` it raises, checked to be one line."""
    from deptoken.errors import DepositTokenError

    with pytest.raises(DepositTokenError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message and message.strip() == message, message
    return message


def deptoken_cli(chain, group: str):
    """``run(*args, code=0, as_json=True)``: ``deptoken [--json] <group> *args`` in-process (click's
    runner) against ape's Anvil; returns the parsed JSON (or the text) on success, the one-line error
    (``error: ...``, from the JSON error object of a refusal with ``--json``; click's usage errors,
    exit 2, as text) otherwise, after checking the exit
    status is ``code``."""
    import json

    from click.testing import CliRunner

    from deptoken.cli.main import main

    runner = CliRunner(mix_stderr=False)
    network = ["--network", f"ethereum:local:{chain.provider.uri}"]

    def run(*args: str, code: int = 0, as_json: bool = True) -> Any:
        # The CLI connects its own provider to ape's Anvil; ape drops a duplicate connection with a
        # disconnect that empties ape's snapshot list of the chain: keep it, or test isolation is lost.
        snapshots = {k: list(v) for k, v in chain._snapshots.items()}
        try:
            result = runner.invoke(main, [*network, *(["--json"] if as_json else []), group, *args], catch_exceptions=False)
        finally:
            chain._snapshots.update(snapshots)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        if code:
            if as_json and code == 1:  # with --json a refusal is the object {"error": ...} on stderr, stdout empty
                assert result.stdout == "", result.stdout
                return "error: " + json.loads(result.stderr)["error"]
            return result.stderr.strip()
        return json.loads(result.stdout) if as_json else result.stdout.strip()

    return run
