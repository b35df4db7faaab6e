"""Onboarding, review renewals and offboarding: files checked whole, recorded as jobs, then applied
on-chain in allowlist batches through the outbox, resumably.

An import records one job per client and sends nothing. ``apply_jobs`` sends the pending jobs in
batches; a batch is stored before it is broadcast, so after an interruption ``apply_jobs`` first
settles the batch in flight (mined: done; provably never mined: pending again) and goes on from
there. A job whose on-chain state is already what it asks for is marked done without a transaction.
Importing the same file again adds nothing.

The bank's own addresses are no clients: an import given the token (``ops``) refuses the token
contract itself, every holder of one of its roles (minters included), the operators and any address
with contract code (an EIP-7702 delegated account is an account, not a contract), unless the policy
names the address in ``client_addresses_allowed``. Each job records the operator who imported it;
with the policy's ``clients_second_approver`` a job is sent only once another operator approved it
(``approve_jobs``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..times import parse_expiry
from ..errors import DepositTokenError
from . import audit, outbox
from .context import IssuerContext
from .csvfiles import RowProblem, problems_summary
from .faults import checkpoint
from .kyc import PayoutAccount, read_kyc_file, read_offboarding_file, read_renewal_file
from .models import AllowlistJob, Client, Operator, Transaction
from .statuses import ClientStatus, JobAction, JobStatus, TransactionStatus

Progress = Callable[[int, str], None]  # (jobs done, what completed: for a cron log)


@dataclass(frozen=True)
class ImportResult:
    run: str
    added: int  # new jobs
    unchanged: int  # rows already recorded exactly so
    payout_accounts: int = 0  # clients whose payout account a renewal changed


def _run_id(path: Path, action: str) -> str:
    return f"{action}:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"


def _reject(path: Path, problems: Sequence[RowProblem]) -> None:
    if problems:
        raise DepositTokenError(problems_summary(path, sorted(problems, key=lambda p: p.line)) + "; nothing recorded")


_DELEGATION = bytes.fromhex("ef0100")  # EIP-7702: an account delegating to code is still an account


def bank_addresses(session: Session, ops: IssuerContext) -> dict[str, str]:
    """The bank's own addresses and what each is: the token, its role holders, the operators."""
    own = {ops.token: "is the token contract itself"}
    for role, holders in ops.client.role_holders().items():
        for address in holders:
            own.setdefault(address, f"holds the token's {role} role")
    for operator in session.scalars(select(Operator)):
        own.setdefault(operator.address, f"is operator {operator.name}")
    return own


def _is_contract(address: str) -> bool:
    from ..chain import code_at

    code = code_at(address)
    return bool(code) and not code.startswith(_DELEGATION)


