"""Page tokens: opaque to users, an offset inside. Paging is stable because every search
orders by a unique tie-breaker (the row id) after the user's own order."""

from __future__ import annotations

import base64
import json
import operator

from lighttrack.errors import InvalidArgument

#: offset + limit + 1 must fit in SQLite's 64-bit integer; no real search comes near this.
MAX_PAGE_NUMBER = 2**62


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except Exception:
        raise InvalidArgument(f"invalid page token {token!r}: pass the token a previous search returned") from None
    if type(offset) is not int or not 0 <= offset <= MAX_PAGE_NUMBER:
        raise InvalidArgument(f"invalid page token {token!r}: pass the token a previous search returned")
    return offset


def check_max_results(max_results: object) -> int | None:
    """None (everything) or a whole number from 0 to 2**62; numpy integers are fine."""
    if max_results is None:
        return None
    try:
        if isinstance(max_results, bool):
            raise TypeError
        limit = operator.index(max_results)
    except TypeError:
        raise InvalidArgument(
            f"max_results must be a whole number from 0 to 2**62 (or None for all), not {max_results!r}"
        ) from None
    if not 0 <= limit <= MAX_PAGE_NUMBER:
        raise InvalidArgument(f"max_results must be from 0 to 2**62 (or None for all), not {limit}")
    return limit


def fetch_page(conn, sql: str, params: list, max_results: int | None, page_token: str | None):
    """Run ``sql`` (ending in ``LIMIT ? OFFSET ?``) for one page: (rows, token of the next page).

    One row more than asked for is read, so the last page knows it is the last."""
    offset = decode_token(page_token)
    checked = check_max_results(max_results)
    limit = -1 if checked is None else checked
    rows = conn.execute(sql, [*params, limit + 1 if limit >= 0 else -1, offset]).fetchall()
    if limit >= 0 and len(rows) > limit:
        return rows[:limit], encode_token(offset + limit)
    return rows, None


def from_the_end(total: int, offset: int, want: int) -> tuple[bool, int, int] | None:
    """Where to read ``want`` of ``total`` rows from ``offset``: (reverse, offset, want),
    reversed (the same rows, read from the end) when that is nearer; None when the page starts
    past the last row."""
    if offset >= total:
        return None
    end = min(offset + want, total)
    if total - end < offset:
        return True, total - end, end - offset
    return False, offset, want
