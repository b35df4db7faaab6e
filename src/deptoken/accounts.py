"""The keys that sign, and how a transaction is signed by either kind of account the library meets.

* ``LocalSigner``: an eth-account key: an encrypted keystore (an ape keystore alias or any
  eth-account keystore file), unlocked with its passphrase when it first signs, or a public test
  account of the devnet mnemonic. It signs as ape's accounts do (``address``, ``sign_message``),
  and a keystore asks before each signature unless ``set_autosign(True)``, as ape's does.
* an ape account (scripts and tests run under ape), signed through ape.

:func:`sign_transaction` signs a transaction (a JSON-RPC dict) with either. Deploying goes through
ape (the compiled project): :func:`as_ape_account` gives a ``LocalSigner``'s ape account for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DepositTokenError

DEVNET_MNEMONIC = "test test test test test test test test test test test junk"  # Anvil's and Hardhat's public one
DEVNET_HD_PATH = "m/44'/60'/0'/0"


@dataclass(frozen=True)
class MessageSignature:
    """A message signature as ape gives one: ``v``, ``r``, ``s`` and ``encode_rsv()`` (65 bytes)."""

    v: int
    r: bytes
    s: bytes

    def encode_rsv(self) -> bytes:
        return self.r + self.s + bytes([self.v])


class LocalSigner:
    """An eth-account key that signs (see the module docstring); ``unlock`` gives the key when first needed."""

    def __init__(self, address: str, unlock: Callable[[], Any], *, label: str, ask: bool, keyfile: Path | None = None,
                 key: Any = None) -> None:
        self.address = address
        self.label = label
        self.keyfile = keyfile  # the keystore file, if it is one
        self._unlock = unlock
        self._key = key  # unlocked
        self._ask = ask

    @classmethod
    def of_key(cls, key: Any, label: str) -> LocalSigner:
        """A key at hand (a devnet test account's) that signs without asking."""
        return cls(key.address, lambda: key, label=label, ask=False, key=key)

    def __repr__(self) -> str:
        return f"<{self.label} {self.address}>"

    @property
    def autosign(self) -> bool:
        """Whether it signs without asking each time."""
        return not self._ask

    @property
    def prompts(self) -> bool:
        """Whether signing will ask the operator (a passphrase, or a confirmation)."""
        return self._ask or self._key is None

    def set_autosign(self, enabled: bool) -> None:
        """Signs without asking each time (the passphrase is still asked once, unless given in the environment)."""
        self._ask = not enabled

    def _account(self, what: str) -> Any:
        if self._ask:
            import click

            if not click.confirm(f"{what}\n\nSign: ", err=True):
                raise DepositTokenError(f"{self.address} declined to sign")
        if self._key is None:
            self._key = self._unlock()
        return self._key

    def sign_message(self, message: Any) -> MessageSignature:
        """Signs an eth-account ``SignableMessage`` (EIP-191, EIP-712)."""
        signed = self._account(f"message for {self.address}").sign_message(message)
        return MessageSignature(int(signed.v), int(signed.r).to_bytes(32, "big"), int(signed.s).to_bytes(32, "big"))

    def sign_transaction_dict(self, tx: dict[str, Any]) -> bytes:
        """The raw signed bytes of ``tx`` (a JSON-RPC transaction dict)."""
        shown = {k: v for k, v in tx.items() if k != "data"} | {"data": f"{len(tx.get('data') or '0x') // 2 - 1} bytes"}
        return bytes(self._account(f"transaction {shown}").sign_transaction(tx).raw_transaction)


def sign_transaction(sender: Any, tx: dict[str, Any]) -> bytes:
    """The raw signed bytes of ``tx`` (``from``, ``to``, ``data``, ``nonce``, ``gas``, ``chainId`` and
    the fees) signed by ``sender``: a ``LocalSigner``, or an ape account (through ape)."""
    if isinstance(sender, LocalSigner):
        return sender.sign_transaction_dict(tx)
    if type(sender).__module__.startswith("ape_test"):  # a public test account: its key at hand, no ape transaction needed
        from eth_account import Account

        return bytes(Account.sign_transaction(tx, sender.private_key).raw_transaction)
    from ape import networks

    fees = ({"max_fee": tx["maxFeePerGas"], "max_priority_fee": tx["maxPriorityFeePerGas"], "type": 2}
            if "maxFeePerGas" in tx else {"gas_price": tx["gasPrice"], "type": 0})
    txn = networks.provider.network.ecosystem.create_transaction(
        chain_id=tx["chainId"], nonce=tx["nonce"], receiver=tx["to"], sender=tx["from"], data=tx["data"],
        gas_limit=tx["gas"], **fees,
    )
    signed = sender.sign_transaction(txn)
    if signed is None or not signed.signature:
        raise DepositTokenError(f"{sender.address} did not sign the transaction")
    return bytes(signed.serialize_transaction())


def as_ape_account(signer: Any) -> Any:
    """The ape account of ``signer`` (an ape account as it is), for what only ape does: deploying from
    the compiled project (the deploy scripts, the benchmarks). A keystore keeps its autosign choice."""
    if not isinstance(signer, LocalSigner):
        return signer
    from ape import accounts

    if signer.keyfile is None:
        for account in accounts.test_accounts:
            if account.address == signer.address:
                return account
        raise DepositTokenError(f"{signer.address} is not one of ape's test accounts")
    from ape_accounts import KeyfileAccount

    account = KeyfileAccount(keyfile_path=signer.keyfile)
    if signer.autosign:
        account.set_autosign(True)
    return account


# ---------------------------------------------------------------------- where the keys come from


def devnet_accounts(count: int | None = None) -> list[LocalSigner]:
    """The public test accounts of the devnet mnemonic (as many as ``ape-config.yaml``'s ``test.number_of_accounts``)."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    mnemonic, number = _test_config()
    accounts = []
    for index in range(number if count is None else count):
        key = Account.from_mnemonic(mnemonic, account_path=f"{DEVNET_HD_PATH}/{index}")
        accounts.append(LocalSigner.of_key(key, f"test account {index}"))
    return accounts


def _test_config() -> tuple[str, int]:
    import yaml

    from .project import find_project_root

    root = find_project_root()
    config = yaml.safe_load((root / "ape-config.yaml").read_text()) if root else None
    test = (config or {}).get("test") or {}
    return str(test.get("mnemonic") or DEVNET_MNEMONIC), int(test.get("number_of_accounts") or 10)


def ape_accounts_folder() -> Path:
    """Where ape keeps its keystore accounts: ``$APE_DATA_FOLDER/accounts`` (default ``~/.ape/accounts``)."""
    return Path(os.environ.get("APE_DATA_FOLDER") or Path.home() / ".ape") / "accounts"


def load_keystore_account(alias: str) -> LocalSigner:
    """The ape keystore account ``alias`` (``ape accounts import ALIAS``); its passphrase from ape's own
    variable ``APE_ACCOUNTS_<ALIAS>_PASSPHRASE`` or asked for when it first signs."""
    alias = alias.strip()
    if not alias:
        raise DepositTokenError("--account needs an alias")
    folder = ape_accounts_folder()
    path = folder / f"{alias}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.json"))) or "none"
        raise DepositTokenError(f"no ape account named {alias!r} (known: {known}; see `ape accounts import`)")
    return _keystore_signer(path, f"ape account {alias}", f"APE_ACCOUNTS_{alias}_PASSPHRASE")


def load_keystore_file(path: str) -> LocalSigner:
    """An eth-account (Web3 Secret Storage) keystore file; its passphrase is asked for when it first signs."""
    file = Path(path)
    if not file.is_file():
        raise DepositTokenError(f"keystore file {file} not found")
    return _keystore_signer(file, f"keystore {file.name}", None)


def _keystore_signer(path: Path, label: str, variable: str | None) -> LocalSigner:
    from eth_utils import to_checksum_address

    try:
        keyfile = json.loads(path.read_text())
        address = to_checksum_address(keyfile["address"])
    except (OSError, ValueError, KeyError, TypeError):
        raise DepositTokenError(f"{path} is not an eth-account keystore file") from None

    def unlock() -> Any:
        import click
        from eth_account import Account

        passphrase = os.environ.get(variable) if variable else None
        if passphrase is None:
            passphrase = click.prompt(f"passphrase of {label} ({address})", hide_input=True, err=True)
        try:
            return Account.from_key(Account.decrypt(keyfile, passphrase))
        except ValueError:
            raise DepositTokenError(f"wrong passphrase for {label}") from None

    return LocalSigner(address, unlock, label=label, ask=True, keyfile=path)