def import_clients(
    session: Session, path: str | Path, *, today: date, actor: str, ops: IssuerContext | None = None, maker: Operator | None = None
) -> ImportResult:
    """Records the clients of a KYC file and an onboarding job for each (made by ``maker``); all rows
    checked first (the file's own rules, clashes with clients already in the ledger and, given
    ``ops``, with the bank's own addresses and contracts)."""
    path = Path(path)
    records, problems = read_kyc_file(path, today=today)
    if ops is not None:
        allowed = set(ops.policy.client_addresses_allowed)
        own = bank_addresses(session, ops)
        for r in records:
            if r.address in allowed:
                continue
            if r.address in own:
                problems.append(RowProblem(r.line, f"address {r.address} {own[r.address]}: the bank's own, not a client"))
            elif _is_contract(r.address):
                problems.append(RowProblem(r.line, f"address {r.address} is a contract, not a client's account"))
    by_id = {c.client_id: c for c in session.scalars(select(Client).where(Client.client_id.in_([r.client_id for r in records])))}
    by_address = {c.address: c for c in session.scalars(select(Client).where(Client.address.in_([r.address for r in records])))}
    new, unchanged = [], 0
    for r in records:
        known, holder = by_id.get(r.client_id), by_address.get(r.address)
        if holder is not None and holder.client_id != r.client_id:
            problems.append(RowProblem(r.line, f"address {r.address} belongs to client {holder.client_id}"))
        elif known is not None and known.address != r.address:
            problems.append(RowProblem(r.line, f"client {r.client_id} holds {known.address}, not {r.address} (a lost key goes through `legal recover`)"))
        elif known is not None and known.status == ClientStatus.OFFBOARDED:
            problems.append(RowProblem(r.line, f"client {r.client_id} was offboarded"))
        elif known is not None and r.payout is not None and _payout_of(known) != r.payout:
            problems.append(RowProblem(r.line, f"client {r.client_id} is onboarded with another payout account: "
                                               "a renewal file changes it"))
        elif known is not None:
            unchanged += 1
        else:
            new.append(r)
    _reject(path, problems)
    run = _run_id(path, "onboard")
    for r in new:
        client = Client(client_id=r.client_id, address=r.address, legal_name=r.legal_name, country=r.country,
                        lei=r.lei, review_date=r.review_date, status=ClientStatus.PENDING,
                        payout_account=r.payout.account if r.payout else None, payout_bic=r.payout.bic if r.payout else None)
        session.add(client)
        session.add(AllowlistJob(run=run, action=JobAction.ONBOARD, client=client, address=r.address, maker_id=_id(maker),
                                 expiry=parse_expiry(r.review_date), review_date=r.review_date, status=JobStatus.PENDING))
    audit.record(session, actor, "clients.import", str(path.name), {"run": run, "added": len(new), "unchanged": unchanged})
    return ImportResult(run, len(new), unchanged)


def _payout_of(client: Client) -> PayoutAccount | None:
    return PayoutAccount(client.payout_account, client.payout_bic) if client.payout_account else None


def _id(operator: Operator | None) -> int | None:
    return operator.id if operator is not None else None


def _clients(session: Session, ids: Sequence[str]) -> dict[str, Client]:
    return {c.client_id: c for c in session.scalars(select(Client).where(Client.client_id.in_(list(ids))))}


def import_renewals(
    session: Session, path: str | Path, *, today: date, actor: str, maker: Operator | None = None
) -> ImportResult:
    """Records a renewal job (new allowlist expiry) for each client of the file whose review date
    changes, and the new payout accounts it gives (audited, effective for the next payout export)."""
    path = Path(path)
    records, problems = read_renewal_file(path, today=today)
    known = _clients(session, [r.client_id for r in records])
    for r in records:
        client = known.get(r.client_id)
        if client is None or client.status not in ("active", "pending"):
            problems.append(RowProblem(r.line, f"client {r.client_id} is {'unknown' if client is None else client.status}"))
    _reject(path, problems)
    run = _run_id(path, "renew")
    added = unchanged = payouts = 0
    for r in records:
        client = known[r.client_id]
        if r.payout is not None and r.payout != _payout_of(client):  # takes effect at once (next payout export)
            audit.record(session, actor, "client.payout_account", r.client_id,
                         {"from": client.payout_account, "from_bic": client.payout_bic, "to": r.payout.account,
                          "to_bic": r.payout.bic, "run": run})
            client.payout_account, client.payout_bic = r.payout.account, r.payout.bic
            payouts += 1
        if client.review_date == r.review_date:
            unchanged += 1
            continue
        client.review_date = r.review_date
        session.add(AllowlistJob(run=run, action=JobAction.RENEW, client=client, address=client.address, maker_id=_id(maker),
                                 expiry=parse_expiry(r.review_date), review_date=r.review_date, status=JobStatus.PENDING))
        added += 1
    audit.record(session, actor, "clients.renew", str(path.name),
                 {"run": run, "added": added, "unchanged": unchanged, "payout_accounts": payouts})
    return ImportResult(run, added, unchanged, payouts)


