"""The key that signs one console action, unlocked for that action only.

An operator's decisions are signed with their own key, as in the CLI: an encrypted keystore (an
eth-account keystore file in the console's keystore folder, ape's accounts folder by default)
unlocked with the passphrase typed into the form. The unlocked key lives in the request that needs
it and is dropped with it; neither it nor the passphrase is stored or logged. On the local devnet
only (``devnet_keys``), Anvil's public test accounts sign instead, as ``--as`` does in the CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from ..accounts import LocalSigner, ape_accounts_folder
from ..errors import DepositTokenError
from ..signers import DEVNET_CHAIN_IDS, select_signer


@dataclass(frozen=True)
class Keystore:
    name: str  # the file's name in the folder
    address: str


@dataclass(frozen=True)
class Keys:
    """Where signing keys come from: a keystore folder, or the devnet's test accounts (``devnet_keys``)."""

    folder: Path
    devnet_keys: bool = False

    @classmethod
    def of(cls, folder: str | None, devnet_keys: bool, chain_id: int) -> Keys:
        if devnet_keys and chain_id not in DEVNET_CHAIN_IDS:
            raise DepositTokenError(f"--devnet-keys signs with public test accounts: only on the local devnet "
                                    f"(chain ids {', '.join(map(str, DEVNET_CHAIN_IDS))}), not on chain {chain_id}")
        return cls(Path(folder) if folder else ape_accounts_folder(), devnet_keys)

    def keystores(self) -> list[Keystore]:
        """The keystore files in the folder (unreadable ones left out)."""
        found = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                found.append(Keystore(path.name, to_checksum_address(json.loads(path.read_text())["address"])))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found

    def keystore_of(self, address: str) -> Keystore | None:
        return next((k for k in self.keystores() if k.address == address), None)

    def unlock(self, chain_id: int, *, address: str | None = None, keystore: str | None = None, passphrase: str = "",
               role: str | None = None, token: Any = None) -> LocalSigner:
        """The signer at ``address`` (an operator's own key) or of the named ``keystore`` file, unlocked
        with ``passphrase``; with devnet keys, the test account at ``address`` or holding ``role``."""
        if self.devnet_keys:
            return select_signer(chain_id=chain_id, as_=address, role=role, token=token)
        if keystore is None:
            found = self.keystore_of(address) if address else None
            if found is None:
                raise DepositTokenError(f"no keystore for {address} in {self.folder}" if address else "choose the key that signs")
            keystore = found.name
        path = self.folder / Path(keystore).name  # a name in the folder, never a path the form chose
        if not path.is_file():
            raise DepositTokenError(f"no keystore {Path(keystore).name!r} in {self.folder}")
        if not passphrase:
            raise DepositTokenError("type the keystore's passphrase to sign")
        from eth_account import Account

        try:
            key = Account.from_key(Account.decrypt(json.loads(path.read_text()), passphrase))
        except ValueError:
            raise DepositTokenError(f"wrong passphrase for keystore {path.name}") from None
        if address is not None and key.address != address:
            raise DepositTokenError(f"keystore {path.name} is {key.address}, not {address}")
        return LocalSigner.of_key(key, f"keystore {path.name}")
