"""One set of signer options for every command-line tool (``deptoken``'s commands and the ape scripts):
``--account ALIAS`` (ape keystore), ``--keystore FILE`` (eth-account keystore), ``--as WHO`` (devnet
test account) and ``--yes`` (keystore: sign without asking each time), resolved by
``deptoken.signers.select_signer``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

import click

AS_HELP = "Devnet only: a public test account (index, address or token role)."
AS_HELP_NO_ROLES = "Devnet only: a public test account (index or address)."


@dataclass(frozen=True)
class SignerChoice:
    """What the signer options chose (at most one of ``account``, ``keystore``, ``as_``)."""

    account: str | None = None
    keystore: str | None = None
    as_: str | None = None
    autosign: bool = False

    def select(self, chain_id: int, role: str | None = None, token: Any = None, config: Any = None) -> Any:
        """The account to sign with on ``chain_id``; on the devnet by default the test account holding
        ``role`` on ``token`` (a contract) or in ``config`` (a deploy configuration)."""
        from ..signers import select_signer

        return select_signer(chain_id=chain_id, account=self.account, keystore=self.keystore, as_=self.as_,
                             role=role, token=token, config=config, autosign=self.autosign)


def signer_choice_options(as_help: str = AS_HELP) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Adds the signer options to a click command; the command receives ``signer_choice`` (a
    ``SignerChoice``). ``as_help``: what ``--as`` accepts for this command."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        # dest ``signer_account``: ``account`` is also the name of some commands' ADDRESS argument
        # (legal freeze/unfreeze/lien), and click would give both the same slot in ctx.params.
        @click.option("--account", "signer_account", metavar="ALIAS", help="Sign with this ape keystore account.")
        @click.option("--keystore", metavar="FILE", help="Sign with this eth-account keystore (JSON) file.")
        @click.option("--as", "as_", metavar="WHO", help=as_help)
        @click.option("--yes", is_flag=True, help="Keystore: unlock once, sign without asking each time.")
        @wraps(function)
        def wrapper(*args: Any, signer_account: str | None, keystore: str | None, as_: str | None, yes: bool,
                    **kwargs: Any) -> Any:
            choice = SignerChoice(signer_account, keystore, as_, yes)
            return function(*args, signer_choice=choice, **kwargs)

        return wrapper

    return decorate