def import_offboarding(session: Session, path: str | Path, *, actor: str, maker: Operator | None = None) -> ImportResult:
    """Records an offboarding job for each client of the file (its balance stays, immobile)."""
    path = Path(path)
    records, problems = read_offboarding_file(path)
    known = _clients(session, [r.client_id for r in records])
    for r in records:
        client = known.get(r.client_id)
        if client is None:
            problems.append(RowProblem(r.line, f"client {r.client_id} is unknown"))
    _reject(path, problems)
    run = _run_id(path, "offboard")
    added = unchanged = 0
    for r in records:
        client = known[r.client_id]
        if client.status in ("offboarding", "offboarded"):
            unchanged += 1
            continue
        client.status = ClientStatus.OFFBOARDING
        session.add(AllowlistJob(run=run, action=JobAction.OFFBOARD, client=client, address=client.address, maker_id=_id(maker),
                                 status=JobStatus.PENDING))
        audit.record(session, actor, "client.offboard", r.client_id, {"reason": r.reason, "run": run})
        added += 1
    return ImportResult(run, added, unchanged)


def approve_jobs(session: Session, approver: Operator, *, run: str | None = None) -> int:
    """``approver`` approves the pending jobs (of import ``run``, or all) that another operator
    imported; refuses if they imported any of them. The number approved."""
    query = select(AllowlistJob).where(AllowlistJob.status == JobStatus.PENDING, AllowlistJob.approved_by_id.is_(None))
    if run is not None:
        query = query.where(AllowlistJob.run == run)
    jobs = list(session.scalars(query.order_by(AllowlistJob.id)))
    own = [job for job in jobs if job.maker_id is None or job.maker_id == approver.id]
    if own:
        who = "no operator" if own[0].maker_id is None else f"operator {approver.name}"
        raise DepositTokenError(f"allowlist job #{own[0].id} (run {own[0].run}) was imported by {who}: "
                                f"another operator than its importer approves it; nothing approved")
    for job in jobs:
        job.approved_by_id = approver.id
    if jobs:
        audit.record(session, approver.name, "allowlist.approve", f"{len(jobs)} jobs",
                     {"run": run, "jobs": [job.id for job in jobs]})
    return len(jobs)


@dataclass(frozen=True)
class ApplyResult:
    transactions: int
    done: int
    already: int  # already so on-chain: no transaction needed
    expired: int = 0  # review date passed before the job could be applied: set aside, not sent


def _complete(session: Session, jobs: Sequence[AllowlistJob]) -> None:
    for job in jobs:
        job.status = JobStatus.DONE
        if job.action == JobAction.OFFBOARD:
            job.client.status = ClientStatus.OFFBOARDED
        elif job.client.status == ClientStatus.PENDING:
            job.client.status = ClientStatus.ACTIVE


def _settle_sent(session: Session, actor: str) -> int:
    """Jobs left ``sent`` by an interruption: done if their batch was mined, else pending again."""
    settled = 0
    sent = session.scalars(select(AllowlistJob).where(AllowlistJob.status == JobStatus.SENT)).all()
    for tx_id in sorted({job.tx_id for job in sent if job.tx_id is not None}):
        tx = outbox.resolve(session, session.get(Transaction, tx_id))
        batch = [job for job in sent if job.tx_id == tx_id]
        if tx.status == TransactionStatus.MINED:
            _complete(session, batch)
            _audit_batch(session, actor, batch, tx, settled=True)
            settled += len(batch)
        else:
            for job in batch:
                job.status, job.tx_id = JobStatus.PENDING, None
    session.commit()
    return settled


def _audit_batch(session: Session, actor: str, batch: Sequence[AllowlistJob], tx: Transaction, *, settled: bool = False) -> None:
    action = "remove" if batch[0].action == JobAction.OFFBOARD else "add"
    details = {"jobs": [job.id for job in batch]} | ({"settled_after_interruption": True} if settled else {})
    audit.record(session, actor, f"allowlist.{action}", f"{len(batch)} accounts", details,
                 tx_hash=tx.tx_hash, block_number=tx.block_number)


