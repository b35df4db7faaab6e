"""Console users, their passwords and sessions, in the ledger (tables ``console_users`` and
``console_sessions``).

* Passwords: argon2id (``argon2-cffi``'s defaults: 64 MiB, 3 passes), at least 12 characters; a hash
  made with older parameters is renewed at the next login.
* Lockout: ``MAX_FAILURES`` wrong passwords in a row lock the user for ``LOCK_MINUTES``; the same
  one-line answer whether the user exists or not.
* Sessions: the cookie holds 32 random bytes, the ledger only their SHA-256. A session ends after
  ``IDLE_MINUTES`` without a request or ``MAX_HOURS`` after login, at logout, or when its user is
  disabled or locked. Each has its own CSRF token.
Every login, failure, lockout, logout and user change is in the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DepositTokenError
from ..ops import audit
from ..ops.db import Ledger
from ..ops.models import ConsoleSession, ConsoleUser, Operator, utcnow
from .permissions import NEEDS_OPERATOR, ROLES, check_role

MIN_PASSWORD = 12
MAX_FAILURES = 5
LOCK_MINUTES = 15
IDLE_MINUTES = 15
MAX_HOURS = 8
REFUSED = "wrong username or password"

_hasher = PasswordHasher()


class LoginRefused(DepositTokenError):
    """A login that did not succeed (wrong password, unknown or disabled user, locked)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DepositTokenError(f"a console password needs at least {MIN_PASSWORD} characters")


def _operator(session: Session, role: str, operator_name: str | None) -> Operator | None:
    if operator_name is None:
        if ROLES[role] & NEEDS_OPERATOR:
            raise DepositTokenError(f"a {role} acts as a ledger operator: name the operator they are (--operator)")
        return None
    operator = session.scalars(select(Operator).where(Operator.name == operator_name)).first()
    if operator is None:
        raise DepositTokenError(f"no operator named {operator_name!r} in the ledger (deptoken operators list)")
    if not operator.active:
        raise DepositTokenError(f"operator {operator_name} is not active")
    return operator


def add_user(session: Session, username: str, password: str, role: str, *, operator: str | None = None,
             actor: str) -> ConsoleUser:
    """A new console user with ``role``; one whose role signs is a ledger ``operator`` (by name)."""
    username = username.strip()
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise DepositTokenError(f"bad username {username!r}: letters, digits, '.', '-' and '_', at most 64")
    check_role(role)
    _check_password(password)
    if session.scalars(select(ConsoleUser).where(ConsoleUser.username == username)).first() is not None:
        raise DepositTokenError(f"console user {username!r} exists already")
    user = ConsoleUser(username=username, password_hash=_hasher.hash(password), role=role,
                       operator=_operator(session, role, operator), active=True, failed_logins=0)
    session.add(user)
    session.flush()
    audit.record(session, actor, "console.user_added", f"console user {username}", {"role": role, "operator": operator})
    return user


def user_named(session: Session, username: str) -> ConsoleUser:
    user = session.scalars(select(ConsoleUser).where(ConsoleUser.username == username.strip())).first()
    if user is None:
        raise DepositTokenError(f"no console user named {username.strip()!r}")
    return user


def list_users(session: Session) -> list[ConsoleUser]:
    return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))


def _end_sessions(session: Session, user: ConsoleUser, now: datetime) -> None:
    for s in session.scalars(select(ConsoleSession).where(ConsoleSession.user_id == user.id, ConsoleSession.ended_at.is_(None))):
        s.ended_at = now


def change_user(session: Session, username: str, *, actor: str, role: str | None = None, operator: str | None = None,
                password: str | None = None, active: bool | None = None, unlock: bool = False) -> ConsoleUser:
    """Changes a console user's role (and operator), password or activity, or lifts their lockout; ends their sessions."""
    user = user_named(session, username)
    changed: dict[str, object] = {}
    if role is not None:
        check_role(role)
        user.operator = _operator(session, role, operator if operator is not None else (user.operator.name if user.operator else None))
        user.role = role
        changed |= {"role": role, "operator": user.operator.name if user.operator else None}
    if password is not None:
        _check_password(password)
        user.password_hash = _hasher.hash(password)
        user.failed_logins, user.locked_until = 0, None
        changed["password"] = "changed"
    if active is not None:
        user.active = active
        changed["active"] = active
    if unlock:
        if user.locked_until is None or user.locked_until <= utcnow():
            raise DepositTokenError(f"console user {user.username} is not locked")
        user.failed_logins, user.locked_until = 0, None
        changed["unlocked"] = True
    if not changed:
        raise DepositTokenError("nothing to change")
    _end_sessions(session, user, utcnow())
    audit.record(session, actor, "console.user_changed", f"console user {user.username}", changed)
    return user


