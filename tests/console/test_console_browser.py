"""The operations console in a real browser: Debian's chromium driven by Playwright for Python, against
``deptoken console`` serving a real ledger (SQLite file) over a standalone Anvil with the devnet token.

The bank: operators ana, ben, chen, dan (test accounts 10-13), the devnet's clients DEV-0007..9, and
console users with one role each (``USERS``). Operators sign with encrypted keystore files (a
passphrase typed into the form for each action), as a bank's would; the minter (account 2) and the
compliance role holder (account 3) have keystores for executing. Screenshots of every page are
written to ``var/test-artifacts/console/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from ops_support import Devnet, clone_devnet, free_port, token_balance, token_call_uint, token_total_supply

from constants import BIN, CONFIG, ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "var" / "test-artifacts" / "console"
PASSPHRASE = "keystore passphrase of the test"
OPERATORS = {"ana": 10, "ben": 11, "chen": 12, "dan": 13}
USERS = {  # username: (role, operator, password)
    "maria": ("maker", "ana", "maria's long password"),
    "bob": ("checker", "ben", "bob's long password!"),
    "carla": ("compliance", "chen", "carla's long password"),
    "tess": ("treasury", "dan", "tess's long password"),
    "vic": ("viewer", None, "vic's long password!"),
    "adam": ("admin", None, "adam's long password"),
}
A7, A8, A9 = ("0x14dC79964da2C08b23698B3D3cc7Ca32193d9955", "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
              "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720")  # DEV-0007..9


def devnet_key(index: int):
    from eth_account import Account

    from deptoken.accounts import DEVNET_HD_PATH, DEVNET_MNEMONIC

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEVNET_MNEMONIC, account_path=f"{DEVNET_HD_PATH}/{index}")


@dataclass
class Bank:
    net: Devnet
    url: str
    keystores: Path
    supply_before: int
    process: subprocess.Popen

    def rows(self, sql: str) -> list[tuple]:
        engine = sa.create_engine(self.net.db_url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql))]
        finally:
            engine.dispose()

    def count(self, table: str, where: str = "1=1") -> int:
        return self.rows(f"SELECT count(*) FROM {table} WHERE {where}")[0][0]  # noqa: S608


def start_console(net: Devnet, keystores: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([str(BIN / "deptoken"), "console", "--port", str(port), "--keystores", str(keystores),
                                "--work-dir", str(net.dir / "console"), *extra],
                               cwd=net.dir, env=net.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()  # "console: http://127.0.0.1:PORT/ ..." once it listens
    assert line.startswith(f"console: http://127.0.0.1:{port}/"), (line, process.stderr.read() if process.poll() is not None else "")
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def bank(deployed_devnet, tmp_path_factory) -> Bank:
    from eth_account import Account

    from deptoken.console.auth import add_user
    from deptoken.ops.db import Ledger

    net = clone_devnet(deployed_devnet, tmp_path_factory.mktemp("console") / "devnet")
    net.start()
    process = None
    try:
        net.ok("operators", "bootstrap", *(a for name, i in OPERATORS.items() for a in ("--operator", name, devnet_key(i).address, f"P-{name.upper()}")))
        net.ok("--adopt", "clients", "import", str(CONFIG / "devnet-kyc.csv"), "--as", "10")
        net.ok("clients", "apply")
        keystores = net.dir / "keystores"
        keystores.mkdir()
        for name, index in {**OPERATORS, "minter": 2, "compliance": 3}.items():  # pbkdf2, few rounds: a test's keystores
            sealed = Account.encrypt(devnet_key(index).key, PASSPHRASE, kdf="pbkdf2", iterations=2048)
            (keystores / f"{name}.json").write_text(json.dumps(sealed))
        ledger = Ledger(net.db_url)
        with ledger.session() as session:
            for username, (role, operator, password) in USERS.items():
                add_user(session, username, password, role, operator=operator, actor="test set-up")
        ledger.dispose()
        supply = token_total_supply(net)
        process, url = start_console(net, keystores)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        yield Bank(net, url, keystores, supply, process)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=20)
        net.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def log_in(browser, bank: Bank, username: str, password: str | None = None):
    """A new browser context (its own cookies) logged in as ``username``; its page on the dashboard."""
    context = browser.new_context(base_url=bank.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/")
    assert page.url.endswith("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or USERS[username][2])
    page.click("button.primary")
    page.wait_for_url(f"{bank.url}/")
    assert page.locator("#whoami").inner_text() == username
    return page


def lock_out(bank: Bank, username: str) -> None:
    """``username`` locked: as many wrong passwords as the lockout takes (through the library)."""
    from deptoken.console.auth import MAX_FAILURES, LoginRefused, login
    from deptoken.ops.db import Ledger

    ledger = Ledger(bank.net.db_url)
    for attempt in range(MAX_FAILURES):
        with pytest.raises(LoginRefused):
            login(ledger, username, f"wrong password {attempt}", source="test set-up")
    ledger.dispose()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def flash(page) -> str:
    return page.locator(".flash").first.inner_text()


def sign_and_submit(page, form: str, button: str, passphrase: str = PASSPHRASE) -> str:
    page.fill(f"{form} input[name=passphrase]", passphrase)
    page.click(button)
    page.wait_for_load_state()
    return flash(page)


def record_by_hand(maker, reference: str, client_id: str, amount: str) -> str:
    """The maker records a deposit by hand (signed with their keystore); the console's answer."""
    maker.goto("/deposits")
    maker.fill("#add-form input[name=reference]", reference)
    maker.fill("#add-form input[name=client_id]", client_id)
    maker.fill("#add-form input[name=amount]", amount)
    return sign_and_submit(maker, "#add-form", "#add-form button.primary")