def _already_applied(ops: IssuerContext, jobs: Sequence[AllowlistJob]) -> list[AllowlistJob]:
    """The jobs whose change the chain already shows (applied some other way): no transaction needed."""
    expiries = ops.client.allowlist_expiries([job.address for job in jobs])
    return [job for job in jobs if expiries[job.address] == (0 if job.action == JobAction.OFFBOARD else job.expiry)]


def apply_jobs(session: Session, ops: IssuerContext, sender: object, *, actor: str, progress: Progress | None = None) -> ApplyResult:
    """Applies every pending job on-chain in batches (see the module docstring); commits as it goes."""
    from ..chain import next_block_time

    done = _settle_sent(session, actor)
    transactions = already = expired = 0
    size = ops.policy.batch_size
    ready = AllowlistJob.status == JobStatus.PENDING
    if ops.policy.clients_second_approver:  # jobs wait for another operator's approval
        ready = ready & AllowlistJob.approved_by_id.is_not(None)
    while True:
        pending = session.scalars(select(AllowlistJob).where(ready).order_by(AllowlistJob.id).limit(size)).all()
        if not pending:
            break
        action = pending[0].action
        batch = [job for job in pending if (job.action == JobAction.OFFBOARD) == (action == "offboard")]
        skip = _already_applied(ops, batch)
        if skip:
            _complete(session, skip)
            session.commit()
            already += len(skip)
            if progress:
                progress(len(skip), f"{len(skip)} job(s) already so on-chain ({', '.join(job.client.client_id for job in skip)})")
            continue
        now = next_block_time()
        stale = [job for job in batch if job.expiry is not None and job.expiry <= now]
        if stale:  # one stale job must not hold up the queue behind it
            for job in stale:
                job.status = JobStatus.EXPIRED
            audit.record(session, actor, "allowlist.expired", f"{len(stale)} jobs",
                         {"jobs": [job.id for job in stale], "clients": [job.client.client_id for job in stale]})
            session.commit()
            expired += len(stale)
            continue
        tx = _send_batch(session, ops, batch, sender)
        if tx.status != TransactionStatus.MINED:
            raise DepositTokenError(f"allowlist batch transaction {tx.tx_hash} reverted; {len(batch)} jobs left pending")
        _complete(session, batch)
        _audit_batch(session, actor, batch, tx)
        session.commit()
        transactions += 1
        done += len(batch)
        if progress:
            progress(len(batch), f"batch of {len(batch)} {action} job(s) ({', '.join(job.client.client_id for job in batch)}) "
                                 f"tx {tx.tx_hash} block {tx.block_number}")
        checkpoint("after_batch")
    return ApplyResult(transactions, done, already, expired)


def _send_batch(session: Session, ops: IssuerContext, batch: Sequence[AllowlistJob], sender: object) -> Transaction:
    def link(tx: Transaction) -> None:
        """pending -> sent in one conditional UPDATE: a second applier racing for the batch is refused
        here, before its transaction is stored or broadcast."""
        ids = [job.id for job in batch]
        claimed = session.execute(
            update(AllowlistJob).where(AllowlistJob.id.in_(ids), AllowlistJob.status == JobStatus.PENDING).values(status=JobStatus.SENT, tx_id=tx.id)
        ).rowcount
        if claimed != len(ids):
            raise DepositTokenError(f"allowlist jobs {ids[0]}..{ids[-1]} were taken by another run")
        for job in batch:
            job.status, job.tx_id = JobStatus.SENT, tx.id

    try:
        client = ops.client.with_transport(outbox.transport(session, purpose=f"allowlist {len(batch)} jobs from #{batch[0].id}", link=link))
        if batch[0].action == JobAction.OFFBOARD:
            return client.remove_from_allowlist_many([j.address for j in batch], sender=sender, batch_size=len(batch))[0]
        return client.allowlist_many([(j.address, j.expiry) for j in batch], sender=sender, batch_size=len(batch))[0]
    except DepositTokenError:
        session.rollback()
        raise


def pending_jobs(session: Session) -> int:
    return len(session.scalars(select(AllowlistJob.id).where(AllowlistJob.status.in_(["pending", "sent"]))).all())
