"""One error shape for every HTTP failure: {"error": {"code": "...", "message": "..."}}.

The code is stable and machine-readable; the message is for a person: when the request's Accept-Language
names a supported locale other than English and the catalogs translate the code (`errors.<code>`), the message
is that translation (the English message can carry specifics a generic translation lacks, so it is kept for
English)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopcall.i18n import DEFAULT_LOCALE, negotiate, translator


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable error code")
    message: str = Field(description="human-readable explanation")


class ErrorOut(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "the body is not valid JSON (`bad_request`)"},
    401: {"model": ErrorOut, "description": "missing or wrong app credentials"},
    404: {"model": ErrorOut, "description": "not found (or another tenant's)"},
    413: {"model": ErrorOut, "description": "the body is larger than `max_body_bytes` (`too_large`)"},
    422: {"model": ErrorOut, "description": "invalid input; `details` lists each field"},
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "too_large", 429: "rate_limited"}


def localized_message(request: Request, code: str, message: str) -> str:
    """`message` in the request's language when the catalogs have one for `code`, else as it is."""
    header = request.headers.get("accept-language")
    if not header:
        return message
    tr = translator(negotiate(header))
    if tr.locale == DEFAULT_LOCALE:
        return message
    return tr.own(f"errors.{code}") or message


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, localized_message(request, exc.code, exc.message)),
                            status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(x) for x in e["loc"][1:]) or e["loc"][0], "problem": e["msg"]}
                   for e in exc.errors()]
        first = details[0] if details else {"field": "body", "problem": "invalid"}
        return JSONResponse(
            error_body("validation_error", localized_message(request, "validation_error",
                                                             f"{first['field']}: {first['problem']}"), details=details),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        msg = exc.detail if isinstance(exc.detail, str) else code
        return JSONResponse(error_body(code, localized_message(request, code, msg)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
