"""MLflow's LIKE patterns turned into SQLite's: GLOB for case-sensitive LIKE (SQLite's own
LIKE ignores ASCII case), LIKE with ESCAPE for ILIKE."""

from __future__ import annotations

def _like_segments(pattern: str) -> list[tuple[bool, str]]:
    """Split a LIKE pattern into (is_wildcard, text). ``\\%``, ``\\_`` and ``\\\\`` are literal;
    a backslash before anything else is itself literal."""
    out: list[tuple[bool, str]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            out.append((False, pattern[i + 1]))
            i += 2
            continue
        out.append((c in "%_", c))
        i += 1
    return out


def like_to_glob(pattern: str) -> str:
    """LIKE -> GLOB, for case-sensitive LIKE: SQLite's own LIKE ignores ASCII case.
    GLOB's metacharacters in literal parts are neutralised by a one-character class."""
    wild = {"%": "*", "_": "?"}
    return "".join(wild[c] if w else (f"[{c}]" if c in "*?[" else c)
                   for w, c in _like_segments(pattern))


def like_to_like(pattern: str) -> str:
    """Our LIKE syntax -> SQLite LIKE with ESCAPE '\\' (used for ILIKE)."""
    return "".join(c if w else ("\\" + c if c in "%_\\" else c) for w, c in _like_segments(pattern))
