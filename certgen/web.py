"""The redemption page behind every QR code, staff sign-in, and a small JSON API.

Page rendering, sessions and CSRF live here; the rules live in ``redeem``. These HTML
templates are trusted files with autoescaping, kept apart from the designs' sandbox.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import date, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash, generate_password_hash

from certgen import catalog, codes, dashboard, palette, views, web_api
from certgen import redeem as redeem_mod
from certgen import text as text_mod
from certgen.clock import Clock
from certgen.config import Web, today_in
from certgen.errors import InputError, LedgerError
from certgen.ledger import CertificateRecord, Ledger, utc_now
from certgen.mail import Mailer, notify_redeemed, unsubscribing
from certgen.web_api import PUBLIC_FIELDS, hash_token, json_error


def N_(message: str) -> str:
    """Marks text for the message catalogues; translated where it is shown."""
    return message


WORDS = {
    "valid": N_("Valid"),
    "redeemed": N_("Already redeemed"),
    "expired": N_("Expired"),
    "voided": N_("Void"),
    "unknown": N_("Not a valid code"),
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # the URL holds a code: never pass it on
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",  # certificate pages are not for search engines
}
# /scan alone runs script: the app's own files and the decoder's WebAssembly, fetched from here.
SCAN_POLICY = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
    "style-src 'self'; img-src 'self'; media-src 'self' blob: mediastream:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# /dashboard runs the app's own scripts (Chart.js and dashboard.js) and nothing else.
DASHBOARD_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SIGN_IN_WINDOW = 900.0  # seconds over which sign-in tries are counted, per account and address
FREE_TRIES = 3  # an account's tries before each must wait longer than the one before
MAX_BACKOFF = 300.0
TOUCH = 60.0  # a session's last use is written at most once a minute
LEDGER_WAIT = 4.0  # seconds a request waits for a busy ledger before it answers 503
MAX_BODY = 64 * 1024  # bytes: a sign-in form or an API call is a few hundred
VIEW_REPEAT = 60.0  # seconds in which another opening of a page is the same look
RECENT = timedelta(minutes=10)  # a redemption this fresh is shown as this visit's: green
SEARCH_PAGE = 20  # results a page
LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}
NEXT_PAGES = ("/r/", "/search", "/scan", "/dashboard")  # where signing in may lead back to


def hash_password(password: str) -> str:
    return generate_password_hash(password)


class Limiter:
    """At most ``limit`` counted events per client address in any 60 seconds."""

    def __init__(self, limit: int, window: float = 60.0):
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._swept = time.monotonic()

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again; 0 if it may now."""
        with self._lock:
            hits = self._hits.get(client)
            if hits is None:
                return 0
            now = time.monotonic()
            while hits and now - hits[0] > self.window:
                hits.popleft()
            if not hits:
                del self._hits[client]  # forget idle addresses: memory stays bounded
                return 0
            return int(self.window - (now - hits[0])) + 1 if len(hits) >= self.limit else 0

    def __len__(self) -> int:
        return len(self._hits)

    def hit(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._hits[client].append(now)
            if now - self._swept > self.window:  # addresses that never came back: forgotten
                self._swept = now
                for idle in [c for c, hits in self._hits.items() if now - hits[-1] > self.window]:
                    del self._hits[idle]


def create_app(ledger: Ledger, web: Web, mailer: Mailer | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder="web_templates",
        static_folder="web_static",
        static_url_path="/static",
    )
    app.secret_key = web.secret_key
    secure_cookies = web.secure_cookies
    if secure_cookies is None:  # behind https, as base_url says: the cookie never goes plain
        secure_cookies = web.base_url.startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=web.session_minutes),
        MAX_CONTENT_LENGTH=MAX_BODY,
    )
    lookups = Limiter(web.lookups_per_minute)
    idle = web.session_minutes * 60
    unknown = hash_password(secrets.token_urlsafe(16))  # checked for names that are not staff
    sites = {_origin(web.base_url)} if web.base_url else set()
    if web.proxies:  # limits count real clients, not the proxy, behind nginx or Caddy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=web.proxies, x_proto=web.proxies)  # type: ignore[method-assign]

    looks = views.Recorder(
        lambda batch: ledger.record_views(batch, within=VIEW_REPEAT), repeat=VIEW_REPEAT
    )
    app.extensions["certgen.views"] = looks  # flush() it to see views at once (tests)

    def notify(record: CertificateRecord | None) -> None:
        """The referrer's thank-you, off the request: a slow mail server never holds it up."""
        if mailer is not None and record is not None:
            threading.Thread(
                target=notify_redeemed, args=(ledger, mailer, record), daemon=True
            ).start()

    @app.after_request
    def secure(response: Response) -> Response:
        response.headers.update(HEADERS)
        if request.endpoint == "scan":
            response.headers["Content-Security-Policy"] = SCAN_POLICY
        elif request.endpoint == "dashboard_page":
            response.headers["Content-Security-Policy"] = DASHBOARD_POLICY
        elif request.endpoint in ("static", "brand_css"):  # the app's own: revalidated
            response.headers["Cache-Control"] = "no-cache"
        if secure_cookies:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    @app.before_request
    def bounded() -> None:
        """A body over MAX_BODY is refused before anything reads it, on every route."""
        if (request.content_length or 0) > MAX_BODY:
            abort(413, f"The request is over {MAX_BODY // 1024} KiB.")

    @app.before_request
    def same_site() -> None:
        """A form POST from another site is refused, whatever its cookie: browsers name the
        page a POST came from (Origin, else Referer). The API (a bearer token) and the
        one-click unsubscribe (a signed link, posted by mail servers) need no cookie."""
        if request.method != "POST" or request.path.startswith(("/api/", "/unsubscribe/")):
            return
        sent = request.headers.get("Origin") or request.headers.get("Referer")
        if sent and sent != "null" and _origin(sent) not in {*sites, _origin(request.host_url)}:
            abort(403, "This form was sent from another site; open the page here and try again.")

    def staff() -> str | None:
        """The signed-in staff member: the cookie names a session, the ledger says whether
        it is still open (signed out, person removed, idle too long: it is not)."""
        if "staff" not in g:
            sid = session.get("sid")
            g.staff = (
                ledger.session_staff(hash_token(sid), time.time(), idle, TOUCH) if sid else None
            )
            if sid and g.staff is None:
                session.pop("sid", None)
        return cast(str | None, g.staff)

    def owner() -> bool:
        """Whether the signed-in staff member has the owner role (the dashboard is theirs)."""
        if "owner" not in g:
            name = staff()
            g.owner = name is not None and ledger.staff_role(name) == "owner"
        return cast(bool, g.owner)

    def csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return str(session["csrf"])

    def check_csrf() -> None:
        sent = request.form.get("csrf", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(400, "The form has expired or did not come from this site. Reload and try again.")

    app.jinja_env.globals.update(
        csrf_token=csrf_token, staff=staff, owner=owner, branded=bool(web.color)
    )
    # Page text goes through gettext: the catalogue a request chose (g.translations), else
    # the English source.
    app.jinja_env.add_extension("jinja2.ext.i18n")
    english = catalog.translations("en")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: g.get("translations", english).gettext(message),
        ngettext=lambda one, many, n: g.get("translations", english).ngettext(one, many, n),
        newstyle=True,
    )
    translated = {"en", *catalog.languages()}
    app.jinja_env.filters.update(tel=text_mod.tel, link=text_mod.link)
    clock = Clock(web.timezone, web.locale)
    has_logo = web.logo is not None and web.logo.suffix.lower() in LOGO_TYPES

    @app.errorhandler(400)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(413)
    @app.errorhandler(429)
    def error(exc: Any) -> Any:
        if request.path.startswith("/api/"):
            return json_error(exc.code, "refused", str(exc.description))
        return render_template("error.html", message=exc.description), exc.code

    @app.errorhandler(LedgerError)
    def ledger_busy(exc: LedgerError) -> Any:
        """A locked, unreachable or damaged ledger: 503 with Retry-After, never a 500, and
        within LEDGER_WAIT seconds; the client tries again."""
        message = "The ledger is busy or unreachable; try again in a few seconds."
        headers = {"Retry-After": "5"}
        if request.path.startswith("/api/"):
            response = json_error(503, "unavailable", message)
            response.headers.update(headers)
            return response
        return render_template("error.html", message=message), 503, headers

    @app.get("/")
    def home() -> str:
        return render_template("home.html")

    @app.get("/r")
    def lookup_form() -> Any:
        typed = codes.normalize(request.args.get("code", ""))  # one canonical URL a code
        return redirect(url_for("certificate", text=typed or "-"))

    @app.get("/r/<path:text>")
    def certificate(text: str) -> Any:
        client = request.remote_addr or "unknown"
        person = staff()
        if not person:
            wait = lookups.retry_after(client)
            if wait:
                return _too_many(wait)
        code, record = redeem_mod.find(ledger, text)
        state = redeem_mod.status(record, today_in(web.timezone))
        if state == "voided" and not person:
            # To the public a voided code is no code: which codes were once real (a lost
            # batch voided) is the business's to know, not a guesser's.
            record, state = None, "unknown"
        if state == "unknown" and not person:
            lookups.hit(client)
        if record is not None and not person and views.counts(request.method, request.headers):
            looks.saw(record.code, utc_now())
        shown = {
            "code": code,
            "display": codes.display(code) if code and record else None,
            "record": record,
            "state": state,
            "word": WORDS[state],
            "public": {k: record.data.get(k) for k in PUBLIC_FIELDS} if record else {},
            "expires": text_mod.date(record.expires_on) if record and record.expires_on else None,
        }
        if not person:  # the friend's page speaks the certificate's language
            wanted = record.data.get("locale") if record else None
            locale = catalog.page_locale(wanted, web.locale)
            if locale.language not in translated:  # no catalogue: all of it in English
                locale = catalog.page_locale("en", "en")
            lang = locale.language
            g.translations = catalog.translations(lang)
            if record and record.expires_on:
                shown["expires"] = catalog.long_date(record.expires_on, locale)
            return render_template(
                "certificate.html",
                **shown | {"word": g.translations.gettext(WORDS[state])},
                lang=lang,
                book_url=web.book_url,
                book_label=web.book_label,
                has_logo=has_logo,
            )
        outcome = session.pop("outcome", None)
        if outcome and outcome.get("code") != code:
            outcome = None
        now = dt.datetime.now(dt.UTC)
        return render_template(
            "staff_certificate.html",
            **shown,
            history=ledger.events(code) if record and code else [],
            outcome=outcome,
            recent=record is not None and _recent(record.redeemed_at, now, RECENT),
            undoable=record is not None
            and not record.converted_at
            and _recent(record.redeemed_at, now, timedelta(minutes=web.undo_minutes)),
            when=lambda at: clock.ago(at, now),
            undo_minutes=web.undo_minutes,
        )

    @app.post("/r/<path:text>/redeem")
    def redeem(text: str) -> Any:
        name = signed_in("redeem")
        result = redeem_mod.redeem(
            ledger, text, actor=name, channel="web", today=today_in(web.timezone)
        )
        if result.outcome is redeem_mod.Outcome.REDEEMED:
            notify(result.record)
        else:
            word = WORDS.get(_state(result, today_in(web.timezone)), "Refused")
            flash(result, word)
        return redirect(url_for("certificate", text=result.code), code=303)

    @app.post("/r/<path:text>/unredeem")
    def unredeem(text: str) -> Any:
        name = signed_in("undo a redemption")
        reason = request.form.get("reason", "").strip()
        if not reason:
            abort(400, "Say why the redemption is undone, then try again.")
        window = timedelta(minutes=web.undo_minutes)
        result = redeem_mod.unredeem(
            ledger, text, reason=reason[:500], actor=name, channel="web", window=window
        )
        flash(result, "Redemption undone" if result.outcome.ok else "Not undone")
        return redirect(url_for("certificate", text=result.code), code=303)

    @app.post("/r/<path:text>/convert")
    def convert(text: str) -> Any:
        name = signed_in("record a customer")
        try:
            result = redeem_mod.convert(
                ledger,
                text,
                actor=name,
                value=request.form.get("value", "").strip() or None,
                note=request.form.get("note", "").strip()[:500] or None,
                channel="web",
                unredeemed=request.form.get("unredeemed") == "1",
            )
        except InputError as exc:
            abort(400, exc.problems[0].message + ": write the amount like 120.50")
        flash(result, "Became a customer" if result.outcome.ok else "Not recorded")
        return redirect(url_for("certificate", text=result.code), code=303)

    def signed_in(action: str) -> str:
        """The staff member posting a form from this site, or 403."""
        check_csrf()
        name = staff()
        if not name:
            abort(403, f"Sign in as staff to {action}.")
        return name

    def flash(result: redeem_mod.Result, word: str) -> None:
        """What a POST did, shown once by the page it redirects to."""
        session["outcome"] = {
            "code": result.code,
            "ok": result.outcome.ok,
            "word": word,
            "message": result.message,
        }

    brand = palette.stylesheet(web.color).encode() if web.color else b""

    @app.get("/brand.css")
    def brand_css() -> Any:
        """The business's colour as the custom properties style.css reads (a file, not an
        inline style: the pages' CSP allows only the app's own stylesheets)."""
        return Response(brand, mimetype="text/css", headers={"Cache-Control": "no-cache"})

    @app.get("/logo")
    def logo() -> Any:
        if web.logo is None or web.logo.suffix.lower() not in LOGO_TYPES:
            abort(404, "This business has no logo to show.")
        return send_file(web.logo, mimetype=LOGO_TYPES[web.logo.suffix.lower()])

    @app.get("/search")
    def search() -> Any:
        if not staff():
            return redirect(url_for("signin", next=request.full_path), code=303)
        query = request.args.get("q", "").strip()[:200]
        page = max(request.args.get("page", 1, type=int) or 1, 1)
        code = redeem_mod.find(ledger, query)[0] if query else None
        if code is not None and ledger.get(code) is not None:
            return redirect(url_for("certificate", text=code), code=303)
        found = ledger.search(query, offset=(page - 1) * SEARCH_PAGE, limit=SEARCH_PAGE + 1)
        return render_template(
            "search.html",
            query=query,
            results=found[:SEARCH_PAGE],
            page=page,
            more=len(found) > SEARCH_PAGE,
            today=today_in(web.timezone),
            status=redeem_mod.status,
            display=codes.display,
        )

    @app.get("/scan")
    def scan() -> Any:
        if not staff():
            return redirect(url_for("signin", next=request.path), code=303)
        return render_template("scan.html")

    @app.get("/dashboard")
    def dashboard_page() -> Any:
        if not staff():
            return redirect(url_for("signin", next=request.path), code=303)
        if not owner():
            abort(
                403,
                "The dashboard is for owners. An owner can give you the role: "
                f"certgen staff set {staff()} --role owner",
            )
        since, until = _day(request.args, "since"), _day(request.args, "until")
        if since and until and since > until:
            abort(400, f"“Issued from” ({since}) is after “through” ({until}): swap them.")
        period = request.args.get("period", "week")
        if period not in dashboard.PERIODS:
            abort(400, f"Show the time by {' or '.join(dashboard.PERIODS)}.")
        shown = dashboard.build(
            ledger, today_in(web.timezone), since=since, until=until, period=period
        )
        return render_template("dashboard.html", **dashboard.context(shown), business=web.business)

    @app.route("/signin", methods=["GET", "POST"])
    def signin() -> Any:
        target = request.values.get("next", "")
        target = target if target.startswith(NEXT_PAGES) else url_for("home")
        if request.method == "GET":
            return render_template("signin.html", next=target, failed=False)
        check_csrf()
        name = request.form.get("name", "").strip()
        now = time.time()
        account = f"account:{name.casefold()[:200]}"  # the key column holds 300
        address = f"address:{request.remote_addr}"
        seen = ledger.sign_in_attempt([account, address], now, SIGN_IN_WINDOW)
        wait = account_wait(seen[account], now, web.sign_ins_per_account)
        if not wait and len(seen[address]) > web.sign_ins_per_address and len(seen[account]) > 1:
            # A busy address (one shop, many staff) still signs in to an account with no
            # recent tries; guessing across accounts from it gets one try each.
            wait = int(SIGN_IN_WINDOW - (now - seen[address][0])) + 1
        if wait:
            return _too_many(wait)  # refused before any check
        stored = ledger.password_hash(name)
        # An unknown name costs the same hash check as a known one: timing tells nothing.
        right = check_password_hash(stored or unknown, request.form.get("password", ""))
        if stored is None or not right:
            return render_template("signin.html", next=target, failed=True), 401
        ledger.clear_sign_in(account)
        sid = secrets.token_urlsafe(32)
        ledger.start_session(hash_token(sid), name, now, idle)
        session.clear()
        session.permanent = True
        session.update(sid=sid, csrf=secrets.token_urlsafe(32))
        return redirect(target, code=303)

    @app.post("/signout")
    def signout() -> Any:
        check_csrf()
        if session.get("sid"):
            ledger.end_session(hash_token(session["sid"]))
        session.clear()
        return redirect(url_for("home"), code=303)

    @app.get("/unsubscribe/<token>")
    def unsubscribe_form(token: str) -> Any:
        address = _unsubscribing(web, token)
        done = address.lower() in ledger.unsubscribed([address])
        return render_template("unsubscribe.html", address=address, done=done)

    @app.post("/unsubscribe/<token>")
    def unsubscribe(token: str) -> Any:
        """One click (RFC 8058): a mail client's POST, or the page's button. The signed
        link is the only credential: no cookie, so no CSRF token, is needed or used."""
        address = _unsubscribing(web, token)
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        ledger.unsubscribe(address, at=at, actor="web")
        return render_template("unsubscribe.html", address=address, done=True)

    web_api.register(app, ledger, notify, web)
    return app


