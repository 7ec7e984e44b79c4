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


def fetch_page(conn, sql: str, params: list, max_results: int | None, page_token: str | None):
    """Run ``sql`` (ending in ``LIMIT ? OFFSET ?``) for one page: (rows, token of the next page).

    One row more than asked for is read, so the last page knows it is the last."""
    offset = decode_token(page_token)
    if max_results is not None and (isinstance(max_results, bool) or int(max_results) < 0):
        raise InvalidArgument(f"max_results must be a non-negative integer, not {max_results!r}")
    limit = -1 if max_results is None else int(max_results)
    rows = conn.execute(sql, [*params, limit + 1 if limit >= 0 else -1, offset]).fetchall()
    if limit >= 0 and len(rows) > limit:
        return rows[:limit], encode_token(offset + limit)
    return rows, None
