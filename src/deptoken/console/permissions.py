"""Who may do what in the console: each console role's permissions (a duty each, segregated).

The console checks these on the server before every action; the library checks again what it
always checks (a maker cannot approve their own request, the ledger operator's own permissions and
limits, the on-chain roles of the key that sends)."""

from __future__ import annotations

from ..errors import DepositTokenError

PERMISSIONS = {
    "view": "see every page, download files, run nothing",
    "propose_mint": "record deposits (file upload or by hand): each becomes a mint request",
    "decide": "approve or reject a request made by someone else",
    "execute": "send approved requests on-chain",
    "payouts": "generate pacs.008 payout files and mark payouts paid",
    "reconcile": "run the reconciliation and issue the camt.053 statement",
    "propose_legal": "propose freeze, unfreeze, lien, seize and recover under a legal order",
    "propose_pause": "propose pausing or unpausing the token",
    "manage_users": "add console users, change their role, disable them",
}

ROLES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view"}),
    "maker": frozenset({"view", "propose_mint"}),
    "checker": frozenset({"view", "decide"}),
    "compliance": frozenset({"view", "decide", "propose_pause", "propose_legal"}),
    "legal": frozenset({"view", "propose_legal"}),
    "treasury": frozenset({"view", "execute", "payouts", "reconcile"}),
    "admin": frozenset({"view", "manage_users"}),
}

SIGNING = frozenset({"propose_mint", "decide", "propose_legal", "propose_pause"})  # signed with the ledger operator's key
NEEDS_OPERATOR = SIGNING | {"payouts"}  # done as a ledger operator (the library checks their permissions)

LEGAL_KINDS = ("freeze", "unfreeze", "lien", "seize", "recover")
PAUSE_KINDS = ("pause", "unpause")


def check_role(role: str) -> str:
    """``role`` if it is a console role, else a one-line error naming the roles."""
    if role not in ROLES:
        raise DepositTokenError(f"unknown console role {role!r} (one of {', '.join(ROLES)})")
    return role


def may(role: str, permission: str) -> bool:
    """Whether a user with console ``role`` has ``permission``."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission in ROLES.get(role, frozenset())


def proposal_permission(kind: str) -> str:
    """The permission needed to propose a request of ``kind`` from the console."""
    if kind in LEGAL_KINDS:
        return "propose_legal"
    if kind in PAUSE_KINDS:
        return "propose_pause"
    if kind == "mint":
        return "propose_mint"
    raise DepositTokenError(f"requests of kind {kind!r} are not proposed from the console (use the deptoken CLI)")


def matrix() -> list[tuple[str, list[bool]]]:
    """The permissions matrix: one row per permission, a column per role (README, closing note)."""
    return [(p, [p in ROLES[r] for r in ROLES]) for p in PERMISSIONS]
