"""Per-minter rate limits: besides its allowance, a minter may mint at most `capacity` per `period`
seconds, refilling linearly (as Paxos's SupplyControl/RateLimit do); set by the minter admin.
Time moves on Anvil (set_time / next_tx_at), so refills are exact."""

from __future__ import annotations

import pytest

from helpers import MAX_UINT128, ZERO_ADDRESS, ev, events, next_tx_at, ref, reverts, role_id

DAY = 24 * 3600
CAPACITY = 1_000_000  # minor units per day


def test_no_rate_limit_by_default(token, minter):
    assert token.minterRateLimitOf(minter) == (0, 0, 0)


def test_set_rate_limit(token, minter_admin, minter):
    receipt = token.setMinterRateLimit(minter, CAPACITY, DAY, sender=minter_admin)
    assert events(receipt) == [ev("MinterRateLimitSet", minter=minter, capacity=CAPACITY, period=DAY)]
    assert token.minterRateLimitOf(minter) == (CAPACITY, DAY, CAPACITY)


def test_only_minter_admin_sets_rate_limit(token, minter, admin, carol):
    role = role_id("MINTER_ADMIN_ROLE")
    for caller in (minter, admin, carol):
        with reverts(token.AccessControlUnauthorizedAccount, account=caller, neededRole=role):
            token.setMinterRateLimit(minter, CAPACITY, DAY, sender=caller)
    assert token.minterRateLimitOf(minter) == (0, 0, 0)


def test_invalid_rate_limits(token, minter_admin, minter):
    for capacity, period in ((CAPACITY, 0), (0, DAY), (MAX_UINT128 + 1, DAY), (CAPACITY, 2**64)):
        with reverts(token.InvalidRateLimit, capacity=capacity, period=period):
            token.setMinterRateLimit(minter, capacity, period, sender=minter_admin)
    with reverts(token.InvalidAccount, account=ZERO_ADDRESS):
        token.setMinterRateLimit(ZERO_ADDRESS, CAPACITY, DAY, sender=minter_admin)


