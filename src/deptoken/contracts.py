"""The deployed contracts as the library calls them: an address and an ABI on the connected node
(``deptoken.node``), called as ape calls a contract::

    token = contract_at("DepositToken", address)       # abi/DepositToken.json: no compiled project needed
    token.balanceOf(alice)                             # a view: eth_call, the value decoded
    receipt = token.transfer(bob, 100, sender=alice)   # a transaction: estimated, signed, sent, mined
    receipt.txn_hash, receipt.block_number, receipt.decode_logs(token.Transfer)
    token.logs(["Transfer"], from_block=0)             # events, decoded, in chain order

Arguments are converted as ape converts them (anything with an ``address``, addresses in any case,
0x-hex for bytes, structs as tuples or mappings); results come back as ape gives them (checksummed
addresses, ``HexBytes``, structs and several outputs as named tuples). A reverted call or
transaction is ``TransactionReverted`` naming the contract's error and its arguments. The senders
are ``deptoken.accounts``' signers or ape accounts. Ape's own contract instances convert with
:func:`as_contract`.

The committed ABIs (``abi/``, written by ``python -m deptoken.abi``) are found in the project
directory (``deptoken.project``).
"""

from __future__ import annotations

import json
import time
from collections import namedtuple
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from .errors import DepositTokenError, InvalidInput, TransactionReverted, first_line
from .node import Node, current
from .project import project_root

ABI_SUBDIR = Path("abi")  # in the project directory
RECEIPT_TIMEOUT = 120  # seconds a sent transaction may take to be mined
GAS_MARGIN = (6, 5)  # the gas limit given: the node's estimate times 6/5


def abi_dir() -> Path:
    """The project's ``abi/`` folder."""
    return project_root() / ABI_SUBDIR


def abi_of(contract_type: Any) -> list[dict[str, Any]]:
    """An ape contract type's ABI as plain JSON data."""
    return [entry.model_dump(mode="json", by_alias=True) for entry in contract_type.abi]


@cache
def _exported_abi(name: str, folder: Path) -> list[dict[str, Any]]:
    return json.loads((folder / f"{name}.json").read_text())


def contract_at(name: str, address: str) -> Contract:
    """The exported contract ``name`` at ``address``, from ``abi/<name>.json``."""
    return Contract(address, _exported_abi(name, abi_dir()))


def as_contract(contract: Any) -> Contract:
    """``contract`` as a library ``Contract``: as it is, or an ape contract instance converted (same address and ABI)."""
    if isinstance(contract, Contract):
        return contract
    return Contract(str(contract.address), abi_of(contract.contract_type))


# ---------------------------------------------------------------------- values in and out


def _to_address(value: Any) -> str:
    from eth_utils import is_address, to_checksum_address

    value = getattr(value, "address", value)
    if isinstance(value, bytes | bytearray) and len(value) == 20:
        return to_checksum_address(value)
    if not isinstance(value, str) or not is_address(value):
        raise InvalidInput(f"not an address: {value!r}")
    return to_checksum_address(value)


def _array(kind: str) -> tuple[str, int | None] | None:
    """``(element type, length or None)`` of an array type, None if ``kind`` is not one."""
    if not kind.endswith("]"):
        return None
    inner, _, size = kind[:-1].rpartition("[")
    return inner, int(size) if size else None


def encode_value(entry: dict[str, Any], value: Any) -> Any:
    """``value`` as eth-abi takes it for the ABI ``entry`` (``type``, ``components``), converted as ape converts."""
    kind = entry["type"]
    if (array := _array(kind)) is not None:
        element = {**entry, "type": array[0]}
        return [encode_value(element, v) for v in value]
    if kind == "tuple":
        components = entry["components"]
        if isinstance(value, dict):
            value = [value[c["name"]] for c in components]
        elif not isinstance(value, list | tuple):
            value = [getattr(value, c["name"]) for c in components]
        return tuple(encode_value(c, v) for c, v in zip(components, value, strict=True))
    if kind == "address":
        return _to_address(value)
    if kind.startswith("bytes"):
        if isinstance(value, str):
            text = value[2:] if value.lower().startswith("0x") else value
            return bytes.fromhex(text)
        return bytes(value)
    if kind.startswith(("uint", "int")):
        return int(value)
    return value


