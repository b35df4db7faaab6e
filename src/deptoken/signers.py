"""Who signs: an encrypted keystore anywhere, or a public test account on the local devnet only.

* ``keystore="FILE"``: an eth-account keystore file (JSON).
* ``account="ALIAS"``: an ape encrypted keystore account (``ape accounts import ALIAS``), read from
  ape's accounts folder; its passphrase is asked for when it first signs (or read from ape's own
  ``APE_ACCOUNTS_<ALIAS>_PASSPHRASE``). Never a private key on the command line or in a variable.
* ``as_="minter" | "3" | "0xAbC..."``: one of the public test accounts of the devnet mnemonic
  (Anvil's and Hardhat's), by role, index or address. Refused unless the chain id is 31337.
* neither: on the devnet, the test account holding the role the operation needs; elsewhere an error.

A keystore asks before signing each transaction unless ``autosign``. The signers are
``deptoken.accounts.LocalSigner``s: no ape needed.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from .accounts import LocalSigner, load_keystore_account, load_keystore_file
from .errors import DepositTokenError
from .roles import ROLES, role_id
from .validation import parse_address

if TYPE_CHECKING:
    from .config import DeployConfig

DEVNET_CHAIN_ID = 31337
DEVNET_SECOND_CHAIN_ID = 31338  # the devnet's second chain (`make devnet`: the bank's token moved across chains)
DEVNET_CHAIN_IDS = (DEVNET_CHAIN_ID, DEVNET_SECOND_CHAIN_ID)
__all__ = ["DEVNET_CHAIN_ID", "DEVNET_CHAIN_IDS", "DEVNET_SECOND_CHAIN_ID", "devnet_accounts", "load_keystore_account", "load_keystore_file", "select_signer"]


@cache
def devnet_accounts() -> list[LocalSigner]:
    """The public test accounts of the configured (devnet) mnemonic."""
    from .accounts import devnet_accounts as derive

    return derive()


def _test_account_at(address: str) -> LocalSigner:
    for account in devnet_accounts():
        if account.address == address:
            return account
    raise DepositTokenError(f"{address} is not one of the devnet's public test accounts")


def _role_holder(role: str, token: Any = None, config: DeployConfig | None = None) -> LocalSigner:
    """The first test account that holds ``role`` on ``token``, or that ``config`` names for it."""
    rid = role_id(role)
    if token is not None:
        for account in devnet_accounts():
            if token.hasRole(rid, account.address):
                return account
        raise DepositTokenError(f"no devnet test account holds the {role} role on {token.address}")
    if config is not None:
        named = config.minters[0][0] if role == "minter" and config.minters else config.roles.get(role)
        if named:
            return _test_account_at(named)
        raise DepositTokenError(f"the deploy config names no {role}")
    raise DepositTokenError(f"cannot tell who holds the {role} role")


def select_signer(
    *,
    chain_id: int,
    account: str | None = None,
    keystore: str | None = None,
    as_: str | None = None,
    role: str | None = None,
    token: Any = None,
    config: DeployConfig | None = None,
    autosign: bool = False,
) -> LocalSigner:
    """The account to sign with (see the module docstring).

    ``role`` is what the operation needs (the default on the devnet); ``token`` (a contract) or
    ``config`` tells who holds a role named in ``as_`` or ``role``.
    """
    if sum(bool(x) for x in (account, keystore, as_)) > 1:
        raise DepositTokenError("give one of --account, --keystore or --as (not both)")
    if account or keystore:
        signer = load_keystore_account(account) if account else load_keystore_file(keystore)
        if autosign:
            signer.set_autosign(True)
        return signer
    devnet = chain_id in DEVNET_CHAIN_IDS
    if as_ is not None:
        if not devnet:
            raise DepositTokenError(
                f"--as picks a public test account and works only on the local devnet (chain ids {DEVNET_CHAIN_ID} and {DEVNET_SECOND_CHAIN_ID}); "
                f"on chain {chain_id} sign with --account ALIAS (an ape keystore account)"
            )
        who = as_.strip()
        if who.isdigit():
            pool = devnet_accounts()
            if int(who) >= len(pool):
                raise DepositTokenError(f"--as {who}: there are only {len(pool)} test accounts (0..{len(pool) - 1})")
            return pool[int(who)]
        if who.lower().startswith("0x"):
            return _test_account_at(parse_address(who, "--as"))
        if who.lower().replace("-", "_") in ROLES:
            return _role_holder(who.lower().replace("-", "_"), token, config)
        raise DepositTokenError(f"--as {who!r}: expected a role ({', '.join(ROLES)}), a test-account index or an address")
    if not devnet:
        raise DepositTokenError(f"chain {chain_id} is not the local devnet: sign with --account ALIAS (an ape keystore account)")
    if role is None:
        raise DepositTokenError("choose who signs: --as INDEX|ADDRESS (a devnet test account) or --account ALIAS")
    return _role_holder(role, token, config)
