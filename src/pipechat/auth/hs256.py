"""Checking the HS256 JWTs this server issues, without PyJWT's per-call key vetting.

PyJWT vets the HMAC key at every decode (is it PEM, SSH, DER or JSON?), which with the rest of
its generic path was about a tenth of a socket connect's CPU. The secret here is vetted once, when
`TokenService` is made, and only one algorithm is accepted, so a token is checked with one HMAC,
two base64 decodes and one JSON parse. PyJWT still issues the tokens; what is accepted is what
`jwt.decode(token, secret, algorithms=["HS256"])` accepts (same exceptions), for the claims
pipechat uses: `exp` (expired at or after it), `iat` and `nbf` (not in the future), all integers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any

import jwt
import orjson


def _segment(encoded: bytes) -> bytes:
    try:
        return base64.urlsafe_b64decode(encoded + b"=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as exc:
        raise jwt.DecodeError("invalid base64 segment") from exc


def _object(encoded: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(_segment(encoded))
    except orjson.JSONDecodeError as exc:
        raise jwt.DecodeError("invalid JSON segment") from exc
    if not isinstance(value, dict):
        raise jwt.DecodeError("a segment is not a JSON object")
    return value


def _integer(payload: dict[str, Any], name: str) -> int | None:
    if name not in payload:
        return None
    value: Any = payload[name]
    try:
        return int(value)  # as PyJWT reads it: "123" and true pass, as 123 and 1
    except (ValueError, TypeError, OverflowError):
        raise jwt.DecodeError(f"the {name} claim must be an integer") from None


def decode(token: str, key: bytes, required: tuple[str, ...]) -> dict[str, Any]:
    """The claims of a valid HS256 `token` signed with `key`; a `jwt.PyJWTError` otherwise."""
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError as exc:
        raise jwt.DecodeError("not a JWT") from exc
    if raw.count(b".") != 2:
        raise jwt.DecodeError("not enough or too many segments")
    signing_input, _, signature = raw.rpartition(b".")
    header_part, _, payload_part = signing_input.partition(b".")
    header = _object(header_part)
    if header.get("alg") != "HS256" or "crit" in header or "b64" in header:
        raise jwt.InvalidAlgorithmError("the specified alg value is not allowed")
    expected = hmac.new(key, signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _segment(signature)):
        raise jwt.InvalidSignatureError("signature verification failed")
    payload = _object(payload_part)
    for name in required:
        if payload.get(name) is None:
            raise jwt.MissingRequiredClaimError(name)
    now = time.time()
    expires = _integer(payload, "exp")
    if expires is not None and expires <= now:
        raise jwt.ExpiredSignatureError("signature has expired")
    for name in ("iat", "nbf"):
        moment = _integer(payload, name)
        if moment is not None and moment > now:
            raise jwt.ImmatureSignatureError(f"the token is not yet valid ({name})")
    return payload