def csrf_of(page) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value")


def forged_post(page, bank: Bank, path: str, form: dict[str, str]):
    """A POST the page's buttons do not offer, sent with the page's cookies (a forged form)."""
    return page.request.post(f"{bank.url}{path}", form=form, headers={"Origin": bank.url}, max_redirects=0)


def camt054(tmp_path: Path, credits: list[tuple[str, str, str]]) -> Path:
    from deptoken.iso20022 import Party
    from deptoken.iso20022.camt054 import build_camt054

    today = datetime.now(UTC).date()
    account = Party("Example Bank N.A. deposit token omnibus", "US", account="DE89370400440532013000")
    xml = build_camt054(message_id=f"NTF-{time.time_ns()}", created=datetime.now(UTC).replace(microsecond=0), account=account,
                        servicer_bic="EXBKUS33", credits=[(ref, Decimal(amount), "USD", today, client, None) for ref, client, amount in credits])
    path = tmp_path / "notification.xml"
    path.write_bytes(xml)
    return path


def request_ids(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"#(\d+)", text)]


# ---------------------------------------------------------------------------- the day's flow


def test_maker_uploads_checker_approves_treasury_mints_and_reconciles(bank, browser, tmp_path):
    """A maker uploads a camt.054 (checked line by line first), a checker approves with their keystore
    (a wrong passphrase first), treasury executes on Anvil and reconciles: the dashboard shows the new
    supply and reconciliation OK. A viewer and the maker cannot approve: no button, and a forged POST is refused."""
    maker = log_in(browser, bank, "maria")
    maker.goto("/deposits")
    maker.set_input_files("input[name=file]", str(camt054(tmp_path, [("NTF-DEP-1", "DEV-0007", "750.25"), ("NTF-DEP-2", "DEV-0008", "1500.00")])))
    maker.click("#preview")
    maker.wait_for_load_state()
    assert [r.inner_text().split("\t")[:3] for r in maker.locator("#planned tbody tr").all()] == [
        ["NTF-DEP-1", "DEV-0007", "750.25 EXUSD"], ["NTF-DEP-2", "DEV-0008", "1,500.00 EXUSD"]]
    assert "2 deposit(s), total 2,250.25 EXUSD" in maker.content()
    shot(maker, "deposits-preview")
    assert bank.count("deposits") == 0  # checked, nothing recorded yet
    text = sign_and_submit(maker, "#record-form", "#record")
    assert text.startswith("2 deposit(s) recorded; mint request(s) #"), text
    first, second = request_ids(text)
    assert bank.rows(f"SELECT status FROM requests WHERE id IN ({first}, {second})") == [("pending",), ("pending",)]

    # The maker may not approve (their role); a viewer sees no button, and a forged approval is refused.
    maker.goto(f"/requests/{first}")
    assert maker.locator("#approve").count() == 0
    refused = forged_post(maker, bank, f"/requests/{first}/approve", {"csrf": csrf_of(maker), "passphrase": PASSPHRASE})
    assert refused.status == 403 and "a maker may not approve or reject" in refused.text()
    viewer = log_in(browser, bank, "vic")
    viewer.goto(f"/requests/{first}")
    assert viewer.locator("#approve").count() == 0 and viewer.locator("#no-actions").count() == 1
    shot(viewer, "request-viewer")
    refused = forged_post(viewer, bank, f"/requests/{first}/approve", {"csrf": csrf_of(viewer), "passphrase": PASSPHRASE})
    assert refused.status == 403 and "a viewer may not approve or reject" in refused.text()
    assert bank.rows(f"SELECT status FROM requests WHERE id = {first}") == [("pending",)]
    assert bank.count("audit_log", "action = 'console.refused'") == 2

    # The checker: a wrong passphrase signs nothing; the right one approves.
    checker = log_in(browser, bank, "bob")
    assert checker.locator("#tile-mine .big").inner_text() == "2"  # waiting for bob
    checker.goto(f"/requests/{first}")
    assert checker.locator(".client-of").all_inner_texts() == ["Devnet Client Seven GmbH (DEV-0007)"]  # whom it pays
    shot(checker, "request-checker")
    assert sign_and_submit(checker, "#approve-form", "#approve", "not the passphrase") == "wrong passphrase for keystore ben.json"
    assert bank.count("approvals") == 0
    assert sign_and_submit(checker, "#approve-form", "#approve") == f"request #{first} approved: now approved"
    # 1,500.00 is above the policy's 1,000.00: a second checker (compliance) must approve too
    checker.goto(f"/requests/{second}")
    assert sign_and_submit(checker, "#approve-form", "#approve") == f"request #{second} approved: now pending"
    assert checker.locator("#approvals").inner_text() == "1 of 2 required"
    second_checker = log_in(browser, bank, "carla")
    second_checker.goto(f"/requests/{second}")
    assert sign_and_submit(second_checker, "#approve-form", "#approve") == f"request #{second} approved: now approved"

    # Treasury sends each mint with the minter's keystore, then reconciles and issues the camt.053.
    treasury = log_in(browser, bank, "tess")
    for request_id, address, units in ((first, A7, 75025), (second, A8, 150000)):
        before = token_balance(bank.net, address)
        treasury.goto(f"/requests/{request_id}")
        treasury.select_option("#execute-form select[name=keystore]", "minter.json")
        text = sign_and_submit(treasury, "#execute-form", "#execute")
        assert text.startswith(f"request #{request_id}: executed") and " tx 0x" in text, text
        assert token_balance(bank.net, address) - before == units
    assert "mined in block" in treasury.locator("#tx").inner_text()
    shot(treasury, "request-executed")
    treasury.goto("/reconcile")
    treasury.click("#run-reconciliation")
    treasury.wait_for_load_state()
    text = flash(treasury)
    assert re.fullmatch(r"reconciliation at block \d+: OK; camt\.053 statement DTS-\d{8}-\d+ issued", text), text
    assert treasury.locator("#last-result").inner_text() == "OK"
    shot(treasury, "reconcile")
    statement = treasury.locator("a[href^='/reconcile/statements/']").first
    with treasury.expect_download() as download:
        statement.click()
    saved = tmp_path / "statement.xml"
    download.value.save_as(saved)
    from deptoken.iso20022 import validate

    validate(saved.read_bytes(), "camt.053.001.08", source="downloaded statement")

    treasury.goto("/")
    supply = token_total_supply(bank.net)
    assert supply == bank.supply_before + 225025
    assert treasury.locator("#supply").inner_text() == f"{Decimal(supply) / 100:,.2f} EXUSD"
    assert treasury.locator("#reconciliation").inner_text() == "OK"
    treasury.wait_for_selector("#supply-chart[data-rendered=true]")
    shot(treasury, "dashboard")
    for page in (maker, viewer, checker, second_checker, treasury):
        page.context.close()