def type_string(entry: dict[str, Any]) -> str:
    """The canonical type of an ABI entry (tuples spelled out), as selectors and eth-abi take it."""
    kind = entry["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(type_string(c) for c in entry["components"]) + ")" + kind[len("tuple"):]
    return kind


@cache
def _selector(signature: str) -> bytes:
    from eth_utils import keccak

    return keccak(text=signature)[:4]


@cache
def _struct(name: str, fields: tuple[str, ...]) -> type:
    return namedtuple(name or "Struct", fields, rename=True)  # type: ignore[misc]


def decode_value(entry: dict[str, Any], value: Any) -> Any:
    """An eth-abi value of the ABI ``entry`` as ape returns it (checksummed addresses, ``HexBytes``, named tuples)."""
    from eth_utils import to_checksum_address
    from hexbytes import HexBytes

    kind = entry["type"]
    if (array := _array(kind)) is not None:
        element = {**entry, "type": array[0]}
        return [decode_value(element, v) for v in value]
    if kind == "tuple":
        components = entry["components"]
        names = tuple(c.get("name") or f"field{i}" for i, c in enumerate(components))
        struct = _struct(str(entry.get("internalType", "")).rpartition(".")[2].removeprefix("struct ") or "Struct", names)
        return struct(*(decode_value(c, v) for c, v in zip(components, value, strict=True)))
    if kind == "address":
        return to_checksum_address(value)
    if kind.startswith("bytes"):
        return HexBytes(value)
    return value


def decode_outputs(outputs: Sequence[dict[str, Any]], data: bytes) -> Any:
    """A function's return data: the one value, a named tuple of several, None for none."""
    from eth_abi import decode

    values = decode([type_string(o) for o in outputs], data)
    shaped = [decode_value(o, v) for o, v in zip(outputs, values, strict=True)]
    if not outputs:
        return None
    if len(outputs) == 1:
        return shaped[0]
    return _struct("Outputs", tuple(o.get("name") or f"output{i}" for i, o in enumerate(outputs)))(*shaped)


# ---------------------------------------------------------------------- receipts and events


@dataclass(frozen=True)
class EventLog:
    """One decoded event: where it is and its arguments (also as attributes: ``log.amount``)."""

    event_name: str
    event_arguments: dict[str, Any]
    contract_address: str
    block_number: int
    log_index: int
    transaction_hash: str

    def __getattr__(self, name: str) -> Any:
        arguments = self.__dict__.get("event_arguments", {})
        if name in arguments:
            return arguments[name]
        raise AttributeError(name)


@dataclass(frozen=True)
class Receipt:
    """A mined transaction: its hash, block, gas and logs (raw, as the node gave them)."""

    txn_hash: str
    block_number: int
    gas_used: int
    status: int
    logs: list[dict[str, Any]] = field(repr=False)

    @property
    def events(self) -> list[EventLog]:
        """The logs of the contracts this process knows (every ``Contract`` made), decoded, in order."""
        decoded = (_known[address].decode_log(raw) for raw in self.logs if (address := _hex(raw["address"])) in _known)
        return [log for log in decoded if log is not None]

    def decode_logs(self, event: Event) -> list[EventLog]:
        """The receipt's logs of ``event`` (``contract.EventName``), decoded."""
        return [log for log in (event.contract.decode_log(raw) for raw in self.logs) if log is not None and log.event_name == event.name]


def _hex(value: Any) -> str:
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


# ---------------------------------------------------------------------- contracts


