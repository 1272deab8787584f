"""The one error model shared by REST responses and Socket.IO acknowledgements.

Every failure a client can see is a `ChatError` carrying an `ErrorCode`; the code fixes the HTTP
status, so the REST layer and the gateway can never disagree about what went wrong.
"""

from __future__ import annotations

import math
from enum import IntEnum
from http import HTTPStatus
from typing import Any


class ErrorCode(IntEnum):
    """Stable numeric codes; documented in the README. Never renumber."""

    CHAT_NOT_FOUND = 100  # the seed's code
    NOT_CHAT_MEMBER = 101
    UNKNOWN_USERS = 102
    VALIDATION_FAILED = 103
    MESSAGE_TOO_LONG = 104
    RATE_LIMITED = 105
    UNKNOWN_EVENT = 106
    REQUEST_TOO_LARGE = 107
    UNAUTHENTICATED = 110
    TOKEN_EXPIRED = 111
    WRONG_TOKEN_TYPE = 112
    INVALID_CREDENTIALS = 113
    SESSION_REVOKED = 114
    REFRESH_TOKEN_REUSED = 115
    TOKEN_OF_ANOTHER_USER = 116
    EMAIL_TAKEN = 120
    NICKNAME_TAKEN = 121
    USER_NOT_FOUND = 122
    NOT_FOUND = 130
    ROLE_FORBIDS = 140
    NOT_A_GROUP = 141
    TOO_MANY_MEMBERS = 142
    CANNOT_ADD_USER = 143
    NOT_A_MEMBER = 144
    MESSAGE_NOT_FOUND = 145
    TOO_MANY_BLOCKS = 146
    METHOD_NOT_ALLOWED = 131
    SERVICE_UNAVAILABLE = 150
    MESSAGE_DELETED = 160
    NOT_MESSAGE_AUTHOR = 161
    TOO_MANY_REACTIONS = 162
    INTERNAL = 199


STATUS_BY_CODE: dict[ErrorCode, HTTPStatus] = {
    ErrorCode.CHAT_NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.NOT_CHAT_MEMBER: HTTPStatus.FORBIDDEN,
    ErrorCode.UNKNOWN_USERS: HTTPStatus.BAD_REQUEST,
    ErrorCode.VALIDATION_FAILED: HTTPStatus.BAD_REQUEST,
    ErrorCode.MESSAGE_TOO_LONG: HTTPStatus.BAD_REQUEST,
    ErrorCode.RATE_LIMITED: HTTPStatus.TOO_MANY_REQUESTS,
    ErrorCode.UNKNOWN_EVENT: HTTPStatus.BAD_REQUEST,
    ErrorCode.REQUEST_TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ErrorCode.UNAUTHENTICATED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.TOKEN_EXPIRED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.WRONG_TOKEN_TYPE: HTTPStatus.UNAUTHORIZED,
    ErrorCode.INVALID_CREDENTIALS: HTTPStatus.UNAUTHORIZED,
    ErrorCode.SESSION_REVOKED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.REFRESH_TOKEN_REUSED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.TOKEN_OF_ANOTHER_USER: HTTPStatus.FORBIDDEN,
    ErrorCode.EMAIL_TAKEN: HTTPStatus.BAD_REQUEST,
    ErrorCode.NICKNAME_TAKEN: HTTPStatus.BAD_REQUEST,
    ErrorCode.USER_NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.ROLE_FORBIDS: HTTPStatus.FORBIDDEN,
    ErrorCode.NOT_A_GROUP: HTTPStatus.BAD_REQUEST,
    ErrorCode.TOO_MANY_MEMBERS: HTTPStatus.BAD_REQUEST,
    ErrorCode.CANNOT_ADD_USER: HTTPStatus.FORBIDDEN,
    ErrorCode.NOT_A_MEMBER: HTTPStatus.NOT_FOUND,
    ErrorCode.MESSAGE_NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.TOO_MANY_BLOCKS: HTTPStatus.BAD_REQUEST,
    ErrorCode.METHOD_NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    ErrorCode.SERVICE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.MESSAGE_DELETED: HTTPStatus.CONFLICT,
    ErrorCode.NOT_MESSAGE_AUTHOR: HTTPStatus.FORBIDDEN,
    ErrorCode.TOO_MANY_REACTIONS: HTTPStatus.CONFLICT,
    ErrorCode.INTERNAL: HTTPStatus.INTERNAL_SERVER_ERROR,
}


class ChatError(Exception):
    """A failure to report to the client: a code, its HTTP status and a readable message."""

    def __init__(self, code: ErrorCode, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def status(self) -> HTTPStatus:
        """The HTTP status that goes with this code."""
        return STATUS_BY_CODE[self.code]

    @property
    def headers(self) -> dict[str, str] | None:
        """HTTP headers that go with the error: `Retry-After` when a retry time is known."""
        if isinstance(self.details, dict) and "retryAfter" in self.details:
            return {"Retry-After": str(self.details["retryAfter"])}
        return None

    def rest_body(self) -> dict[str, Any]:
        """The NestJS-shaped body the seed's clients know, plus our stable `code`."""
        body: dict[str, Any] = {
            "statusCode": int(self.status),
            "message": self.message,
            "error": self.status.phrase,
            "code": int(self.code),
        }
        if self.details is not None:
            body["details"] = self.details
        return body

    def socket_payload(self) -> dict[str, Any]:
        """The payload of an error acknowledgement or `exception` event."""
        payload: dict[str, Any] = {
            "status": "error",
            "code": int(self.code),
            "message": self.message,
        }
        if self.details is not None:
            payload["details"] = self.details
        return payload


def validation_error(message: str, details: Any = None) -> ChatError:
    """A `VALIDATION_FAILED` error; the most common kind of bad input."""
    return ChatError(ErrorCode.VALIDATION_FAILED, message, details)


def rate_limited(message: str, retry_after: float) -> ChatError:
    """A `RATE_LIMITED` error telling the client how many whole seconds to wait."""
    seconds = max(1, math.ceil(retry_after))
    return ChatError(ErrorCode.RATE_LIMITED, message, {"retryAfter": seconds})


def error_responses(*statuses: HTTPStatus) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries declaring our error body for these statuses."""
    from pipechat.schemas import ErrorBody  # late: schemas is a leaf, errors is imported first

    return {int(status): {"model": ErrorBody, "description": status.phrase} for status in statuses}


BAD_INPUT_ERRORS = error_responses(HTTPStatus.BAD_REQUEST)
AUTH_ERRORS = error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED)
THROTTLED_ERRORS = error_responses(HTTPStatus.TOO_MANY_REQUESTS)
MEMBER_ERRORS = error_responses(
    HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND
)
MESSAGE_ERRORS = MEMBER_ERRORS | error_responses(HTTPStatus.CONFLICT)