def test_a_self_approval_is_refused_and_a_legal_order_runs_through_the_same_workflow(bank, browser):
    """Compliance proposes freezing a client (signed with its keystore); it cannot approve its own
    request (no button; a forged POST is refused by the library); a checker approves; treasury sends it."""
    compliance = log_in(browser, bank, "carla")
    compliance.goto("/requests/new")
    compliance.select_option("select[name=kind]", "freeze")
    compliance.fill("input[name=account]", A9)
    compliance.fill("input[name=passphrase]", PASSPHRASE)
    compliance.click("button.primary")
    compliance.wait_for_load_state()
    text = flash(compliance)
    assert re.fullmatch(r"freeze request #\d+ awaits 1 approval\(s\)", text), text
    (request_id,) = request_ids(text)
    compliance.goto(f"/requests/{request_id}")
    assert compliance.locator("#approve").count() == 0  # its maker: not among those who may approve
    answer = forged_post(compliance, bank, f"/requests/{request_id}/approve", {"csrf": csrf_of(compliance), "passphrase": PASSPHRASE})
    assert answer.status == 303
    compliance.goto(f"/requests/{request_id}")
    assert flash(compliance) == f"operator chen made request #{request_id} and cannot approve or reject it"
    assert bank.rows(f"SELECT status FROM requests WHERE id = {request_id}") == [("pending",)]

    checker = log_in(browser, bank, "bob")
    checker.goto(f"/requests/{request_id}")
    assert sign_and_submit(checker, "#approve-form", "#approve") == f"request #{request_id} approved: now approved"
    treasury = log_in(browser, bank, "tess")
    treasury.goto(f"/requests/{request_id}")
    treasury.select_option("#execute-form select[name=keystore]", "compliance.json")
    assert sign_and_submit(treasury, "#execute-form", "#execute").startswith(f"request #{request_id}: executed")
    assert token_call_uint(bank.net, _calldata("isFrozen(address)", A9)) == 1
    treasury.goto("/clients/DEV-0009")
    assert "FROZEN" in treasury.locator("#on-chain").inner_text()
    shot(treasury, "client-frozen")
    # a pause proposed by compliance, rejected by the checker with a reason
    compliance.goto("/requests/new")
    compliance.select_option("select[name=kind]", "pause")
    compliance.fill("input[name=passphrase]", PASSPHRASE)
    compliance.click("button.primary")
    compliance.wait_for_load_state()
    (pause_id,) = request_ids(flash(compliance))
    checker.goto(f"/requests/{pause_id}")
    checker.fill("#reject-form input[name=reason]", "no incident declared")
    assert sign_and_submit(checker, "#reject-form", "#reject") == f"request #{pause_id} rejected: now rejected"
    assert bank.rows(f"SELECT status, reason FROM requests WHERE id = {pause_id}") == [("rejected", "rejected by ben: no incident declared")]
    assert token_call_uint(bank.net, "0x5c975abb") == 0  # paused(): still running
    for page in (compliance, checker, treasury):
        page.context.close()


