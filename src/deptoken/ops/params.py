"""The parameters of each kind of maker-checker request, typed, and their stored JSON form.

One frozen dataclass per kind (``MintParams``, ``FreezeParams``, ... ``OperatorChange``). The ledger
stores, and the operators sign, a JSON object (``Request.params``); this module is the one place that
turns one into the other:

* ``parse(kind, raw)``: what a caller gives (a dict of texts and ints, or the typed value itself),
  checked: checksummed addresses, amounts in minor units, references (``Reference``), reasons;
* ``to_json(params)``: the object that is signed and stored: addresses checksummed, amounts as
  decimal text of minor units, references as their text (exactly as ledgers have stored them since
  the first revision, so that every stored digest still checks out);
* ``from_json(kind, stored)``: the stored object back (its ``nonce`` aside), refused unless it is in
  the form ``to_json`` writes (a hand-edited ledger).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from ..errors import DepositTokenError
from ..references import Reference
from ..validation import parse_address
from .statuses import RequestKind

_ADDRESSES = ("to", "account", "from", "lost", "replacement")
_REFERENCES = ("deposit_reference", "order_reference")


@dataclass(frozen=True)
class _Params:
    """Common to the chain and ledger-only kinds: the kind, its signer role and its JSON field names."""

    KIND: ClassVar[RequestKind]
    SIGNER: ClassVar[str | None]  # the token role that sends it; None: ledger only

    @classmethod
    def json_fields(cls) -> tuple[str, ...]:
        """The JSON names of the fields, in order (``from_`` is ``from``)."""
        return tuple(f.name.rstrip("_") for f in fields(cls))

    @property
    def kind(self) -> RequestKind:
        return self.KIND

    @property
    def minor_units(self) -> int | None:
        """The amount in minor units, None for a kind without one."""
        return getattr(self, "amount", None)


@dataclass(frozen=True)
class MintParams(_Params):
    KIND: ClassVar = RequestKind.MINT
    SIGNER: ClassVar = "minter"
    to: str
    amount: int  # minor units
    deposit_reference: Reference


@dataclass(frozen=True)
class FreezeParams(_Params):
    KIND: ClassVar = RequestKind.FREEZE
    SIGNER: ClassVar = "compliance"
    account: str


@dataclass(frozen=True)
class UnfreezeParams(_Params):
    KIND: ClassVar = RequestKind.UNFREEZE
    SIGNER: ClassVar = "compliance"
    account: str


@dataclass(frozen=True)
class LienParams(_Params):
    KIND: ClassVar = RequestKind.LIEN
    SIGNER: ClassVar = "legal"
    account: str
    amount: int  # minor units; 0 releases


@dataclass(frozen=True)
class SeizeParams(_Params):
    KIND: ClassVar = RequestKind.SEIZE
    SIGNER: ClassVar = "legal"
    from_: str
    to: str
    amount: int  # minor units
    order_reference: Reference


@dataclass(frozen=True)
class RecoverParams(_Params):
    KIND: ClassVar = RequestKind.RECOVER
    SIGNER: ClassVar = "legal"
    lost: str
    replacement: str
    order_reference: Reference


@dataclass(frozen=True)
class PauseParams(_Params):
    KIND: ClassVar = RequestKind.PAUSE
    SIGNER: ClassVar = "pauser"


@dataclass(frozen=True)
class UnpauseParams(_Params):
    KIND: ClassVar = RequestKind.UNPAUSE
    SIGNER: ClassVar = "pauser"


@dataclass(frozen=True)
class CancelParams(_Params):
    KIND: ClassVar = RequestKind.CANCEL
    SIGNER: ClassVar = None
    request: int  # the request cancelled
    reason: str


@dataclass(frozen=True)
class ReturnParams(_Params):
    KIND: ClassVar = RequestKind.RETURN
    SIGNER: ClassVar = None
    deposit_reference: Reference
    reason: str


# the kinds ``workflow`` proposes and runs, in the order the CLI and errors list them
TYPES: dict[str, type[_Params]] = {
    cls.KIND.value: cls
    for cls in (MintParams, FreezeParams, UnfreezeParams, LienParams, SeizeParams, RecoverParams, PauseParams,
                UnpauseParams, CancelParams, ReturnParams)
}


def _check(kind: str, name: str, value: Any) -> Any:
    """One field of a ``kind`` request, checked (the messages are the ones operators see)."""
    if name in _ADDRESSES:
        return parse_address(str(value), name)
    if name == "amount":
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if kind == "lien" else 1):
            raise DepositTokenError(f"{kind} amount must be a positive number of minor units")
        return value
    if name == "request":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DepositTokenError(f"a {kind} names a request by its number")
        return value
    if name == "reason":
        text = " ".join(str(value).split())
        if not text or len(text) > 160:
            raise DepositTokenError(f"a {kind} needs a reason" if not text else f"a {kind} reason has at most 160 characters")
        return text
    if name in _REFERENCES:
        return Reference.parse(value.text if isinstance(value, Reference) else str(value), name.replace("_", " "))
    raise AssertionError(name)


def parse(kind: str, raw: Mapping[str, Any] | _Params) -> RequestParams:
    """The typed parameters of a ``kind`` request from ``raw`` (JSON names: ``from``, not ``from_``),
    checked; a typed value is checked again (its fields may have been built by hand)."""
    if kind not in TYPES:
        raise DepositTokenError(f"unknown request kind {kind!r} (one of {', '.join(TYPES)})")
    cls = TYPES[kind]
    names = cls.json_fields()
    if isinstance(raw, _Params):
        if type(raw) is not cls:
            raise DepositTokenError(f"a {kind} request takes {', '.join(names) or 'no parameters'}")
        raw = {name: getattr(raw, f.name) for name, f in zip(names, fields(cls), strict=True)}
    if set(raw) != set(names):
        raise DepositTokenError(f"a {kind} request takes {', '.join(names) or 'no parameters'}")
    return cls(*(_check(kind, name, raw[name]) for name in names))


def to_json(params: RequestParams) -> dict[str, Any]:
    """The object stored and signed for ``params``: minor units as decimal text, references as text."""
    if isinstance(params, OperatorChange):
        return params.to_json()
    data: dict[str, Any] = {}
    for name, f in zip(params.json_fields(), fields(params), strict=True):
        value = getattr(params, f.name)
        data[name] = value.text if isinstance(value, Reference) else str(value) if name == "amount" else value
    return data


def from_json(kind: str, stored: Mapping[str, Any]) -> RequestParams:
    """The typed parameters of a stored ``kind`` request (``Request.params``; its nonce aside);
    raises unless ``stored`` is exactly what ``to_json`` writes for them."""
    data = {k: v for k, v in stored.items() if k != "nonce"}
    if kind == RequestKind.OPERATOR:
        return OperatorChange.from_json(data)
    amount = data.get("amount")
    if "amount" in data and not (isinstance(amount, str) and amount.isascii() and amount.isdigit()):
        raise DepositTokenError(f"a stored {kind} amount must be minor units as decimal text, not {amount!r}")
    parsed = parse(kind, data | ({"amount": int(amount)} if "amount" in data else {}))  # type: ignore[arg-type]
    if to_json(parsed) != data:
        raise DepositTokenError(f"the stored {kind} parameters are not in their canonical form")
    return parsed


@dataclass(frozen=True)
class OperatorChange:
    """An ``operator`` request: add an operator, deactivate one, or change one's duties (``operators``).

    ``deactivate`` carries only the name; ``duties`` no address or person; ``max_amount`` is minor units."""

    KIND: ClassVar = RequestKind.OPERATOR
    SIGNER: ClassVar = None
    change: str  # add | deactivate | duties
    name: str
    address: str | None = None
    person_id: str | None = None
    request: bool | None = None
    approve: bool | None = None
    permissions: tuple[str, ...] | None = None  # None: every action
    max_amount: int | None = None

    @property
    def kind(self) -> RequestKind:
        return self.KIND

    @property
    def minor_units(self) -> None:
        """A team change moves no money (``max_amount`` is a limit, not an amount)."""
        return None

    def to_json(self) -> dict[str, Any]:
        """As ``operators`` has always stored it (``max_amount`` as decimal text or null)."""
        data: dict[str, Any] = {"change": self.change, "name": self.name}
        if self.change == "deactivate":
            return data
        if self.change == "add":
            data |= {"address": self.address, "person_id": self.person_id}
        return data | {"request": self.request, "approve": self.approve,
                       "permissions": None if self.permissions is None else list(self.permissions),
                       "max_amount": None if self.max_amount is None else str(self.max_amount)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OperatorChange:
        """The stored object (without its nonce) back; raises unless it is in ``to_json``'s form."""
        try:
            permissions = data.get("permissions")
            max_amount = data.get("max_amount")
            change = cls(
                change=data["change"], name=data["name"], address=data.get("address"), person_id=data.get("person_id"),
                request=data.get("request"), approve=data.get("approve"),
                permissions=None if permissions is None else tuple(permissions),
                max_amount=None if max_amount is None else int(max_amount),
            )
        except (KeyError, TypeError, ValueError):
            change = None
        if change is None or change.to_json() != dict(data):
            raise DepositTokenError("the stored operator change is not in its canonical form")
        return change


RequestParams = (MintParams | FreezeParams | UnfreezeParams | LienParams | SeizeParams | RecoverParams | PauseParams
                 | UnpauseParams | CancelParams | ReturnParams | OperatorChange)


def describe_params(token: Any, kind: str, params: dict[str, Any]) -> str:
    """A request as an operator reads it: amounts in currency units (``token.format``), references as text."""
    fields = " ".join(f"{k}={token.format(int(v)) if k in ('amount', 'max_amount') and v is not None else v}"
                      for k, v in params.items() if k != "nonce")
    return f"{kind} {fields}".strip()