def change_own_password(ledger: Ledger, username: str, current_password: str, new_password: str, *,
                        now: datetime | None = None) -> None:
    """A user's own new password, given their current one; every session of theirs ends (this one too).
    A wrong current password counts as a failed login, recorded before the refusal is raised (an open
    session is no way to guess it)."""
    with ledger.session() as session:
        refusal = _change_own_password(session, username, current_password, new_password, now or utcnow())
    if refusal is not None:
        raise DepositTokenError(refusal)


def _change_own_password(session: Session, username: str, current_password: str, new_password: str, now: datetime) -> str | None:
    user = user_named(session, username)
    try:
        _hasher.verify(user.password_hash, current_password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        why = "wrong current password"
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until, user.failed_logins = now + timedelta(minutes=LOCK_MINUTES), 0
            _end_sessions(session, user, now)
            why += f"; locked for {LOCK_MINUTES} minutes"
        audit.record(session, user.username, "console.password_refused", f"console user {user.username}", {"why": why})
        return why
    if new_password == current_password:
        return "the new password is the current one"
    change_user(session, username, actor=user.username, password=new_password)
    return None


@dataclass(frozen=True)
class Login:
    user_id: int
    token: str  # for the cookie; the ledger keeps its digest only
    csrf_token: str


def login(ledger: Ledger, username: str, password: str, *, source: str, now: datetime | None = None) -> Login:
    """A new session for ``username`` if ``password`` is theirs (``source``: the client's address, audited).
    A refusal is recorded (failed count, lockout, audit entry) before ``LoginRefused`` is raised."""
    with ledger.session() as session:
        result = _login(session, username, password, source, now or utcnow())
    if isinstance(result, str):
        raise LoginRefused(result)
    return result


def _login(session: Session, username: str, password: str, source: str, now: datetime) -> Login | str:
    user = session.scalars(select(ConsoleUser).where(ConsoleUser.username == username.strip())).first()

    def refused(why: str, answer: str = REFUSED) -> str:
        subject = f"console user {user.username if user else username.strip()[:64]}"
        audit.record(session, "console", "console.login_failed", subject, {"source": source, "why": why})
        return answer

    if user is None:
        _spend_time(password)
        return refused("unknown user")
    if user.locked_until is not None and user.locked_until > now:
        return refused("locked", f"{REFUSED}, or the user is locked: try again after {user.locked_until:%H:%M} UTC")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins < MAX_FAILURES:
            return refused("wrong password")
        user.locked_until, user.failed_logins = now + timedelta(minutes=LOCK_MINUTES), 0
        return refused(f"wrong password; locked for {LOCK_MINUTES} minutes")
    if not user.active:
        return refused("disabled")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins, user.locked_until = 0, None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(ConsoleSession(id=_digest(token), user_id=user.id, csrf_token=csrf, created_at=now, last_seen_at=now))
    audit.record(session, user.username, "console.login", f"console user {user.username}", {"source": source, "role": user.role})
    return Login(user.id, token, csrf)


_DUMMY = _hasher.hash("not a password of anyone's")


def _spend_time(password: str) -> None:
    """As long as checking a real user's password: an unknown name is not told apart by timing."""
    try:
        _hasher.verify(_DUMMY, password)
    except (VerificationError, InvalidHashError):
        pass


def current(session: Session, token: str | None, *, now: datetime | None = None, idle_seconds: int = IDLE_MINUTES * 60,
            touch: bool = True) -> ConsoleSession | None:
    """The live session of cookie ``token`` (None: none, ended, idle for more than ``idle_seconds``,
    older than ``MAX_HOURS``, or its user disabled or locked); ``touch``: counts as activity."""
    if not token:
        return None
    now = now or utcnow()
    found = session.get(ConsoleSession, _digest(token))
    if found is None or found.ended_at is not None:
        return None
    user = found.user
    expired = (now - found.last_seen_at > timedelta(seconds=idle_seconds) or now - found.created_at > timedelta(hours=MAX_HOURS)
               or not user.active or (user.locked_until is not None and user.locked_until > now))
    if expired:
        found.ended_at = now
        audit.record(session, user.username, "console.session_ended", f"console user {user.username}",
                     {"why": "expired or user disabled"})
        return None
    if touch:
        found.last_seen_at = now
    return found


def csrf_ok(live: ConsoleSession, token: str | None) -> bool:
    """Whether a form's CSRF ``token`` is this session's (compared in constant time)."""
    return bool(token) and hmac.compare_digest(live.csrf_token, str(token))


def logout(session: Session, token: str | None, *, why: str = "logout") -> None:
    """Ends the session of cookie ``token`` (nothing if there is none)."""
    found = session.get(ConsoleSession, _digest(token)) if token else None
    if found is not None and found.ended_at is None:
        found.ended_at = utcnow()
        audit.record(session, found.user.username, "console.logout", f"console user {found.user.username}", {"why": why})