def _calldata(signature: str, address: str) -> str:
    from eth_utils import keccak

    return "0x" + keccak(text=signature)[:4].hex() + address[2:].lower().rjust(64, "0")


# ---------------------------------------------------------------------------- the controls


def test_forms_without_a_csrf_token_or_from_another_origin_are_refused(bank, browser):
    page = log_in(browser, bank, "maria")
    deposits = bank.count("deposits")
    form = {"reference": "CSRF-1", "client_id": "DEV-0007", "amount": "1.00", "passphrase": PASSPHRASE}
    missing = page.request.post(f"{bank.url}/deposits/add", form=form, headers={"Origin": bank.url}, max_redirects=0)
    assert missing.status == 403 and "no valid security token (CSRF)" in missing.text()
    wrong = page.request.post(f"{bank.url}/deposits/add", form=form | {"csrf": "guessed"}, headers={"Origin": bank.url}, max_redirects=0)
    assert wrong.status == 403
    elsewhere = page.request.post(f"{bank.url}/deposits/add", form=form | {"csrf": csrf_of(page)},
                                  headers={"Origin": "http://evil.example"}, max_redirects=0)
    assert elsewhere.status == 403
    assert bank.count("deposits") == deposits and bank.count("audit_log", "action = 'console.refused'") >= 3

    # the cookie: not readable by scripts, never sent cross-site, only over a secure context
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "deptoken_console"]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    headers = page.request.get(f"{bank.url}/").headers
    assert headers["content-security-policy"].startswith("default-src 'none'; script-src 'self';")
    assert (headers["x-frame-options"], headers["x-content-type-options"], headers["cache-control"]) == ("DENY", "nosniff", "no-store")
    # logging out ends the session on the server: the old cookie opens nothing
    page.click("text=Log out")
    page.wait_for_url(f"{bank.url}/login")
    context = browser.new_context(base_url=bank.url)
    context.add_cookies([cookie])
    stale = context.new_page()
    stale.goto("/")
    assert stale.url.endswith("/login")
    context.close()
    page.context.close()


