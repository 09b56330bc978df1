"""The JSON API for point-of-sale systems: bearer tokens only, every POST safe to retry
with an Idempotency-Key, and its OpenAPI document. The rules live in ``redeem``; the pages
and sessions in ``web``."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, Response, abort, jsonify, request

from certgen import codes
from certgen import redeem as redeem_mod
from certgen.config import Web, today_in
from certgen.errors import InputError
from certgen.ledger import CertificateRecord, Ledger

# What the public may see of a certificate: the offer and the business, nothing personal.
PUBLIC_FIELDS = ("pain", "offer", "business", "phone", "website", "address")
REPLAY_FOR = 86400.0  # seconds an Idempotency-Key's answer is kept


def hash_token(token: str) -> str:
    """What the ledger keeps of a token (and of a session id): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def register(
    app: Flask, ledger: Ledger, notify: Callable[[CertificateRecord | None], None], web: Web
) -> None:
    """Token-only JSON endpoints for point-of-sale systems; cookies are never accepted here,
    so a cross-site request cannot act for a signed-in browser."""

    def token_staff() -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        bearer = scheme == "Bearer" and token
        name = ledger.staff_for_token(hash_token(token), time.time()) if bearer else None
        if name is None:
            why = "send Authorization: Bearer <staff token>; a token revoked or expired is refused"
            abort(json_error(401, "unauthorized", why))
        return name

    def describe(code: str, record: CertificateRecord) -> dict[str, Any]:
        return {
            "code": code,
            "display": codes.display(code),
            "status": redeem_mod.status(record, today_in(web.timezone)),
            "expires_on": record.expires_on,
            "redeemed_at": record.redeemed_at,
            "redeemed_by": record.redeemed_by,
            "converted_at": record.converted_at,
            "conversion_value": record.conversion_value,
            **{k: record.data.get(k) for k in PUBLIC_FIELDS},
        }

    @app.get("/api/certificates/<text>")
    def api_get(text: str) -> Any:
        token_staff()
        code, record = redeem_mod.find(ledger, text)
        if code is None:
            return json_error(400, "mistyped", "the check symbol does not match: a typo")
        if record is None:
            return json_error(404, "unknown", "no such certificate")
        return jsonify(describe(code, record))

    @app.post("/api/certificates/<text>/redeem")
    def api_redeem(text: str) -> Any:
        name = token_staff()
        return idempotent(name, lambda: redeem_reply(name, text))

    @app.post("/api/certificates/<text>/convert")
    def api_convert(text: str) -> Any:
        """The friend became a customer: JSON {"value": "120.50", "note": "...",
        "unredeemed": true}, all optional (unredeemed: bought without presenting it)."""
        name = token_staff()
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else {}
        value, note = body.get("value"), body.get("note")
        if value is not None and not isinstance(value, str | int | float):
            return json_error(400, "refused", 'value is an amount such as "120.50"')
        if note is not None and not isinstance(note, str):
            return json_error(400, "refused", "note is text")
        unredeemed = body.get("unredeemed", False)
        if not isinstance(unredeemed, bool):
            return json_error(400, "refused", "unredeemed is true or false")

        def reply() -> tuple[Response, int]:
            try:
                result = redeem_mod.convert(
                    ledger,
                    text,
                    actor=name,
                    value=None if value is None else str(value),
                    note=note[:500] if note else None,
                    channel="api",
                    unredeemed=unredeemed,
                )
            except InputError as exc:
                return json_error(400, "refused", exc.problems[0].message), 400
            return outcome_reply(result, {"converted": 200})

        return idempotent(name, reply)

    @app.post("/api/certificates/<text>/unredeem")
    def api_unredeem(text: str) -> Any:
        """Undo a redemption made within [web] undo_minutes: JSON {"reason": "..."}."""
        name = token_staff()
        body = request.get_json(silent=True)
        reason = body.get("reason") if isinstance(body, dict) else None
        if not isinstance(reason, str) or not reason.strip():
            return json_error(400, "refused", 'send {"reason": "why it is undone"}')
        window = timedelta(minutes=web.undo_minutes)

        def reply() -> tuple[Response, int]:
            result = redeem_mod.unredeem(
                ledger, text, reason=reason[:500], actor=name, channel="api", window=window
            )
            return outcome_reply(result, {"unredeemed": 200})

        return idempotent(name, reply)

    def outcome_reply(result: redeem_mod.Result, ok: dict[str, int]) -> tuple[Response, int]:
        """An outcome as JSON: its status, 400 mistyped, 404 unknown, else 409 (refused)."""
        statuses = {**ok, "mistyped": 400, "unknown": 404}
        body: dict[str, Any] = {"outcome": result.outcome.reason, "message": result.message}
        if result.record is not None:
            body["certificate"] = describe(result.code, result.record)
        return jsonify(body), statuses.get(result.outcome.reason, 409)

    def idempotent(name: str, answer: Callable[[], tuple[Response, int]]) -> Any:
        """With an Idempotency-Key, the first answer is kept for a day and replayed to the
        same request (Stripe's rule): a point of sale that lost the answer to a redemption
        asks again and gets "redeemed", not "already redeemed"."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return answer()
        if not 1 <= len(key) <= 200:
            return json_error(400, "refused", "an Idempotency-Key is 1 to 200 characters")
        asked = f"{request.method} {request.path}"
        stored = ledger.reply_begin(name, key, asked, time.time(), REPLAY_FOR)
        if stored is not None:
            if stored["request"] != asked:
                message = f"this Idempotency-Key was used for {stored['request']}"
                return json_error(422, "refused", message)
            if stored["status"] is None:
                response = json_error(
                    409,
                    "in_progress",
                    "the first request with this key is still being answered; retry",
                )
                response.headers["Retry-After"] = "1"
                return response
            replay = Response(stored["body"], stored["status"], mimetype="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        try:
            response, status = answer()
        except BaseException:
            ledger.reply_finish(name, key, None, None)
            raise
        ledger.reply_finish(name, key, status, response.get_data(as_text=True))
        return response, status

    def redeem_reply(name: str, text: str) -> tuple[Response, int]:
        result = redeem_mod.redeem(
            ledger, text, actor=name, channel="api", today=today_in(web.timezone)
        )
        if result.outcome is redeem_mod.Outcome.REDEEMED:
            notify(result.record)
        return outcome_reply(result, {"redeemed": 200})

    @app.get("/api/openapi.json")
    def openapi() -> Any:
        return jsonify(OPENAPI)


def json_error(status: int, reason: str, message: str) -> Response:
    """A JSON refusal: {"outcome": reason, "message": ...} with ``status``."""
    response = jsonify({"outcome": reason, "message": message})
    response.status_code = status
    return response


_CERT = {
    "type": "object",
    "required": ["code", "display", "status"],
    "properties": {
        "code": {"type": "string", "description": "canonical: 16 symbols and a check symbol"},
        "display": {"type": "string", "example": "ABCD-EFGH-JKMN-PQRS-T"},
        "status": {"type": "string", "enum": ["valid", "redeemed", "expired", "voided"]},
        "expires_on": {"type": ["string", "null"], "format": "date"},
        "redeemed_at": {"type": ["string", "null"], "format": "date-time"},
        "redeemed_by": {"type": ["string", "null"]},
        "converted_at": {"type": ["string", "null"], "format": "date-time"},
        "conversion_value": {"type": ["string", "null"], "example": "120.50"},
        **{k: {"type": ["string", "null"]} for k in PUBLIC_FIELDS},
    },
}
_OUTCOME = {
    "type": "object",
    "required": ["outcome", "message"],
    "properties": {
        "outcome": {"type": "string", "enum": [o.reason for o in redeem_mod.Outcome]},
        "message": {"type": "string"},
        "certificate": {"$ref": "#/components/schemas/Certificate"},
    },
}


_CONVERT = {
    "type": "object",
    "properties": {
        "value": {"type": ["string", "number"], "description": "what the customer spent"},
        "note": {"type": "string", "maxLength": 500},
        "unredeemed": {
            "type": "boolean",
            "description": "the friend bought without presenting the gift (never redeemed)",
        },
    },
}
_UNREDEEM = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
}


def _operation(
    method: str,
    summary: str,
    results: dict[str, tuple[str, str]],
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One path item taking a ``code``, from {status: (description, schema name)}."""
    common = {
        "400": ("Mistyped: the check symbol does not match", "Outcome"),
        "401": ("No valid staff token", "Outcome"),
        "404": ("Unknown code", "Outcome"),
        "413": ("The request body is over 64 KiB", "Outcome"),
        "503": ("The ledger is busy or unreachable: retry after Retry-After seconds", "Outcome"),
    }
    if method == "post":
        common |= {
            "422": ("This Idempotency-Key was used for another request", "Outcome"),
        }
    responses = {
        status: {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        }
        for status, (text, ref) in sorted({**common, **results}.items())
    }
    code = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if method == "post":
        operation["parameters"] = [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Any unique string: the same request with the same key within "
                "24 hours gets the first answer again (header Idempotent-Replayed: true)",
                "schema": {"type": "string", "maxLength": 200},
            }
        ]
    if body is not None:
        operation["requestBody"] = {
            "required": "required" in body,
            "content": {"application/json": {"schema": body}},
        }
    return {"parameters": [code], method: operation}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "certgen redemption API", "version": "1"},
    "components": {
        "securitySchemes": {"staffToken": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Certificate": _CERT, "Outcome": _OUTCOME},
    },
    "security": [{"staffToken": []}],
    "paths": {
        "/api/certificates/{code}": _operation(
            "get",
            "Look a certificate up (any case; dashes and spaces ignored)",
            {"200": ("The certificate", "Certificate")},
        ),
        "/api/certificates/{code}/redeem": _operation(
            "post",
            "Redeem once",
            {
                "200": ("Redeemed", "Outcome"),
                "409": ("Already redeemed, expired or voided (see outcome)", "Outcome"),
            },
        ),
        "/api/certificates/{code}/convert": _operation(
            "post",
            "Record that the friend became a customer (after redemption, once)",
            {
                "200": ("Converted", "Outcome"),
                "409": ("Not redeemed, or converted already (see outcome)", "Outcome"),
            },
            body=_CONVERT,
        ),
        "/api/certificates/{code}/unredeem": _operation(
            "post",
            "Undo a redemption made within [web] undo_minutes",
            {
                "200": ("Undone: the certificate is valid again", "Outcome"),
                "409": ("Not redeemed, converted, or redeemed too long ago", "Outcome"),
            },
            body=_UNREDEEM,
        ),
    },
}