def _unsubscribing(web: Web, token: str) -> str:
    address = unsubscribing(web.secret_key, token)
    if address is None:
        abort(404, "This unsubscribe link is not one of ours, or it was cut short.")
    return address


def account_wait(tries: list[float], now: float, limit: int) -> int:
    """Seconds an account must wait before its password is checked again (0: check now).
    ``tries`` are its attempts in the window, oldest first, this one last: past ``limit``
    it waits for the oldest to leave the window; after FREE_TRIES, each try waits twice as
    long after the one before (1, 2, 4 ... seconds, at most MAX_BACKOFF)."""
    if len(tries) > limit:
        return int(SIGN_IN_WINDOW - (now - tries[0])) + 1
    if len(tries) > FREE_TRIES:
        need = min(2.0 ** (len(tries) - 1 - FREE_TRIES), MAX_BACKOFF)
        since = now - tries[-2]
        if since < need:
            return int(need - since) + 1
    return 0


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL, in lower case."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _recent(at: str | None, now: dt.datetime, within: timedelta) -> bool:
    """Whether the recorded UTC time ``at`` is at most ``within`` before ``now``."""
    return at is not None and now - dt.datetime.fromisoformat(at) <= within


def _state(result: redeem_mod.Result, today: date) -> str:
    return redeem_mod.status(result.record, today) if result.record else "unknown"


def _day(args: Any, name: str) -> date | None:
    """A YYYY-MM-DD query argument (empty: none); another form is a 400 that says so."""
    text = args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(400, f"“{text}” is not a day: write it as YYYY-MM-DD, like 2026-11-30.")


def _too_many(wait: int) -> tuple[str, int, dict[str, str]]:
    page = render_template("error.html", message="Too many attempts. Wait a minute and try again.")
    return page, 429, {"Retry-After": str(wait)}
