"""HS256 tokens for the contract test, signed with the secret the test server was given.

Written with the standard library only, independently of the service's own token code."""

import base64
import hashlib
import hmac
import json
import os
import time


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token(role: str, sub: str, org: str | None = None) -> str:
    claims = {"sub": sub, "role": role, "exp": int(time.time()) + 3600}
    if org:
        claims["org"] = org
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    secret = os.environ["STOCKPILE__AUTH__HS256_SECRET"].encode()
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"
