"""Gas benchmark: DepositToken (behind its proxy) against a plain OpenZeppelin ERC-20, same chain, same run.

``measure()`` deploys both on the connected devnet (Anvil), brings them to the same steady state and
sends each operation as its own transaction, so every one starts with cold storage and accounts, as
a real one would. Figures are the receipts' ``gasUsed`` (after refunds): on Anvil they are exact and
repeatable for the same bytecode, state and calldata. ``scripts/benchmark.py`` prints them.

Steady state, for both tokens:
- mint: to a holder that already has a balance, total supply already non-zero (DepositToken: by the
  minter, within its allowance, against a new deposit reference);
- transfer (existing holder): sender and recipient both hold a balance, which stays non-zero;
- transfer (fresh recipient): recipient holds nothing (DepositToken: allowlisted, holding 0, as every
  recipient must be allowlisted);
- approve: a new allowance (0 to N);
- transferFrom: with the allowance set in an earlier transaction, which stays non-zero, to a holder;
- redeem (DepositToken only; the baseline has no burn): part of the holder's balance.

The amounts, addresses and call order are the same for both tokens, so calldata costs match.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address

from ..config import DeployConfig, load_config
from ..errors import DepositTokenError
from ..project import project_root
from ..signers import DEVNET_CHAIN_ID, select_signer

DEVNET_CONFIG = Path("config") / "devnet.yaml"  # in the project directory: devnet_config()



def devnet_config() -> Path:
    """The devnet's deploy configuration of the project (``deptoken.project``)."""
    return project_root() / DEVNET_CONFIG


# DepositToken's runtime code in bytes: at most this, leaving room under EIP-170's 24,576 (the rarely
# called administration paths run in DepositTokenAdmin, see contracts/token/DepositTokenAdmin.sol)
RUNTIME_SIZE_LIMIT = 21_600
EIP170_LIMIT = 24_576

# operation -> maximum DepositToken gasUsed
TARGETS: dict[str, int] = {
    "transfer (existing holder)": 42_000,
    "transfer (fresh recipient)": 59_000,
    "transferFrom": 50_500,
}
OPERATIONS = (
    "mint",
    "transfer (existing holder)",
    "transfer (fresh recipient)",
    "approve",
    "transferFrom",
    "redeem",
)

INITIAL = 1_000_000_00  # minor units each holder starts with (1,000,000.00)
AMOUNT = 125_50  # minor units per measured operation (125.50)
ALLOWANCE = 10_000_00
MINTER_ALLOWANCE = 10**15
YEAR = 365 * 24 * 3600
# Holds nothing; never signs, so it need not be an account we hold a key for.
FRESH_RECIPIENT = to_checksum_address(keccak(b"deptoken benchmark: fresh recipient")[-20:])


@dataclass(frozen=True)
class Row:
    operation: str
    baseline: int | None  # gasUsed; None: the baseline has no such operation
    deposit_token: int
    target: int | None

    @property
    def ratio(self) -> float | None:
        return self.deposit_token / self.baseline if self.baseline else None

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.deposit_token <= self.target

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 3)
        data["passed"] = self.passed
        return data


@dataclass(frozen=True)
class Result:
    rows: tuple[Row, ...]
    addresses: dict[str, str]

    @property
    def passed(self) -> bool:
        return all(row.passed is not False for row in self.rows)

    def row(self, operation: str) -> Row:
        return next(r for r in self.rows if r.operation == operation)

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "rows": [r.to_json() for r in self.rows], "contracts": self.addresses}