def test_wrong_passwords_are_refused_then_lock_the_user(bank, browser):
    from deptoken.console.auth import MAX_FAILURES

    context = browser.new_context(base_url=bank.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/login")
    for attempt in range(MAX_FAILURES):
        page.fill("input[name=username]", "adam")
        page.fill("input[name=password]", f"wrong password {attempt}")
        page.click("button.primary")
        page.wait_for_load_state()
        assert page.locator(".flash-error").inner_text() == "wrong username or password"
    shot(page, "login-refused")
    page.fill("input[name=username]", "adam")
    page.fill("input[name=password]", USERS["adam"][2])  # the right one: locked all the same
    page.click("button.primary")
    page.wait_for_load_state()
    assert page.locator(".flash-error").inner_text().startswith("wrong username or password, or the user is locked: try again after")
    assert page.url.endswith("/login")
    assert bank.rows("SELECT locked_until IS NOT NULL FROM console_users WHERE username = 'adam'") == [(1,)]
    context.close()


def test_a_user_changes_their_own_password_and_every_session_of_theirs_ends(bank, browser):
    from deptoken.console.auth import add_user
    from deptoken.ops.db import Ledger

    old, new = "pat's first password", "pat's second password"
    ledger = Ledger(bank.net.db_url)
    with ledger.session() as session:
        add_user(session, "pat", old, "viewer", actor="test set-up")
    ledger.dispose()
    elsewhere = log_in(browser, bank, "pat", old)  # a second session, on another machine
    page = log_in(browser, bank, "pat", old)
    page.click("#password-link")
    page.wait_for_url(f"{bank.url}/password")
    shot(page, "password")

    def change(current: str, new_password: str, confirm: str | None = None) -> None:
        page.fill("input[name=current]", current)
        page.fill("input[name=new]", new_password)
        page.fill("input[name=confirm]", new_password if confirm is None else confirm)
        page.click("#change-password")
        page.wait_for_load_state()

    for args, says in [(("not my password", new), "wrong current password"),
                       ((old, new, new + "!"), "the new password and its confirmation differ"),
                       ((old, "too short"), "a console password needs at least 12 characters"),
                       ((old, old), "the new password is the current one")]:
        change(*args)
        assert page.url.endswith("/password") and flash(page) == says, (args, flash(page))
    assert bank.rows("SELECT failed_logins FROM console_users WHERE username = 'pat'") == [(1,)]  # the wrong one counted
    change(old, new)
    assert page.url.endswith("/login?changed=1")
    assert page.locator(".flash-ok").inner_text() == "Your password was changed: log in with the new one."
    elsewhere.goto("/")
    assert elsewhere.url.endswith("/login")  # that session ended too
    assert bank.rows("SELECT actor, details FROM audit_log WHERE action = 'console.user_changed' AND subject = 'console user pat'") \
        == [("pat", '{"password": "changed"}')]
    page.fill("input[name=username]", "pat")
    page.fill("input[name=password]", old)
    page.click("button.primary")
    page.wait_for_load_state()
    assert page.locator(".flash-error").inner_text() == "wrong username or password"
    page.context.close()
    log_in(browser, bank, "pat", new).context.close()
    elsewhere.context.close()


def test_an_idle_session_ends_and_asks_for_the_login_again(bank, browser):
    process, url = start_console(bank.net, bank.keystores, "--idle-minutes", "0.05")  # 3 seconds
    try:
        context = browser.new_context(base_url=url)
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", "vic")
        page.fill("input[name=password]", USERS["vic"][2])
        page.click("button.primary")
        page.wait_for_url(f"{url}/")
        page.goto("/clients")  # activity keeps it open
        assert page.url.endswith("/clients")
        time.sleep(3.5)
        page.goto("/requests")
        assert page.url.endswith("/login")
        assert bank.count("audit_log", "action = 'console.session_ended'") >= 1
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_broken_deposit_file_shows_each_bad_line_and_records_nothing(bank, browser, tmp_path):
    bad = tmp_path / "deposits.csv"
    bad.write_text("bank_reference,client_id,amount,currency,value_date\n"
                   f"CSV-1,DEV-0007,10.00,USD,{date.today()}\n"
                   f"CSV-2,DEV-0007,10.001,USD,{date.today()}\n"
                   f"CSV-3,DEV-0008,5.00,EUR,{date.today()}\n"
                   "CSV-4,DEV-0008,5.00,USD,yesterday\n")
    deposits = bank.count("deposits")
    uploads = bank.net.dir / "console" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    stale, fresh = uploads / f"{'a' * 64}.xml", uploads / f"{'b' * 64}.csv"  # checked files nobody recorded
    for path, hours in ((stale, 9), (fresh, 7)):
        path.write_text("a bank statement")
        os.utime(path, (time.time() - hours * 3600,) * 2)
    page = log_in(browser, bank, "maria")
    page.goto("/deposits")
    page.set_input_files("input[name=file]", str(bad))
    page.click("#preview")
    page.wait_for_load_state()
    problems = [li.inner_text() for li in page.locator("#problems li").all()]
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5"], problems
    assert page.locator("#record").count() == 0
    # the bad file is not kept; one checked more than a session's 8 hours ago is removed, a younger one kept
    assert sorted(p.name for p in uploads.iterdir()) == [fresh.name]
    fresh.unlink()
    shot(page, "deposits-problems")
    page.goto("/deposits")
    page.set_input_files("input[name=file]", str(camt054(tmp_path, [("CSV-5", "DEV-0007", "1.00"), ("CSV-5", "DEV-0008", "2.00")])))
    page.click("#preview")
    page.wait_for_load_state()
    assert [li.inner_text() for li in page.locator("#problems li").all()] == [
        "notification.xml: 1 bad entry, nothing imported: entry 2: bank reference 'CSV-5' already used by entry 1"]
    assert bank.count("deposits") == deposits
    page.context.close()


# ---------------------------------------------------------------------------- every page


def test_every_page_renders_for_a_viewer_and_the_admin_manages_users(bank, browser):
    from playwright.sync_api import expect

    viewer = log_in(browser, bank, "vic")
    headings = {"/": "Dashboard", "/clients": "Clients", "/clients/DEV-0007": "Devnet Client Seven", "/requests": "Requests",
                "/deposits": "Deposits and mint requests", "/payouts": "Redemptions and payouts",
                "/reconcile": "Reconciliation", "/audit": "Audit log"}
    for path, heading in headings.items():
        response = viewer.goto(path)
        assert response.status == 200 and viewer.locator("h1").inner_text().startswith(heading), (path, viewer.locator("h1").inner_text())
        assert viewer.locator("#approve, #execute, #record, #export, #run-reconciliation").count() == 0, path
        shot(viewer, "page-" + (path.strip("/").replace("/", "-") or "dashboard"))
    # client search as the operator types (htmx): by name, then by address
    viewer.goto("/clients")
    viewer.fill("input[name=q]", "nine")  # no page evaluation: the content security policy forbids eval
    expect(viewer.locator("#client-rows tbody tr")).to_have_count(1)
    expect(viewer.locator("#client-rows tbody td").first).to_have_text("DEV-0009")
    viewer.fill("input[name=q]", A8.lower())
    expect(viewer.locator("#client-rows tbody td").first).to_have_text("DEV-0008")
    expect(viewer.locator("#client-rows tbody tr")).to_have_count(1)
    # the audit log: filter and verify the hash chain
    viewer.goto("/audit?action=console.&verify=1")
    assert viewer.locator("#verify-result").inner_text().startswith("Hash chain verified")
    assert all(cell.inner_text().startswith("console.") for cell in viewer.locator("tbody tr td:nth-child(4)").all())
    response = viewer.goto("/users")
    assert response.status == 403 and "a viewer may not add console users" in viewer.content()
    viewer.context.close()

    admin = log_in(browser, bank, "carla")  # compliance: not an admin either
    assert admin.goto("/users").status == 403
    admin.context.close()
    # (the admin "adam" is locked by the lockout test when it ran first: a second admin user is added here from the CLI)
    added = subprocess.run([str(BIN / "deptoken"), "console-users", "add", "ada", "--role", "admin", "--password-stdin"],
                           input="ada's long password\n", cwd=bank.net.dir, env=bank.net.env(), capture_output=True, text=True, timeout=60)
    assert added.returncode == 0 and added.stdout.strip() == "console user ada added (admin)", added
    refused = subprocess.run([str(BIN / "deptoken"), "console-users", "add", "eve", "--role", "root", "--password-stdin"],
                             input="eve's long password\n", cwd=bank.net.dir, env=bank.net.env(), capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and refused.stderr.strip().endswith("unknown console role 'root' (one of viewer, maker, checker, compliance, legal, treasury, admin)")
    admin = log_in(browser, bank, "ada", "ada's long password")
    admin.goto("/users")
    assert admin.locator("table.matrix tbody tr").count() == 9
    admin.fill("input[name=username]", "lena")
    admin.fill("input[name=password]", "lena's long password")
    admin.select_option("select[name=role]", "legal")
    admin.select_option("select[name=operator]", "chen")
    admin.click("#add-user")
    admin.wait_for_load_state()
    assert flash(admin) == "console user lena added"
    assert bank.rows("SELECT role FROM console_users WHERE username = 'lena'") == [("legal",)]
    # adam, locked (by the lockout test, or here when this test runs alone): the admin lifts the lock, and adam logs in
    if bank.rows("SELECT locked_until FROM console_users WHERE username = 'adam'") == [(None,)]:
        lock_out(bank, "adam")
        admin.goto("/users")
    admin.click("#unlock-adam")
    admin.wait_for_load_state()
    assert flash(admin) == "console user adam: unlock done" and admin.locator("#unlock-adam").count() == 0
    shot(admin, "users")
    assert bank.rows("SELECT locked_until FROM console_users WHERE username = 'adam'") == [(None,)]
    admin.context.close()
    log_in(browser, bank, "adam").context.close()
    lock_out(bank, "adam")  # and again, lifted from the command line
    unlocked = subprocess.run([str(BIN / "deptoken"), "console-users", "change", "adam", "--unlock"],
                              cwd=bank.net.dir, env=bank.net.env(), capture_output=True, text=True, timeout=60)
    assert unlocked.returncode == 0 and unlocked.stdout.strip() == "console user adam: admin, active", unlocked
    log_in(browser, bank, "adam").context.close()
    # the new legal user proposes a lien under a court order; pause is not among the kinds offered to the legal role
    legal = log_in(browser, bank, "lena", "lena's long password")
    legal.goto("/requests/new")
    assert legal.locator("select[name=kind] option").all_inner_texts() == ["freeze", "unfreeze", "lien", "seize", "recover"]
    legal.select_option("select[name=kind]", "lien")
    legal.fill("input[name=account]", A8)
    legal.fill("input[name=amount]", "10.00")
    legal.fill("input[name=passphrase]", PASSPHRASE)
    legal.click("button.primary")
    legal.wait_for_load_state()
    (lien_id,) = request_ids(flash(legal))
    assert bank.rows(f"SELECT kind, status, amount FROM requests WHERE id = {lien_id}") == [("lien", "pending", "1000")]
    refused = forged_post(legal, bank, "/requests/propose", {"csrf": csrf_of(legal), "kind": "pause", "passphrase": PASSPHRASE})
    assert refused.status == 303 and bank.count("requests", "kind = 'pause' AND status = 'pending'") == 0
    legal.goto("/requests")
    assert flash(legal) == "refused: a legal may not propose a pause"
    legal.context.close()


def test_a_redemption_is_paid_out_through_a_pacs008_file_marked_paid_by_another_operator(bank, browser, tmp_path):
    """A client redeems on-chain; treasury generates the pacs.008 (indexing first), downloads it, and
    cannot mark it paid itself (four eyes, by policy); a second treasury user does."""
    from web3 import Web3

    from deptoken.console.auth import add_user
    from deptoken.iso20022 import validate
    from deptoken.ops.db import Ledger
    from deptoken.references import Reference

    # the client's 50.00 first: a deposit recorded by hand, approved, sent
    maker = log_in(browser, bank, "maria")
    text = record_by_hand(maker, "HAND-1", "DEV-0007", "50.001")
    assert text == "amount '50.001' has more than 2 decimal places", text  # the library's check, one line
    text = record_by_hand(maker, "HAND-1", "DEV-0007", "50.00")
    assert re.fullmatch(r"deposit recorded; mint request #\d+ awaits 1 approval\(s\)", text), text
    (request_id,) = request_ids(text)
    checker = log_in(browser, bank, "bob")
    checker.goto(f"/requests/{request_id}")
    sign_and_submit(checker, "#approve-form", "#approve")
    treasury = log_in(browser, bank, "tess")
    treasury.goto(f"/requests/{request_id}")
    treasury.select_option("#execute-form select[name=keystore]", "minter.json")
    assert sign_and_submit(treasury, "#execute-form", "#execute").startswith(f"request #{request_id}: executed")

    record = json.loads(bank.net.record_path().read_text())
    token = Web3().eth.contract(address=record["token"], abi=record["abi"])
    data = token.encode_abi("redeem", [5000, Reference.parse("PAY-CONSOLE-1", "payout reference").bytes32])
    bank.net.rpc("eth_sendTransaction", {"from": A7, "to": record["token"], "data": data})
    ledger = Ledger(bank.net.db_url)
    with ledger.session() as session:
        add_user(session, "tom", "tom's long password!", "treasury", operator="chen", actor="test set-up")
    ledger.dispose()

    treasury.goto("/payouts")
    treasury.click("#export")
    treasury.wait_for_load_state()
    text = flash(treasury)
    assert re.fullmatch(r"payout file #(\d+) \(DTP-\d{14}-[0-9a-f]{8}\): 1 payout\(s\), 50\.00 EXUSD", text), text
    file_id = int(re.match(r"payout file #(\d+)", text).group(1))
    with treasury.expect_download() as download:
        treasury.click(f"a[href='/payouts/files/{file_id}']")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    validate(saved.read_bytes(), "pacs.008.001.08", source="downloaded payout file")
    assert b'Ccy="USD">50.00<' in saved.read_bytes()  # the one payout, in currency units
    treasury.fill(f"form[action='/payouts/files/{file_id}/paid'] input[name=reference]", "CORE-PAY-77")
    treasury.click(f"form[action='/payouts/files/{file_id}/paid'] button")
    treasury.wait_for_load_state()
    assert "exported" in flash(treasury) and bank.rows("SELECT status FROM redemptions") == [("instructed",)], flash(treasury)
    shot(treasury, "payouts")
    other = log_in(browser, bank, "tom", "tom's long password!")
    other.goto("/payouts")
    other.fill(f"form[action='/payouts/files/{file_id}/paid'] input[name=reference]", "CORE-PAY-77")
    other.click(f"form[action='/payouts/files/{file_id}/paid'] button")
    other.wait_for_load_state()
    assert flash(other) == f"payout file #{file_id}: 1 payout(s) marked paid"
    assert bank.rows("SELECT status, paid_reference FROM redemptions") == [("paid", "CORE-PAY-77")]
    for page in (maker, checker, treasury, other):
        page.context.close()


def test_other_operators_are_served_while_an_execution_waits_for_its_block(bank, browser):
    """Treasury executes a mint while the node mines nothing: the execution waits for its block, and
    meanwhile a viewer's dashboard is served at once and shows the transaction sent, not settled."""
    maker = log_in(browser, bank, "maria")
    (request_id,) = request_ids(record_by_hand(maker, "HAND-WAIT-1", "DEV-0008", "20.00"))
    checker = log_in(browser, bank, "bob")
    checker.goto(f"/requests/{request_id}")
    sign_and_submit(checker, "#approve-form", "#approve")
    treasury = log_in(browser, bank, "tess")
    treasury.goto(f"/requests/{request_id}")
    treasury.select_option("#execute-form select[name=keystore]", "minter.json")
    treasury.fill("#execute-form input[name=passphrase]", PASSPHRASE)
    viewer = log_in(browser, bank, "vic")
    balance = token_balance(bank.net, A8)
    bank.net.rpc("evm_setAutomine", False)
    try:
        treasury.click("#execute", no_wait_after=True)  # the POST waits for a block that does not come
        deadline = time.monotonic() + 20
        while bank.count("transactions", "status = 'broadcast'") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bank.count("transactions", "status = 'broadcast'") == 1  # sent, its receipt awaited
        started = time.monotonic()
        viewer.goto("/", timeout=5000)  # before: served after the execution, i.e. never while nothing is mined
        served = time.monotonic() - started
        assert viewer.locator("#tile-unsettled .big").inner_text() == "1", viewer.locator("#tile-unsettled").inner_text()
        assert bank.rows(f"SELECT status FROM requests WHERE id = {request_id}") == [("executing",)]
        assert token_balance(bank.net, A8) == balance
        print(f"dashboard served in {served * 1000:.0f} ms while an execution waited for its block")
    finally:
        bank.net.rpc("evm_setAutomine", True)
        bank.net.rpc("evm_mine")  # the waiting transaction's block
    treasury.wait_for_selector(".flash", timeout=20000)
    assert flash(treasury).startswith(f"request #{request_id}: executed"), flash(treasury)
    assert token_balance(bank.net, A8) == balance + 2000
    viewer.goto("/")
    assert viewer.locator("#tile-unsettled .big").inner_text() == "0"
    for page in (maker, checker, treasury, viewer):
        page.context.close()
