"""The partner API's error replies: one body shape for every 4xx and 5xx, and the handlers that produce it.

Every error body is ``{"error": {"type": ..., "message": ...}}`` (plus ``problems`` for a rejected import,
``reason`` for an infeasible request, ``details`` for a malformed one). A partner's own prefix is taken out
of every message, so a partner never sees how its worlds are stored.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from copilot.apps.partner.gate import error_body
from copilot.apps.partner.tenancy import Partner, hide_partner
from copilot.core.errors import ConfigurationError, CopilotError, ImportFailed, InfeasibleError, InputError, NotFound

log = logging.getLogger(__name__)

MAX_PROBLEMS_SHOWN = 200  # located problems in a rejected import's reply (the count says how many there were)



class ErrorDetail(BaseModel):
    """What went wrong, for a program and for a person."""

    type: str = Field(
        description="unauthorized, forbidden, not_found, input_error, validation_error, import_failed, infeasible, conflict, "
        "idempotency_key_reused, idempotency_in_progress, payload_too_large, configuration_error, internal_error, ..."
    )
    message: str
    problems: list[str] | None = Field(default=None, description="import_failed: every located problem (file, row, column)")
    reason: str | None = Field(default=None, description="infeasible: why the request cannot be satisfied")
    details: list[dict[str, Any]] | None = Field(default=None, description="validation_error: each rejected field")


class ErrorBody(BaseModel):
    """The body of every error reply."""

    error: ErrorDetail


class ApiError(Exception):
    """An error reply decided by the door itself (authentication, scope, conflicts)."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def _copilot_error(exc: CopilotError) -> tuple[int, dict[str, Any]]:
    if isinstance(exc, NotFound):
        return 404, error_body("not_found", str(exc))
    if isinstance(exc, ImportFailed):
        shown = exc.problems[:MAX_PROBLEMS_SHOWN] + ([f"... and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more"] if len(exc.problems) > MAX_PROBLEMS_SHOWN else [])
        return 422, error_body("import_failed", str(exc), problems=shown)
    if isinstance(exc, InputError):
        return 400, error_body("input_error", str(exc))
    if isinstance(exc, InfeasibleError):
        return 409, error_body("infeasible", str(exc), reason=exc.reason)
    if isinstance(exc, ConfigurationError):
        log.error("configuration error: %s", exc)
        return 503, error_body("configuration_error", "the service is not configured to answer this request; the operator's log has the details")
    return 500, error_body("internal_error", "the server could not answer this request")


def _hide(request: Request, payload: dict[str, Any]) -> dict[str, Any]:
    partner = getattr(request.state, "partner", None)
    if isinstance(partner, Partner):
        err = payload["error"]
        err["message"] = hide_partner(err["message"], partner.name)
        if err.get("problems"):
            err["problems"] = [hide_partner(p, partner.name) for p in err["problems"]]
        if err.get("reason"):
            err["reason"] = hide_partner(err["reason"], partner.name)
    return payload


_STATUS_TYPES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 429: "rate_limited",
}


def install_error_handlers(app: FastAPI) -> None:
    async def on_copilot_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CopilotError)
        status, payload = _copilot_error(exc)
        return JSONResponse(_hide(request, payload), status_code=status)

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(_hide(request, error_body(exc.kind, exc.message)), status_code=exc.status, headers=headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in exc.errors()]
        message = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:10]) or "the request is malformed"
        return JSONResponse(_hide(request, error_body("validation_error", message, details=details)), status_code=422)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = _STATUS_TYPES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(kind, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body("internal_error", "the server failed to answer this request; the operator's log has the details"), status_code=500)

    app.add_exception_handler(Exception, on_bug)
    app.add_exception_handler(CopilotError, on_copilot_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