def measure(config: DeployConfig | None = None) -> Result:
    """Deploys both tokens on the connected devnet and returns each operation's gasUsed.

    Role holders and the minter are the test accounts the devnet configuration names (Anvil
    accounts 0, 1, 3-6 and 2); holders A and B and the spender are accounts 7, 8 and 9.
    """
    from ape import accounts, chain, project

    from ..accounts import as_ape_account
    from .deployer import deploy_token

    config = config or load_config(devnet_config())
    test = accounts.test_accounts
    admin, minter_admin, compliance, minter = (
        as_ape_account(select_signer(chain_id=DEVNET_CHAIN_ID, role=role, config=config))
        for role in ("admin", "minter_admin", "compliance", "minter")
    )
    holder_a, holder_b, spender = test[7], test[8], test[9]
    role_holders = {a.address for a in (admin, minter_admin, compliance)}
    if role_holders & {minter.address, holder_a.address, holder_b.address, spender.address}:
        raise DepositTokenError("devnet config: the minter and accounts 7-9 must not hold the admin, minter-admin or compliance role")

    # ------------------------------------------------------------- deployment and setup (not measured)
    baseline = admin.deploy(project.BaselineERC20)
    token, _ = deploy_token(config, admin, record=False)
    token.configureMinter(minter, MINTER_ALLOWANCE, sender=minter_admin)
    expiry = chain.pending_timestamp + YEAR
    token.allowlistBatch([holder_a, holder_b, spender, FRESH_RECIPIENT], [expiry] * 4, sender=compliance)
    for i, holder in enumerate((holder_a, holder_b), start=1):
        token.mint(holder, INITIAL, _ref("setup deposit", i), sender=minter)
        baseline.mint(holder, INITIAL, sender=minter)

    # ------------------------------------------------------------- measured: one transaction each
    dt: dict[str, int] = {}
    base: dict[str, int] = {}
    dt["mint"] = token.mint(holder_a, AMOUNT, _ref("deposit", 1), sender=minter).gas_used
    base["mint"] = baseline.mint(holder_a, AMOUNT, sender=minter).gas_used
    dt["transfer (existing holder)"] = token.transfer(holder_b, AMOUNT, sender=holder_a).gas_used
    base["transfer (existing holder)"] = baseline.transfer(holder_b, AMOUNT, sender=holder_a).gas_used
    dt["transfer (fresh recipient)"] = token.transfer(FRESH_RECIPIENT, AMOUNT, sender=holder_a).gas_used
    base["transfer (fresh recipient)"] = baseline.transfer(FRESH_RECIPIENT, AMOUNT, sender=holder_a).gas_used
    dt["approve"] = token.approve(spender, ALLOWANCE, sender=holder_a).gas_used
    base["approve"] = baseline.approve(spender, ALLOWANCE, sender=holder_a).gas_used
    dt["transferFrom"] = token.transferFrom(holder_a, holder_b, AMOUNT, sender=spender).gas_used
    base["transferFrom"] = baseline.transferFrom(holder_a, holder_b, AMOUNT, sender=spender).gas_used
    dt["redeem"] = token.redeem(AMOUNT, _ref("payout", 1), sender=holder_a).gas_used

    _check_end_state(token, baseline, holder_a, holder_b, spender)
    rows = tuple(Row(op, base.get(op), dt[op], TARGETS.get(op)) for op in OPERATIONS)
    return Result(rows, {"DepositToken (proxy)": token.address, "BaselineERC20": baseline.address})


def runtime_size(contract_name: str = "DepositToken") -> int:
    """Bytes of the compiled runtime code of ``contract_name`` (EIP-170 limits it to 24,576)."""
    from ape import project

    code = getattr(project, contract_name).contract_type.runtime_bytecode.bytecode
    return len(bytes.fromhex(code.removeprefix("0x")))


def format_size(size: int) -> str:
    """One line: the token's runtime size against its limit and EIP-170's."""
    verdict = "PASS" if size <= RUNTIME_SIZE_LIMIT else "FAIL"
    return (f"DepositToken runtime code: {size:,} bytes (limit {RUNTIME_SIZE_LIMIT:,}; "
            f"EIP-170 {EIP170_LIMIT:,}, {EIP170_LIMIT - size:,} to spare)  {verdict}")


def _ref(kind: str, n: int) -> bytes:
    return keccak(f"deptoken benchmark {kind} {n}".encode())


def _check_end_state(token: Any, baseline: Any, holder_a: Any, holder_b: Any, spender: Any) -> None:
    """The measured transactions did what they should, on both tokens alike (redeem aside)."""
    a_base = INITIAL + AMOUNT - 3 * AMOUNT
    expected = {
        "baseline": (baseline, a_base, INITIAL + 2 * AMOUNT),
        "DepositToken": (token, a_base - AMOUNT, INITIAL + 2 * AMOUNT),
    }
    for name, (contract, a, b) in expected.items():
        got = (contract.balanceOf(holder_a), contract.balanceOf(holder_b), contract.balanceOf(FRESH_RECIPIENT))
        if got != (a, b, AMOUNT) or contract.allowance(holder_a, spender) != ALLOWANCE - AMOUNT:
            raise DepositTokenError(f"benchmark: unexpected end state on {name}: balances {got}")


def format_table(result: Result) -> str:
    header = ("operation", "baseline", "DepositToken", "ratio", "target", "result")
    lines = []
    for r in result.rows:
        lines.append(
            (
                r.operation,
                "n/a" if r.baseline is None else f"{r.baseline:,}",
                f"{r.deposit_token:,}",
                "n/a" if r.ratio is None else f"{r.ratio:.2f}x",
                "-" if r.target is None else f"<= {r.target:,}",
                "-" if r.passed is None else ("PASS" if r.passed else "FAIL"),
            )
        )
    widths = [max(len(row[i]) for row in (header, *lines)) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]
        return "  ".join(cells)

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *map(fmt, lines)])
