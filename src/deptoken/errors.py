"""The library's exceptions: one base the commands turn into a one-line error and a non-zero exit,
and a few subclasses so that a caller branches on the kind of problem, not on its English.

Every one means the same thing: the operation was refused and nothing was sent (except
``TransactionReverted``: the node refused a transaction after the library's checks passed).
The message is one line, for people; the type is for programs::

    try:
        client.mint(alice, "125.50", "DEP-1", sender=minter)
    except ReferenceUsed:
        ...                     # minted already: look the mint up instead
    except DepositTokenError as exc:
        print(exc)              # anything else, as the commands show it

    DepositTokenError
    ├── InvalidInput            an address, amount, reference, time, file or setting that cannot be used
    ├── NodeUnreachable         the node cannot be reached
    ├── WrongChain              the node is on another chain than the record or configuration
    ├── TransactionReverted     a revert that slipped past the checks (the chain changed in between)
    └── Refused                 the chain's state refuses it now
        ├── AccountInactive     an account cannot send or receive: not allowlisted, expired, frozen
        ├── TokenPaused         the token (or one leg's token) is paused
        ├── RoleMissing         the signer lacks the role the operation needs
        ├── ReferenceUsed       a reference or nonce was used already (mint, burn, payout, quote, authorization)
        ├── InsufficientBalance the balance, or the unfrozen part of it, is short
        ├── AllowanceTooLow     the spender (a settlement contract) is approved for less than it would take
        └── LimitExceeded       a minter allowance or the supply cap would be exceeded
"""


class DepositTokenError(Exception):
    """A problem with the input or the environment, explained in one line; nothing was sent."""


class InvalidInput(DepositTokenError):
    """Input the library cannot use: a malformed address, amount, reference, time, file or setting."""


class NodeUnreachable(DepositTokenError):
    """The node does not answer (not started, wrong URL, gone)."""


class WrongChain(DepositTokenError):
    """The node is on another chain than the deployment record or the configuration says."""


class TransactionReverted(DepositTokenError):
    """The node reverted a transaction whose checks had passed (the state changed in between)."""


class Refused(DepositTokenError):
    """The chain's current state refuses the operation (checked before anything is sent)."""


class AccountInactive(Refused):
    """An account cannot send or receive the token: not allowlisted, its entry expired, or frozen."""


class TokenPaused(Refused):
    """The token is paused: no transfers, mints or redemptions."""


class RoleMissing(Refused):
    """The signer lacks the role the operation needs."""


class ReferenceUsed(Refused):
    """A reference or nonce that can be used once was used already."""


class InsufficientBalance(Refused):
    """The balance, or its unfrozen part, is less than the amount."""


class AllowanceTooLow(Refused):
    """The spender is approved for less than it would take: approve it first."""


class LimitExceeded(Refused):
    """A minter's allowance or the token's supply cap would be exceeded."""


class HeadroomExceeded(LimitExceeded):
    """An interbank payment above the paying bank's headroom (its debit limit): the bank's tooling may queue it
    until collateral is posted or a cycle settles."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def reword(exc: DepositTokenError, old: str, new: str) -> DepositTokenError:
    """``exc`` with the first ``old`` of its message replaced by ``new``, of the same type (for a
    caller that names the value, e.g. ``amount`` -> ``allowance``)."""
    return type(exc)(str(exc).replace(old, new, 1))
