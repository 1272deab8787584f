"""`hs256.decode` accepts and refuses exactly what `jwt.decode` does, for pipechat's tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import jwt
import orjson
import pytest

from pipechat.auth import hs256

SECRET = "s" * 48
REQUIRED = ("sub", "type", "exp", "sid", "jti")


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "1", "type": "access", "sid": "2", "jti": "j" * 32,
                            "iat": now, "exp": now + 300}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], payload: dict[str, Any], secret: str = SECRET) -> str:
    """A token with any header, signed with HMAC-SHA256 (whatever the header says)."""
    signing = f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(payload))}"
    signature = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64(signature)}"


def issued(secret: str = SECRET, **changes: Any) -> str:
    return jwt.encode(claims(**changes), secret, algorithm="HS256")


NOW = int(time.time())
TOKENS = {
    "valid": issued(),
    "float times": issued(exp=NOW + 300.5, iat=NOW - 0.5),
    "expired": issued(exp=NOW - 1),
    "expiring now": issued(exp=NOW - 0),
    "other secret": issued(secret="t" * 48),
    "issued in the future": issued(iat=NOW + 600),
    "not before the future": issued(nbf=NOW + 600),
    "exp a string": issued(exp="soon"),
    "exp a bool": issued(exp=True),
    "exp a numeric string": issued(exp=str(NOW + 300)),
    "iat null": forged({"alg": "HS256"}, claims(iat=None) | {"iat": None}),
    "exp infinite": issued(exp=float("inf")),
    "no exp": issued(exp=None),
    "no sid": issued(sid=None),
    "no jti": issued(jti=None),
    "alg none": b64(orjson.dumps({"alg": "none"})) + "." + b64(orjson.dumps(claims())) + ".",
    "alg HS512 signed as HS256": forged({"alg": "HS512", "typ": "JWT"}, claims()),
    "no alg": forged({"typ": "JWT"}, claims()),
    "crit": forged({"alg": "HS256", "crit": ["b64"], "b64": False}, claims()),
    "payload a list": forged({"alg": "HS256"}, [1, 2]),  # type: ignore[arg-type]
    "two segments": "abc.def",
    "four segments": issued() + ".x",
    "garbage": "not a jwt at all",
    "bad base64": "@@@.@@@.@@@",
    "non-ascii": issued() + "é",
    "empty": "",
    "tampered payload": ".".join([issued().split(".")[0], b64(orjson.dumps(claims(sub="9"))),
                                  issued().split(".")[2]]),
}


def outcome(decode: Any, token: str) -> Any:
    try:
        return decode(token)
    except jwt.ExpiredSignatureError:
        return "expired"
    except jwt.PyJWTError:
        return "invalid"


@pytest.mark.parametrize("name", list(TOKENS))
def test_same_verdict_as_pyjwt(name: str) -> None:
    token = TOKENS[name]
    ours = outcome(lambda t: hs256.decode(t, SECRET.encode(), REQUIRED), token)
    theirs = outcome(lambda t: jwt.decode(t, SECRET, algorithms=["HS256"],
                                          options={"require": list(REQUIRED)}), token)
    assert ours == theirs


def test_the_verdicts_cover_acceptance_expiry_and_refusal() -> None:
    verdicts = [outcome(lambda t: hs256.decode(t, SECRET.encode(), REQUIRED), token)
                for token in TOKENS.values()]
    assert {"expired", "invalid"} < {v if isinstance(v, str) else "valid" for v in verdicts}
    assert hs256.decode(TOKENS["valid"], SECRET.encode(), REQUIRED)["sid"] == "2"
