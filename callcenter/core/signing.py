"""How webhooks are signed, the one contract every receiver checks.

``X-Callcenter-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body>`` with
``X-Callcenter-Timestamp: <epoch seconds>``, so a receiver can reject forged or replayed
posts. Work-order hand-offs and staffing alerts both sign this way.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Callcenter-Signature"
TIMESTAMP_HEADER = "X-Callcenter-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (and what the tests check)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
