"""The operations policy: approval thresholds, intake limits and value dates, request expiry,
execution leases and mints in flight, indexer settings, the bank's liability account.
Read from a YAML file (``config/ops.yaml`` by default, ``--config`` or ``DEPTOKEN_OPS_CONFIG``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ..deployments import PROJECT_ROOT
from ..errors import DepositTokenError

DEFAULT_PATH = PROJECT_ROOT / "config" / "ops.yaml"


@dataclass(frozen=True)
class Policy:
    two_approvals_above: Decimal = Decimal("100000")  # currency units: a request above needs two checkers
    confirmations: int = 2  # the indexer takes blocks this deep only
    chunk_blocks: int = 2000  # eth_getLogs range per call
    batch_size: int = 100  # allowlist entries per transaction
    liability_account: str = "DEPOSIT-TOKEN-LIABILITY"  # the account the camt.053 statement is for
    max_deposit: Decimal | None = Decimal("100000000")  # currency units: intake refuses a larger deposit (None: no limit)
    max_client_daily: Decimal | None = Decimal("250000000")  # currency units: per client and value date (None: no limit)
    value_date: str = "hold"  # hold: a future value date waits for its day | same_day_only: intake refuses it
    approved_expire_hours: int = 120  # an approved request not executed by then expires (0: never)
    execution_lease_seconds: int = 600  # an executor's claim on a request; after it another may take over
    max_in_flight: int = 256  # mints signed and sent before the first is mined (1: one at a time)
    paid_by_another_operator: bool = True  # `payouts paid`: not by the operator who exported the file
    clients_second_approver: bool = False  # allowlist jobs are sent once another operator approved them
    client_addresses_allowed: tuple[str, ...] = ()  # the bank's own addresses that may still be onboarded
    interbank_networks: tuple[str, ...] = ()  # the interbank networks the bank joined (minters of payments in)
    crosschain_messengers: tuple[str, ...] = ()  # the bank's cross-chain messengers on this chain (mint in, burn out)


VALUE_DATE_RULES = ("hold", "same_day_only")


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy from ``path`` (or the default file; built-in defaults when there is none)."""
    explicit = path or os.environ.get("DEPTOKEN_OPS_CONFIG")
    path = Path(explicit or DEFAULT_PATH)
    if not path.is_file():
        if explicit:
            raise DepositTokenError(f"ops config {path} not found")
        return Policy()
    try:
        data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise DepositTokenError(f"ops config {path} is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise DepositTokenError(f"ops config {path}: expected a mapping of settings, not {type(data).__name__}")
    unknown = set(map(str, data)) - set(Policy.__dataclass_fields__)
    if unknown:
        raise DepositTokenError(f"ops config {path}: unknown setting(s) {', '.join(sorted(unknown))}")

    def count(name: str) -> int:
        value = data.get(name, getattr(Policy, name))
        if isinstance(value, bool | float):  # int(1.5) would silently be 1, int(True) 1
            raise ValueError(f"{name} must be a whole number, not {value!r}")
        return int(value)

    def amount(name: str) -> Decimal:
        value = data.get(name, getattr(Policy, name))
        try:
            return Decimal(str(value))
        except InvalidOperation:  # its message is only "[<class 'decimal.ConversionSyntax'>]"
            raise ValueError(f"{name} must be an amount, not {value!r}") from None

    def limit(name: str) -> Decimal | None:
        return None if data.get(name, getattr(Policy, name)) is None else amount(name)

    def flag(name: str) -> bool:
        value = data.get(name, getattr(Policy, name))
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return value

    def addresses(name: str) -> tuple[str, ...]:
        from ..validation import parse_address

        value = data.get(name, [])
        if not isinstance(value, list):
            raise ValueError(f"{name} must be a list of addresses")
        if any(isinstance(a, int) for a in value):
            raise ValueError(f"{name}: quote each address ('0x...'): YAML reads an unquoted 0x... as a number")
        try:
            return tuple(parse_address(str(a), name) for a in value)
        except DepositTokenError as exc:
            raise ValueError(str(exc)) from None

    try:
        policy = Policy(
            two_approvals_above=amount("two_approvals_above"),
            confirmations=count("confirmations"),
            chunk_blocks=count("chunk_blocks"),
            batch_size=count("batch_size"),
            liability_account=str(data.get("liability_account", Policy.liability_account)),
            max_deposit=limit("max_deposit"),
            max_client_daily=limit("max_client_daily"),
            value_date=str(data.get("value_date", Policy.value_date)),
            approved_expire_hours=count("approved_expire_hours"),
            execution_lease_seconds=count("execution_lease_seconds"),
            max_in_flight=count("max_in_flight"),
            paid_by_another_operator=flag("paid_by_another_operator"),
            clients_second_approver=flag("clients_second_approver"),
            client_addresses_allowed=addresses("client_addresses_allowed"),
            interbank_networks=addresses("interbank_networks"),
            crosschain_messengers=addresses("crosschain_messengers"),
        )
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise DepositTokenError(f"ops config {path}: bad value ({exc})") from None
    if not policy.two_approvals_above.is_finite():
        raise DepositTokenError(f"ops config {path}: two_approvals_above must be a finite amount, not {policy.two_approvals_above}")
    if policy.two_approvals_above < 0 or policy.confirmations < 0 or policy.chunk_blocks < 1 or policy.batch_size < 1:
        raise DepositTokenError(f"ops config {path}: thresholds and counts must be positive")
    for name in ("max_deposit", "max_client_daily"):
        value = getattr(policy, name)
        if value is not None and (not value.is_finite() or value <= 0):
            raise DepositTokenError(f"ops config {path}: {name} must be a positive amount or null, not {value}")
    if policy.value_date not in VALUE_DATE_RULES:
        raise DepositTokenError(f"ops config {path}: value_date must be hold or same_day_only, not {policy.value_date!r}")
    if policy.max_in_flight < 1:
        raise DepositTokenError(f"ops config {path}: max_in_flight must be 1 or more, not {policy.max_in_flight}")
    if policy.approved_expire_hours < 0 or policy.execution_lease_seconds < 1:
        raise DepositTokenError(f"ops config {path}: approved_expire_hours must be 0 or more, execution_lease_seconds positive")
    return policy