def test_exhaustion_is_refused_then_refills_over_time(chain, token, minter_admin, minter, alice):
    start = chain.pending_timestamp + 10
    next_tx_at(chain, start)
    token.setMinterRateLimit(minter, CAPACITY, DAY, sender=minter_admin)
    allowance = token.minterAllowance(minter)

    next_tx_at(chain, start + 1)
    token.mint(alice, 600_000, ref("rl 1"), sender=minter)
    next_tx_at(chain, start + 2)
    token.mint(alice, 400_000, ref("rl 2"), sender=minter)  # 400,000 left + 11 refilled in 1 s: 11 remain
    balance = token.balanceOf(alice)

    # one second later another CAPACITY / DAY (11, rounded down) has refilled: 22
    next_tx_at(chain, start + 3)
    with reverts(token.MinterRateLimitExceeded, minter=minter, available=2 * (CAPACITY // DAY), amount=1000):
        token.mint(alice, 1000, ref("rl 3"), sender=minter)
    assert token.balanceOf(alice) == balance
    # the refused mint took nothing: neither the allowance nor the deposit reference
    assert token.minterAllowance(minter) == allowance - CAPACITY
    assert not token.isDepositRefUsed(ref("rl 3"))

    # half a period later, half the capacity is back (plus what refilled before)
    next_tx_at(chain, start + 2 + DAY // 2)
    token.mint(alice, 500_000, ref("rl 3"), sender=minter)
    assert token.balanceOf(alice) == balance + 500_000

    # the refill never exceeds the capacity, however long the minter waits
    next_tx_at(chain, start + 30 * DAY)
    with reverts(token.MinterRateLimitExceeded, minter=minter, available=CAPACITY, amount=CAPACITY + 1):
        token.mint(alice, CAPACITY + 1, ref("rl 4"), sender=minter)
    token.mint(alice, CAPACITY, ref("rl 4"), sender=minter)
    capacity, period, available = token.minterRateLimitOf(minter)
    assert (capacity, period) == (CAPACITY, DAY) and available <= CAPACITY // DAY + 1


def test_allowance_still_applies_within_rate_limit(token, minter_admin, minter, alice):
    token.configureMinter(minter, 100, sender=minter_admin)
    token.setMinterRateLimit(minter, CAPACITY, DAY, sender=minter_admin)
    with reverts(token.MinterAllowanceExceeded, minter=minter, allowance=100, amount=101):
        token.mint(alice, 101, ref("rl allowance"), sender=minter)


def test_lifting_the_rate_limit(token, minter_admin, minter, alice):
    token.setMinterRateLimit(minter, 10, DAY, sender=minter_admin)
    with reverts(token.MinterRateLimitExceeded, minter=minter, available=10, amount=11):
        token.mint(alice, 11, ref("rl lift 1"), sender=minter)
    receipt = token.setMinterRateLimit(minter, 0, 0, sender=minter_admin)
    assert events(receipt) == [ev("MinterRateLimitSet", minter=minter, capacity=0, period=0)]
    token.mint(alice, 11, ref("rl lift 1"), sender=minter)
    assert token.minterRateLimitOf(minter) == (0, 0, 0)


def test_rate_limits_are_per_minter(token, minter_admin, minter, carol, alice):
    token.configureMinter(carol, CAPACITY, sender=minter_admin)
    token.setMinterRateLimit(minter, 10, DAY, sender=minter_admin)
    token.mint(alice, 1000, ref("rl other"), sender=carol)  # carol has no rate limit
    assert token.minterRateLimitOf(carol) == (0, 0, 0)
    assert token.minterRateLimitOf(minter)[2] == 10


# ------------------------------------------------------------------ the Python side


def test_python_read_set_describe_and_mint_budget(token, minter_admin, minter, carol):
    from deptoken.errors import DepositTokenError, RoleMissing
    from deptoken.token import TokenClient
    from deptoken.token.rate_limits import UNLIMITED, describe, read_rate_limit

    client = TokenClient(token)
    none = read_rate_limit(token, minter)
    assert not none.limited and none.left == UNLIMITED and describe(none, str) == "no rate limit"
    with pytest.raises(DepositTokenError):
        client.set_minter_rate_limit(minter, "1.00", 0, sender=minter_admin)
    # refused before anything is sent: the role, the address, the amount's decimals, the 128-bit capacity
    for args, sender, error in (
        ((minter, "3.00", DAY), carol, f"{carol.address} lacks the minter_admin role needed to set minter rate limits"),
        ((ZERO_ADDRESS, "3.00", DAY), minter_admin, "minter must not be the zero address"),
        ((minter, "3.001", DAY), minter_admin, "rate limit '3.001' has more than 2 decimal places"),
        ((minter, "0", "1d"), minter_admin, "a rate limit needs a capacity and a period above zero (both zero: no limit)"),
        ((minter, str(2**128), DAY), minter_admin, "is more than the token can hold (2^128 - 1 minor units)"),
    ):
        with pytest.raises(DepositTokenError) as refused:
            client.set_minter_rate_limit(*args, sender=sender)
        assert error in str(refused.value) and "\n" not in str(refused.value)
        assert isinstance(refused.value, RoleMissing) == (sender is carol)
    assert read_rate_limit(token, minter) == none

    receipt = client.set_minter_rate_limit(minter, "3.00", "1d", sender=minter_admin)
    assert events(receipt) == [ev("MinterRateLimitSet", minter=minter, capacity=300, period=DAY)]
    limit = read_rate_limit(token, minter)
    assert (limit.capacity, limit.period, limit.available, limit.left) == (300, DAY, 300, 300)
    assert describe(limit, lambda units: f"{units / 100:.2f}") == "rate limit left 3.00 of 3.00 per day"

    # the off-chain budget for mints sent before any is mined counts the rate limit too
    take = TokenClient(token).mint_budget(minter)
    assert take(200) is None
    symbol = token.symbol()
    assert take(101) == f"minter {minter.address}'s rate limit leaves 1.00 {symbol} to mint now, less than 1.01 {symbol}"
    assert take(100) is None

    client.set_minter_rate_limit(minter, "0", 0, sender=minter_admin)  # lifted
    assert token.minterRateLimitOf(minter) == (0, 0, 0)


def test_python_configure_minter_with_a_rate_limit(token, minter_admin, carol):
    from deptoken.errors import InvalidInput
    from deptoken.token import TokenClient

    client = TokenClient(token)
    with pytest.raises(InvalidInput, match="rate limit period '0h' must be positive"):
        client.configure_minter(carol, "50", rate_limit=("10", "0h"), sender=minter_admin)
    assert token.minterAllowance(carol) == 0  # checked before the first transaction: nothing sent
    receipts = client.configure_minter(carol, "50", rate_limit=("10", 3600), sender=minter_admin)
    assert [events(r) for r in receipts] == [
        [ev("RoleGranted", role=role_id("MINTER_ROLE"), account=carol, sender=minter_admin),
         ev("MinterConfigured", minter=carol, allowance=5000)],
        [ev("MinterRateLimitSet", minter=carol, capacity=1000, period=3600)],
    ]
    assert token.minterRateLimitOf(carol) == (1000, 3600, 1000)
