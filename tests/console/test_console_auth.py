"""Console users, passwords, lockout, sessions and the permissions matrix (``deptoken.console``), on a
real ledger (SQLite file, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from deptoken.console import auth
from deptoken.console.permissions import PERMISSIONS, ROLES, matrix, may, proposal_permission
from deptoken.errors import DepositTokenError
from deptoken.ops.audit import verify
from deptoken.ops.models import AuditEntry, ConsoleSession, ConsoleUser, utcnow

PASSWORD = "correct horse battery"


def actions(session, prefix="console."):
    return [a for a in session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)) if a.startswith(prefix)]


def test_users_are_added_with_argon2_hashes_and_checked(ledger, team):
    with ledger.session() as session:
        user = auth.add_user(session, "maria", PASSWORD, "maker", operator="ana", actor="test")
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert user.operator.name == "ana"
        auth.add_user(session, "vic", PASSWORD, "viewer", actor="test")  # a viewer acts as no operator
    refusals = [
        (("maria", PASSWORD, "maker"), {"operator": "ana"}, "console user 'maria' exists already"),
        (("bob", "short", "checker"), {"operator": "ben"}, "at least 12 characters"),
        (("bob", PASSWORD, "checker"), {}, "a checker acts as a ledger operator: name the operator"),
        (("tess", PASSWORD, "treasury"), {}, "a treasury acts as a ledger operator"),
        (("bob", PASSWORD, "checker"), {"operator": "nobody"}, "no operator named 'nobody'"),
        (("bob", PASSWORD, "superuser"), {"operator": "ben"}, "unknown console role 'superuser'"),
        (("bob smith", PASSWORD, "checker"), {"operator": "ben"}, "bad username 'bob smith'"),
    ]
    for args, kwargs, message in refusals:
        with pytest.raises(DepositTokenError, match=message), ledger.session() as session:
            auth.add_user(session, *args, **kwargs, actor="test")
    with ledger.session() as session:
        assert [u.username for u in auth.list_users(session)] == ["maria", "vic"]
        assert actions(session) == ["console.user_added", "console.user_added"]


def test_login_session_csrf_and_logout(ledger, team):
    with ledger.session() as session:
        auth.add_user(session, "maria", PASSWORD, "maker", operator="ana", actor="test")
    done = auth.login(ledger, "maria", PASSWORD, source="127.0.0.1")
    with ledger.session() as session:
        stored = session.scalars(select(ConsoleSession)).one()
        assert stored.id != done.token and len(stored.id) == 64  # the ledger keeps the token's digest only
        live = auth.current(session, done.token)
        assert live is not None and live.user.username == "maria"
        assert auth.csrf_ok(live, done.csrf_token) and not auth.csrf_ok(live, None) and not auth.csrf_ok(live, "x" + done.csrf_token[1:])
        assert auth.current(session, "not-a-token") is None and auth.current(session, None) is None
    with ledger.session() as session:
        auth.logout(session, done.token)
    with ledger.session() as session:
        assert auth.current(session, done.token) is None  # ended: the cookie no longer opens anything
        assert actions(session) == ["console.user_added", "console.login", "console.logout"]


def test_wrong_passwords_lock_the_user_and_unknown_users_get_the_same_answer(ledger, team):
    with ledger.session() as session:
        auth.add_user(session, "bob", PASSWORD, "checker", operator="ben", actor="test")
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.LoginRefused, match=f"^{auth.REFUSED}$"):
            auth.login(ledger, "bob", "wrong password!", source="10.0.0.9")
    with pytest.raises(auth.LoginRefused, match="or the user is locked: try again after"):
        auth.login(ledger, "bob", PASSWORD, source="10.0.0.9")  # locked: the right password does not open it
    with pytest.raises(auth.LoginRefused, match=f"^{auth.REFUSED}$"):
        auth.login(ledger, "nobody", PASSWORD, source="10.0.0.9")
    later = utcnow() + timedelta(minutes=auth.LOCK_MINUTES, seconds=1)
    assert auth.login(ledger, "bob", PASSWORD, source="10.0.0.9", now=later).token
    with ledger.session() as session:
        assert session.scalars(select(ConsoleUser)).one().failed_logins == 0
        failed = [e.details["why"] for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "console.login_failed"))]
        assert failed == ["wrong password"] * 4 + [f"wrong password; locked for {auth.LOCK_MINUTES} minutes", "locked", "unknown user"]
        assert verify(session) == []  # every failure is in the hash chain


def test_sessions_end_when_idle_too_old_or_the_user_is_disabled(ledger, team):
    with ledger.session() as session:
        auth.add_user(session, "bob", PASSWORD, "checker", operator="ben", actor="test")
    start = utcnow()
    first = auth.login(ledger, "bob", PASSWORD, source="x", now=start)
    second = auth.login(ledger, "bob", PASSWORD, source="x", now=start)
    with ledger.session() as session:
        assert auth.current(session, first.token, now=start + timedelta(seconds=50), idle_seconds=60) is not None  # touched
        assert auth.current(session, first.token, now=start + timedelta(seconds=100), idle_seconds=60) is not None
        assert auth.current(session, first.token, now=start + timedelta(seconds=161), idle_seconds=60) is None  # idle 61 s
        assert auth.current(session, first.token, now=start + timedelta(seconds=162), idle_seconds=60) is None  # stays ended
        # touched every 10 minutes, it still ends MAX_HOURS after the login
        at = start
        while at < start + timedelta(hours=auth.MAX_HOURS) - timedelta(minutes=10):
            at += timedelta(minutes=10)
            assert auth.current(session, second.token, now=at) is not None
        assert auth.current(session, second.token, now=start + timedelta(hours=auth.MAX_HOURS, seconds=1)) is None
    third = auth.login(ledger, "bob", PASSWORD, source="x")
    with ledger.session() as session:
        auth.change_user(session, "bob", actor="admin", active=False)
    with ledger.session() as session:
        assert auth.current(session, third.token) is None
    with pytest.raises(auth.LoginRefused, match=f"^{auth.REFUSED}$"):
        auth.login(ledger, "bob", PASSWORD, source="x")
    with ledger.session() as session:
        assert session.scalar(select(func.count()).select_from(ConsoleSession).where(ConsoleSession.ended_at.is_(None))) == 0


def test_change_role_and_password(ledger, team):
    with ledger.session() as session:
        auth.add_user(session, "vic", PASSWORD, "viewer", actor="test")
        with pytest.raises(DepositTokenError, match="a checker acts as a ledger operator"):
            auth.change_user(session, "vic", actor="admin", role="checker")
        user = auth.change_user(session, "vic", actor="admin", role="checker", operator="chen")
        assert (user.role, user.operator.name) == ("checker", "chen")
        auth.change_user(session, "vic", actor="admin", password="another long password")
        with pytest.raises(DepositTokenError, match="nothing to change"):
            auth.change_user(session, "vic", actor="admin")
        with pytest.raises(DepositTokenError, match="no console user named 'ghost'"):
            auth.change_user(session, "ghost", actor="admin", active=False)
    with pytest.raises(auth.LoginRefused):
        auth.login(ledger, "vic", PASSWORD, source="x")
    assert auth.login(ledger, "vic", "another long password", source="x").token


def test_a_user_changes_their_own_password_and_an_admin_lifts_a_lockout(ledger, team):
    with ledger.session() as session:
        auth.add_user(session, "vic", PASSWORD, "viewer", actor="test")
    kept = auth.login(ledger, "vic", PASSWORD, source="x")
    for current, new, message in [("not my password!", "another long password", "^wrong current password$"),
                                  (PASSWORD, "short", "at least 12 characters"),
                                  (PASSWORD, PASSWORD, "^the new password is the current one$")]:
        with pytest.raises(DepositTokenError, match=message):
            auth.change_own_password(ledger, "vic", current, new)
    with ledger.session() as session:
        assert session.scalars(select(ConsoleUser)).one().failed_logins == 1  # the wrong one counted, nothing else changed
        assert auth.current(session, kept.token) is not None
    auth.change_own_password(ledger, "vic", PASSWORD, "another long password")
    with ledger.session() as session:
        assert auth.current(session, kept.token) is None  # every session of theirs ended
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "console.user_changed")).one()
        assert (entry.actor, entry.details) == ("vic", {"password": "changed"})
    assert auth.login(ledger, "vic", "another long password", source="x").token
    # wrong current passwords lock the user as wrong logins do; an admin lifts the lock
    for n in range(auth.MAX_FAILURES):
        with pytest.raises(DepositTokenError, match="wrong current password" + ("; locked for" if n == auth.MAX_FAILURES - 1 else "$")):
            auth.change_own_password(ledger, "vic", f"guess {n} of the password", "a third long password")
    with pytest.raises(auth.LoginRefused, match="or the user is locked"):
        auth.login(ledger, "vic", "another long password", source="x")
    with ledger.session() as session:
        auth.change_user(session, "vic", actor="admin", unlock=True)
    assert auth.login(ledger, "vic", "another long password", source="x").token
    with pytest.raises(DepositTokenError, match="^console user vic is not locked$"), ledger.session() as session:
        auth.change_user(session, "vic", actor="admin", unlock=True)
    with ledger.session() as session:
        assert actions(session)[-3:] == ["console.login_failed", "console.user_changed", "console.login"]
        assert verify(session) == []


def test_the_permissions_matrix_segregates_duties():
    rows = dict(matrix())
    assert set(rows) == set(PERMISSIONS) and all(len(r) == len(ROLES) for r in rows.values())
    assert all(may(role, "view") for role in ROLES)
    # nobody both proposes mints and approves them, or approves and executes; the admin transacts nothing
    for role in ROLES:
        assert not (may(role, "propose_mint") and may(role, "decide")), role
        assert not (may(role, "decide") and may(role, "execute")), role
    assert [r for r in ROLES if may(r, "manage_users")] == ["admin"]
    assert [p for p in PERMISSIONS if may("admin", p)] == ["view", "manage_users"]
    assert [p for p in PERMISSIONS if may("viewer", p)] == ["view"]
    assert [r for r in ROLES if may(r, "execute")] == ["treasury"]
    assert (proposal_permission("seize"), proposal_permission("pause"), proposal_permission("mint")) == (
        "propose_legal", "propose_pause", "propose_mint")
    with pytest.raises(DepositTokenError, match="not proposed from the console"):
        proposal_permission("operator")
    with pytest.raises(ValueError):
        may("viewer", "fly")


def test_failed_logins_from_one_address_are_throttled_whatever_the_usernames(tmp_path):
    from collections import deque

    from deptoken.console.app import LOGIN_TRIES_PER_SOURCE, LOGIN_WINDOW_SECONDS, Console

    console = Console(env=None, keys=None, work_dir=tmp_path)
    tries = console.failed_logins.setdefault("10.0.0.9", deque())
    for n in range(LOGIN_TRIES_PER_SOURCE - 1):
        tries.append(1000.0 + n)
    assert not console.throttled("10.0.0.9", 1100.0)
    tries.append(1100.0)
    assert console.throttled("10.0.0.9", 1100.0) and not console.throttled("10.0.0.10", 1100.0)
    assert not console.throttled("10.0.0.9", 1000.0 + LOGIN_WINDOW_SECONDS + LOGIN_TRIES_PER_SOURCE)  # the old ones left the window