class Contract:
    """A contract at ``address`` with ``abi`` on the connected node (see the module docstring)."""

    def __init__(self, address: str, abi: list[dict[str, Any]]) -> None:
        self.address = _to_address(address)
        self.abi = abi
        _known[self.address.lower()] = self

    def __repr__(self) -> str:
        return f"<Contract {self.address}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Contract) and other.address == self.address

    def __hash__(self) -> int:
        return hash(self.address)

    @property
    def node(self) -> Node:
        return current()

    @cached_property
    def _functions(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for entry in self.abi:
            if entry.get("type") == "function":
                found.setdefault(entry["name"], []).append(entry)
        return found

    @cached_property
    def _events(self) -> dict[str, dict[str, Any]]:
        return {e["name"]: e for e in self.abi if e.get("type") == "event"}

    @cached_property
    def _topics(self) -> dict[str, dict[str, Any]]:
        from eth_utils import keccak

        return {"0x" + keccak(text=f"{e['name']}({','.join(type_string(i) for i in e['inputs'])})").hex(): e
                for e in self._events.values() if not e.get("anonymous")}

    @cached_property
    def errors(self) -> dict[bytes, dict[str, Any]]:
        """The contract's custom errors by selector."""
        from eth_utils import keccak

        return {keccak(text=f"{e['name']}({','.join(type_string(i) for i in e['inputs'])})")[:4]: e
                for e in self.abi if e.get("type") == "error"}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._functions:
            return Method(self, name, self._functions[name])
        if name in self._events:
            return Event(self, name)
        raise AttributeError(f"{self!r} has no function or event {name!r}")

    # -------------------------------------------------------------- events

    def decode_log(self, raw: dict[str, Any]) -> EventLog | None:
        """A raw log (JSON-RPC or web3) of this contract decoded, None if it is another's or unknown."""
        from eth_abi import decode

        topics = [_hex(t) for t in raw.get("topics") or []]
        if _hex(raw["address"]) != self.address.lower() or not topics or topics[0] not in self._topics:
            return None
        abi = self._topics[topics[0]]
        indexed = [i for i in abi["inputs"] if i.get("indexed")]
        plain = [i for i in abi["inputs"] if not i.get("indexed")]
        arguments: dict[str, Any] = {}
        for entry, topic in zip(indexed, topics[1:], strict=True):
            if entry["type"] in ("string", "bytes") or entry["type"].startswith("tuple") or entry["type"].endswith("]"):
                arguments[entry["name"]] = decode_value({"type": "bytes32"}, bytes.fromhex(topic[2:]))  # only its hash is logged
            else:
                (value,) = decode([type_string(entry)], bytes.fromhex(topic[2:]))
                arguments[entry["name"]] = decode_value(entry, value)
        data = bytes.fromhex(_hex(raw.get("data") or "0x")[2:])
        for entry, value in zip(plain, decode([type_string(i) for i in plain], data), strict=True):
            arguments[entry["name"]] = decode_value(entry, value)
        ordered = {i["name"]: arguments[i["name"]] for i in abi["inputs"]}

        def number(key: str) -> int:
            value = raw[key]
            return int(value, 16) if isinstance(value, str) else int(value)

        return EventLog(abi["name"], ordered, self.address, number("blockNumber"), number("logIndex"), _hex(raw["transactionHash"]))

    def logs(self, names: Iterable[str] | None = None, *, from_block: int = 0, to_block: int | str = "latest",
             topics: dict[str, Any] | None = None) -> list[EventLog]:
        """The contract's events (all, or those ``names``), decoded, in chain order; ``topics`` filters
        on indexed arguments (``{"id": 7}``: events whose indexed ``id`` is 7; those without it are left out)."""
        from eth_abi import encode

        wanted = list(self._events) if names is None else list(names)
        unknown = set(wanted) - set(self._events)
        if unknown:
            raise InvalidInput(f"unknown event(s) {sorted(unknown)}")
        selected = {t: e for t, e in self._topics.items() if e["name"] in wanted}
        if not selected:
            return []
        topic_filter: list[Any] = [list(selected)]
        if topics:
            positions = {}
            for abi in selected.values():
                for position, entry in enumerate(i for i in abi["inputs"] if i.get("indexed")):
                    if entry["name"] in topics:
                        positions[entry["name"]] = (position, entry)
            for name, value in topics.items():
                if name not in positions:
                    raise InvalidInput(f"no event {sorted(wanted)} has an indexed {name!r}")
                position, entry = positions[name]
                while len(topic_filter) <= position + 1:
                    topic_filter.append(None)
                topic_filter[position + 1] = "0x" + encode([type_string(entry)], [encode_value(entry, value)]).hex()
        last = to_block if isinstance(to_block, str) else hex(int(to_block))
        raw = self.node.rpc("eth_getLogs", {"address": self.address, "fromBlock": hex(int(from_block)), "toBlock": last,
                                            "topics": topic_filter})
        decoded = [log for log in (self.decode_log(r) for r in raw) if log is not None]
        return sorted(decoded, key=lambda log: (log.block_number, log.log_index))

    # -------------------------------------------------------------- reverts

    def revert_reason(self, data: Any) -> str | None:
        """``Error(name=value, ...)`` of revert ``data`` by this contract's errors (``Error(string)``'s text), else None."""
        from eth_abi import decode

        if not isinstance(data, str | bytes | bytearray):
            return None
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) and data.startswith("0x") else bytes(data) if not isinstance(data, str) else b""
        if len(raw) < 4:
            return None
        if raw[:4] == bytes.fromhex("08c379a0"):  # Error(string)
            return str(decode(["string"], raw[4:])[0])
        abi = self.errors.get(raw[:4])
        if abi is None:
            return None
        values = decode([type_string(i) for i in abi["inputs"]], raw[4:])
        shown = ", ".join(f"{i['name']}={_shown(decode_value(i, v))}" for i, v in zip(abi["inputs"], values, strict=True))
        return f"{abi['name']}({shown})"


