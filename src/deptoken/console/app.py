"""The console's web application (Starlette, Jinja2 templates): sessions, CSRF, security headers, and
the one rule every page follows (``page``): a logged-in user whose console role has the permission,
on the server, before anything runs. The pages themselves are in ``pages``.

Pages are served from worker threads, so that one operator's page does not wait for another's action
(an execution waits for its block). Actions (POSTs) run one at a time (``Console.actions``), as the CLI
runs one command at a time: one sender's nonces, one indexer sync, one reconciliation at once.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import DepositTokenError
from ..ops import audit
from . import auth
from .permissions import PERMISSIONS, ROLES, may
from .signing import Keys

HERE = Path(__file__).parent
COOKIE = "deptoken_console"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff", "x-frame-options": "DENY",
           "referrer-policy": "same-origin", "cache-control": "no-store", "cross-origin-opener-policy": "same-origin"}
LOGIN_WINDOW_SECONDS = 300
LOGIN_TRIES_PER_SOURCE = 20  # failed logins per client address per window, whatever the usernames


@dataclass(frozen=True)
class User:
    """The logged-in user as the pages see them (a snapshot; the session is checked on every request)."""

    username: str
    role: str
    operator: str | None
    address: str | None  # the operator's key
    session_id: str
    csrf: str

    def may(self, permission: str) -> bool:
        return may(self.role, permission)

    @property
    def actor(self) -> str:
        """Who the audit log names for a console action that the library does not sign."""
        return f"{self.operator or self.username} (console user {self.username})"


@dataclass
class Console:
    """What the pages work with: the CLI's ``Env`` (ledger, connected token, policy), the signing keys,
    the cookie's settings and the per-session flash messages."""

    env: Any  # the CLI's Env (deptoken.cli.env): ledger, ops (connects), policy, token
    keys: Keys
    secure_cookie: bool = True
    idle_seconds: int = auth.IDLE_MINUTES * 60
    work_dir: Path = Path("var/console")
    flashes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    failed_logins: dict[str, deque[float]] = field(default_factory=dict)
    actions: threading.Lock = field(default_factory=threading.Lock)  # held by each POST: one action at a time
    logins: threading.Lock = field(default_factory=threading.Lock)  # held by each login: failures counted in order
    connecting: threading.Lock = field(default_factory=threading.Lock)  # the node, connected once
    templates: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                                     trim_blocks=True, lstrip_blocks=True)
        self.templates.filters["money"] = self.money
        self.templates.filters["when"] = lambda v: "" if v is None else (
            datetime.fromtimestamp(v, UTC) if isinstance(v, int) else v).strftime("%Y-%m-%d %H:%M UTC")
        self.templates.filters["short"] = lambda v: "" if not v else f"{v[:8]}…{v[-6:]}" if len(v) > 20 else v
        self.templates.globals.update(ROLES=ROLES, PERMISSIONS=PERMISSIONS)
        self.work_dir.mkdir(parents=True, exist_ok=True)

    def money(self, units: Any) -> str:
        if units is None or units == "":
            return "—"
        try:
            return self.env.token.format(int(units))
        except DepositTokenError:
            return str(units)

    def render(self, request: Request, template: str, user: User | None, status_code: int = 200, **context: Any) -> HTMLResponse:
        flashes = self.flashes.pop(user.session_id, []) if user else []
        html = self.templates.get_template(template).render(request=request, user=user, flashes=flashes, **context)
        return HTMLResponse(html, status_code=status_code)

    def flash(self, user: User, kind: str, text: str) -> None:
        self.flashes.setdefault(user.session_id, []).append((kind, text))

    def throttled(self, source: str, now: float) -> bool:
        tries = self.failed_logins.setdefault(source, deque())
        while tries and tries[0] < now - LOGIN_WINDOW_SECONDS:
            tries.popleft()
        return len(tries) >= LOGIN_TRIES_PER_SOURCE


Handler = Callable[[Request, User, FormData | None], Response]


def same_origin(request: Request) -> bool:
    """A POST's Origin (or Referer) is this console's: a browser names the page a form came from."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return False
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


def page(permission: str = "view") -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A route for users with ``permission``: the session is checked (and refreshed) first; a POST must
    carry the session's CSRF token and come from this console's own pages. Refusals are audited."""
    if permission not in PERMISSIONS:
        raise ValueError(permission)

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form = await request.form(max_part_size=8 * 1024 * 1024) if request.method == "POST" else None
            return await run_in_threadpool(serve, request, form)

        def serve(request: Request, form: FormData | None) -> Response:
            console: Console = request.app.state.console
            token = request.cookies.get(COOKIE)
            with console.env.ledger.session() as session:
                live = auth.current(session, token, idle_seconds=console.idle_seconds)
                user = None if live is None else User(
                    live.user.username, live.user.role, live.user.operator.name if live.user.operator else None,
                    live.user.operator.address if live.user.operator else None, live.id, live.csrf_token)
                refusal = None
                if user is not None and form is not None and not (auth.csrf_ok(live, form.get("csrf")) and same_origin(request)):
                    refusal = "refused: this form has no valid security token (CSRF); reload the page and try again"
                elif user is not None and not user.may(permission):
                    refusal = f"refused: a {user.role} may not {PERMISSIONS[permission]}"
                if refusal is not None:
                    audit.record(session, user.username, "console.refused", request.url.path,
                                 {"method": request.method, "why": refusal})
            if user is None:
                if request.method == "GET" and not request.headers.get("hx-request"):
                    response: Response = RedirectResponse("/login", status_code=303)
                else:
                    response = HTMLResponse("your session has ended: log in again", status_code=401)
                if token:
                    response.delete_cookie(COOKIE, path="/")
                return response
            if refusal is not None:
                return console.render(request, "refused.html", user, status_code=403, message=refusal)
            if form is None:
                return handler(request, user, form)
            with console.actions:
                return handler(request, user, form)

        return endpoint

    return decorate


class SecurityHeaders:
    """Adds the content security policy and the other security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {k.decode().lower() for k, _ in headers}
                static = scope["path"].startswith("/static/")
                for name, value in HEADERS.items():
                    if name not in present and not (static and name == "cache-control"):
                        headers.append((name.encode(), value.encode()))
            await send(message)

        await self.app(scope, receive, with_headers)


def set_session_cookie(console: Console, response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, secure=console.secure_cookie, samesite="strict", path="/",
                        max_age=auth.MAX_HOURS * 3600)


def create_app(console: Console) -> Starlette:
    """The console application over ``console``."""
    from . import pages

    node_modules = _node_modules()
    routes = [
        Mount("/static/vendor/htmx", app=StaticFiles(directory=node_modules / "htmx.org" / "dist"), name="htmx"),
        Mount("/static/vendor/chartjs", app=StaticFiles(directory=node_modules / "chart.js" / "dist"), name="chartjs"),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        *pages.routes(),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        yield
        console.env.ledger.dispose()

    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)], lifespan=lifespan)
    app.state.console = console
    return app


def _node_modules() -> Path:
    """The project's ``node_modules`` (htmx and Chart.js, pinned in package.json, served from here: no CDN)."""
    from ..project import find_project_root

    root = find_project_root()
    folder = (root / "node_modules") if root else None
    if folder is None or not (folder / "htmx.org" / "dist" / "htmx.min.js").is_file() or not (folder / "chart.js" / "dist").is_dir():
        raise DepositTokenError("the console's scripts (htmx.org, chart.js) are not installed: run `make setup` (npm ci)")
    return folder
