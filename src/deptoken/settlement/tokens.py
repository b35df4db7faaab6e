"""The deposit tokens a settlement client meets: one ``TokenClient`` each, made on first use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..chain import code_at
from ..contracts import contract_at
from ..errors import DepositTokenError
from ..token import TokenClient
from ..validation import address_of


class TokenClients:
    """``clients(token)``: the ``TokenClient`` of a deposit token given as a client, a contract or an
    address (refused without code at it), each made once; ``tokens``: clients at hand."""

    def __init__(self, tokens: Iterable[TokenClient] = ()) -> None:
        self._by_address: dict[str, TokenClient] = {t.address: t for t in tokens}

    def __call__(self, token: Any) -> TokenClient:
        if isinstance(token, TokenClient):
            return self._by_address.setdefault(token.address, token)
        address = address_of(token, "token")
        if address not in self._by_address:
            if not code_at(address):
                raise DepositTokenError(f"no contract at token address {address}")
            self._by_address[address] = TokenClient.from_contract(contract_at("DepositToken", address))
        return self._by_address[address]