_known: dict[str, Contract] = {}  # by lower-case address: the contracts whose logs ``Receipt.events`` decodes


def answers(contract: Contract, view: str, expected: Any) -> bool:
    """Whether there is code at ``contract``'s address and its ``view()`` returns ``expected``: how a
    client tells the contract it expects from any other (one without that view reverts or returns
    nothing). A node that does not answer is an error, not a no."""
    from eth_abi.exceptions import DecodingError

    from .chain import code_at

    if not code_at(contract.address):
        return False
    try:
        return getattr(contract, view)() == expected
    except (TransactionReverted, DecodingError):
        return False


def _shown(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class Event:
    """``contract.EventName``: for ``receipt.decode_logs`` and the event's logs."""

    def __init__(self, contract: Contract, name: str) -> None:
        self.contract, self.name = contract, name

    def logs(self, *, from_block: int = 0, to_block: int | str = "latest", topics: dict[str, Any] | None = None) -> list[EventLog]:
        return self.contract.logs([self.name], from_block=from_block, to_block=to_block, topics=topics)


class Method:
    """``contract.name``: called with ``sender=`` it sends a transaction, else it reads (eth_call)."""

    def __init__(self, contract: Contract, name: str, overloads: list[dict[str, Any]]) -> None:
        self.contract, self.name, self.overloads = contract, name, overloads

    def abi_for(self, args: Sequence[Any]) -> tuple[dict[str, Any], list[Any]]:
        """The overload ``args`` fit, and the arguments converted for it."""
        fits = [abi for abi in self.overloads if len(abi["inputs"]) == len(args)]
        problems = []
        for abi in fits:
            try:
                return abi, [encode_value(i, a) for i, a in zip(abi["inputs"], args, strict=True)]
            except (InvalidInput, ValueError, TypeError, KeyError, AttributeError) as exc:
                problems.append(first_line(exc))
        counts = sorted({len(abi["inputs"]) for abi in self.overloads})
        raise InvalidInput(f"{self.name}: cannot take {len(args)} argument(s) ({'; '.join(problems) or f'it takes {counts}'})")

    def encode_input(self, *args: Any) -> bytes:
        """The call data of ``name(*args)``."""
        return self._calldata(*self.abi_for(args))

    def _calldata(self, abi: dict[str, Any], values: list[Any]) -> bytes:
        from eth_abi import encode

        types = [type_string(i) for i in abi["inputs"]]
        return _selector(f"{self.name}({','.join(types)})") + encode(types, values)

    def __call__(self, *args: Any, sender: Any = None, block: int | str = "latest", gas: int | None = None) -> Any:
        abi, _ = self.abi_for(args)
        if sender is None or abi.get("stateMutability") in ("view", "pure"):
            return self.call(*args, block=block)
        return self.transact(*args, sender=sender, gas=gas)

    def call(self, *args: Any, block: int | str = "latest", sender: Any = None) -> Any:
        """``name(*args)`` run by the node (nothing sent), its outputs decoded."""
        abi, values = self.abi_for(args)
        call = {"to": self.contract.address, "data": "0x" + self._calldata(abi, values).hex()}
        if sender is not None:
            call["from"] = _to_address(sender)
        result = _eth_call(self.contract, self.name, call, block)
        return decode_outputs(abi["outputs"], result)

    def transaction(self, *args: Any, sender: Any, gas: int | None = None, nonce: int | None = None) -> dict[str, Any]:
        """The transaction (a JSON-RPC dict, unsigned) of ``name(*args)`` from ``sender``: the node's
        nonce, gas estimate (times 6/5; a revert there is ``TransactionReverted``) and fees unless given."""
        node = self.contract.node
        tx = {"from": _to_address(sender), "to": self.contract.address, "data": "0x" + self.encode_input(*args).hex()}
        if gas is None:
            gas = int(_request(self.contract, self.name, "eth_estimateGas", tx), 16) * GAS_MARGIN[0] // GAS_MARGIN[1]
        if nonce is None:
            nonce = int(node.rpc("eth_getTransactionCount", tx["from"], "pending"), 16)
        return {**tx, "nonce": nonce, "gas": gas, "chainId": node.signing_chain_id, **fees(node)}

    def transact(self, *args: Any, sender: Any, gas: int | None = None) -> Receipt:
        """Sends ``name(*args)`` signed by ``sender`` and waits until it is mined; a revert is ``TransactionReverted``."""
        from .accounts import sign_transaction

        node = self.contract.node
        raw = sign_transaction(sender, self.transaction(*args, sender=sender, gas=gas))
        tx_hash = node.rpc("eth_sendRawTransaction", "0x" + raw.hex())
        receipt = wait_for_receipt(node, tx_hash)
        if receipt.status != 1:
            raise TransactionReverted(f"{self.name} reverted (transaction {receipt.txn_hash})")
        return receipt


def fees(node: Node) -> dict[str, int]:
    """The fees to offer: EIP-1559 (twice the latest base fee plus the node's priority fee), or the
    node's gas price on a chain without a base fee."""
    block = node.rpc("eth_getBlockByNumber", "latest", False)
    if block.get("baseFeePerGas") is None:
        return {"gasPrice": int(node.rpc("eth_gasPrice"), 16)}
    priority = int(node.rpc("eth_maxPriorityFeePerGas"), 16)
    return {"maxFeePerGas": 2 * int(block["baseFeePerGas"], 16) + priority, "maxPriorityFeePerGas": priority}


def wait_for_receipt(node: Node, tx_hash: str, timeout: float = RECEIPT_TIMEOUT) -> Receipt:
    """The receipt of ``tx_hash`` once mined (asked after 5 ms, then ever less often, up to every
    100 ms); an error after ``timeout`` seconds."""
    deadline, pause = time.monotonic() + timeout, 0.005
    while (raw := node.rpc("eth_getTransactionReceipt", tx_hash)) is None:
        if time.monotonic() > deadline:
            raise DepositTokenError(f"transaction {tx_hash} not mined within {timeout:.0f} s")
        time.sleep(pause)
        pause = min(2 * pause, 0.1)
    return Receipt(_hex(raw["transactionHash"]), int(raw["blockNumber"], 16), int(raw["gasUsed"], 16), int(raw["status"], 16),
                   list(raw.get("logs") or []))


def _eth_call(contract: Contract, name: str, call: dict[str, Any], block: int | str) -> bytes:
    tag = hex(block) if isinstance(block, int) else block
    return bytes.fromhex(_request(contract, name, "eth_call", call, tag)[2:])


def _request(contract: Contract, name: str, method: str, *params: Any) -> Any:
    """A JSON-RPC request about ``contract``'s ``name``; a revert is ``TransactionReverted`` naming its error."""
    reply = contract.node.request({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    error = reply.get("error")
    if error:
        data = error.get("data") if isinstance(error, dict) else None
        if isinstance(data, dict):  # some nodes nest it
            data = data.get("data")
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        reason = contract.revert_reason(data) or message
        raise TransactionReverted(f"{name} reverted: {reason}")
    return reply["result"]
