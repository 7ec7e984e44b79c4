"""Page tokens: opaque to users, an offset inside. Paging is stable because every search
orders by a unique tie-breaker (the row id) after the user's own order."""

from __future__ import annotations

import base64
import json

from lighttrack.errors import InvalidArgument


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except Exception:
        raise InvalidArgument(f"invalid page token {token!r}: pass the token a previous search returned") from None
    if not isinstance(offset, int) or offset < 0:
        raise InvalidArgument(f"invalid page token {token!r}: pass the token a previous search returned")
    return offset
