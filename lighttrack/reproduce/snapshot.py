"""Taking the source snapshot when a run starts in a git working tree.

What is stored, in the run's artifact ``lighttrack-source.tar`` (a plain, deterministic tar):

- ``manifest.json``: the commit, what was stored and what was left out (and why), the limits;
- ``diff.patch``: ``git diff HEAD --binary`` (staged and unstaged changes, binary files too);
- ``untracked/<path>``: each untracked, not ignored file within the limits (symlinks are kept
  as their target in the manifest).

Nothing is taken outside a git tree (found from the folder's ``.git`` without a subprocess),
nor for a clean tree (only the commit and dirty tags, as before). It costs a few ``git`` calls
(tens of ms, up to a second on a loaded machine), so a process takes it once per repository and
reuses it for ``LIGHTTRACK_SOURCE_RECHECK_SECONDS`` (default 30 s) unless git's HEAD or index,
or one of the (first 16) tracked files that were already changed, changes before then (looked
at, with ``stat``, at most once a second):
a sweep of a thousand runs takes it once, and a notebook that keeps editing the same files
records each version. A first edit of a clean file within the interval is seen at the next
take; set the variable to 0 to take it at every run. The bytes are
content-addressed blobs, so a thousand runs from the same tree store them once.

Limits (environment variables, read each time the snapshot is taken):

==========================================  =========  ==============================
LIGHTTRACK_SOURCE_SNAPSHOT                  on         ``0``/``false``/``off``: never
LIGHTTRACK_SOURCE_MAX_DIFF_BYTES            10 MiB     larger diff: left out, said
LIGHTTRACK_SOURCE_MAX_FILE_BYTES            1 MiB      larger untracked file: named only
LIGHTTRACK_SOURCE_MAX_UNTRACKED_BYTES       10 MiB     all untracked contents together
LIGHTTRACK_SOURCE_MAX_UNTRACKED_FILES       1000       names listed beyond it: counted
LIGHTTRACK_SOURCE_RECHECK_SECONDS           30         reuse within a process
==========================================  =========  ==============================

Whatever is left out is named in the manifest (``complete: false``) and said once on stderr:
never a silently partial snapshot.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lighttrack.errors import InvalidArgument, UnsafeArtifactPath
from lighttrack.reproduce import DIFF, MANIFEST, SNAPSHOT_ARTIFACT, SNAPSHOT_TAG, UNTRACKED_DIR

MIB = 1024 * 1024
_OFF = ("0", "false", "off", "no")


@dataclass(frozen=True)
class Limits:
    max_diff_bytes: int = 10 * MIB
    max_file_bytes: int = 1 * MIB
    max_untracked_bytes: int = 10 * MIB
    max_untracked_files: int = 1000
    recheck_seconds: float = 30.0


_ENV = {
    "max_diff_bytes": "LIGHTTRACK_SOURCE_MAX_DIFF_BYTES",
    "max_file_bytes": "LIGHTTRACK_SOURCE_MAX_FILE_BYTES",
    "max_untracked_bytes": "LIGHTTRACK_SOURCE_MAX_UNTRACKED_BYTES",
    "max_untracked_files": "LIGHTTRACK_SOURCE_MAX_UNTRACKED_FILES",
    "recheck_seconds": "LIGHTTRACK_SOURCE_RECHECK_SECONDS",
}


def limits() -> Limits | None:
    """The limits from the environment; None when snapshots are turned off. A malformed
    value is an error before the run is created, naming the variable."""
    if os.environ.get("LIGHTTRACK_SOURCE_SNAPSHOT", "").strip().lower() in _OFF:
        return None
    values: dict[str, float | int] = {}
    for field, var in _ENV.items():
        text = os.environ.get(var)
        if text is None or not text.strip():
            continue
        kind = float if field == "recheck_seconds" else int
        try:
            value = kind(text.strip())
        except ValueError:
            value = -1
        if value < 0:
            raise InvalidArgument(f"{var}={text!r}: give a number >= 0 ({'seconds' if kind is float else 'a count'})")
        values[field] = value
    return Limits(**values)


@dataclass(frozen=True)
class Snapshot:
    """What a run started now from this tree records: tags, and files (none for a clean tree)."""

    tags: dict[str, str]
    files: tuple[tuple[str, bytes, str], ...] = ()  # (artifact path, bytes, sha256)
    #: Files whose change makes the snapshot stale before its time is up: git's HEAD and
    #: index, and the first tracked files that were changed (what a notebook user edits again).
    watched: tuple[str, ...] = ()

    def attach(self, conn, run_pk: int) -> None:
        if self.files:
            from lighttrack.store import artifacts as artifact_store

            artifact_store.put_known_bytes(conn, run_pk, list(self.files))


@dataclass
class _Cached:
    taken: float
    limits: Limits
    snapshot: Snapshot | None
    fingerprint: tuple
    checked: float


_cache: dict[str, _Cached] = {}
_WATCH_AT_MOST = 16
#: The watched files are looked at (stat) at most this often: a stat costs 2-20 us, which a
#: 1,000-run sweep would pay per file per run; a person editing between runs is slower than this.
WATCH_SECONDS = 1.0
_OFF_LIMITS = Limits()  # turned off: look at the environment again after the default interval
_warned: set[tuple[str, str]] = set()


def for_folder(folder: str | os.PathLike[str], tracking_file: str | os.PathLike[str] | None = None) -> Snapshot | None:
    """The snapshot of the git tree holding ``folder`` (None outside git, or when off).
    ``tracking_file`` (the lighttrack file being written, often ./lighttrack.db in the tree)
    and its side files are never part of it."""
    from lighttrack.context import _git_dir

    key = f"{folder}\0{tracking_file or ''}"
    now = time.monotonic()
    hit = _cache.get(key)
    # The limits are read when the snapshot is taken, not at every run: a sweep's run start
    # is a dict lookup and a clock read (the environment lookups alone cost more than that).
    if hit is not None and now - hit.taken < hit.limits.recheck_seconds:
        if hit.snapshot is None or now - hit.checked < WATCH_SECONDS:
            return hit.snapshot
        hit.checked = now
        if _fingerprint(hit.snapshot.watched) == hit.fingerprint:
            return hit.snapshot
    wanted = limits()
    if wanted is None:
        _cache[key] = _Cached(now, _OFF_LIMITS, None, (), now)
        return None
    if _git_dir(Path(folder)) is None:
        found = None
    else:
        try:
            found = take(Path(folder), wanted, tracking_file)
        except (OSError, subprocess.SubprocessError):
            found = None  # git facts are a courtesy; a run must start without them
    _cache[key] = _Cached(now, wanted, found, _fingerprint(found.watched) if found is not None else (), now)
    return found


def _fingerprint(paths: tuple[str, ...]) -> tuple:
    stamps = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            stamps.append(None)
        else:
            stamps.append((info.st_mtime_ns, info.st_size))
    return tuple(stamps)


def _git(args: list[str], cwd: Path) -> bytes | None:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60)
    return result.stdout if result.returncode == 0 else None


def _is_lighttrack_side(path: Path, tracking_file: Path | None) -> bool:
    if tracking_file is None:
        return False
    name, own = str(path), str(tracking_file)
    return name == own or (name.startswith(own) and name[len(own)] in "-." )


def take(folder: Path, wanted: Limits, tracking_file: str | os.PathLike[str] | None = None) -> Snapshot | None:
    """Read the tree now (no cache): None when ``folder`` is not in a repository with commits."""
    found = _git(["rev-parse", "--show-toplevel", "--verify", "-q", "HEAD"], folder)
    if found is None:
        return None
    lines = found.decode(errors="surrogateescape").splitlines()
    if len(lines) != 2:
        return None
    root, commit = Path(lines[0]), lines[1].strip()
    status = _git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames",
                   "--ignore-submodules=all"], root)
    if status is None:
        return None
    entries = [e for e in status.split(b"\0") if e]
    tracked_changed = any(e[:2] != b"??" for e in entries)
    from lighttrack.context import _git_dir

    git_dir = _git_dir(folder)
    watched = tuple(str(p) for p in ((git_dir / "HEAD", git_dir / "index") if git_dir else ())) + tuple(
        str(root / os.fsdecode(e[3:])) for e in entries if e[:2] != b"??")[:_WATCH_AT_MOST]
    own = Path(tracking_file).resolve() if tracking_file is not None else None
    untracked = sorted(rel for rel in (os.fsdecode(e[3:]) for e in entries if e[:2] == b"??")
                       if not _is_lighttrack_side(root / rel, own))
    tags = {"mlflow.source.git.commit": commit,
            "lighttrack.source.git.dirty": "true" if tracked_changed else "false"}
    if not tracked_changed and not untracked:
        return Snapshot(tags, watched=watched)
    diff = b""
    if tracked_changed:
        diff = _git(["-c", "core.quotepath=off", "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff",
                     "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", "--ignore-submodules=all"], root)
        if diff is None:
            return None
    files: list[tuple[str, bytes]] = []
    left_out: list[str] = []
    diff_entry: dict = {"size": len(diff), "stored": len(diff) <= wanted.max_diff_bytes}
    if not diff_entry["stored"]:
        diff_entry["reason"] = f"larger than LIGHTTRACK_SOURCE_MAX_DIFF_BYTES ({wanted.max_diff_bytes:,})"
        left_out.append(f"the diff ({len(diff):,} bytes)")
    elif diff:
        files.append((DIFF, diff))
    listed, not_listed = _untracked(root, untracked, wanted, files, left_out)
    manifest = {
        "format": 1, "commit": commit, "repository": str(root), "diff": diff_entry,
        "untracked": listed, "untracked_not_listed": not_listed,
        "complete": not left_out,
        "limits": {k: v for k, v in asdict(wanted).items() if k != "recheck_seconds"},
    }
    files.insert(0, (MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode()))
    if left_out:
        _warn_once(str(root), left_out)
    tags[SNAPSHOT_TAG] = SNAPSHOT_ARTIFACT
    packed = _tar(files)
    return Snapshot(tags, ((SNAPSHOT_ARTIFACT, packed, hashlib.sha256(packed).hexdigest()),), watched)


def _tar(files: list[tuple[str, bytes]]) -> bytes:
    """The same bytes for the same tree (no times, owners or modes): one blob however many runs
    and processes record it."""
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _untracked(root: Path, names: list[str], wanted: Limits, files: list, left_out: list[str]) -> tuple[list, int]:
    from lighttrack.store.artifacts import normalise_path

    listed: list[dict] = []
    total = 0
    skipped = 0
    for rel in names:
        if len(listed) >= wanted.max_untracked_files:
            break
        path = root / rel
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue  # removed since git status looked
        entry: dict = {"path": rel, "size": info.st_size, "stored": False}
        reason = None
        if stat.S_ISLNK(info.st_mode):
            entry.update(stored=True, link=os.readlink(path))
        elif not stat.S_ISREG(info.st_mode):
            reason = "not a regular file"
        elif info.st_size > wanted.max_file_bytes:
            reason = f"larger than LIGHTTRACK_SOURCE_MAX_FILE_BYTES ({wanted.max_file_bytes:,})"
        elif total + info.st_size > wanted.max_untracked_bytes:
            reason = f"over LIGHTTRACK_SOURCE_MAX_UNTRACKED_BYTES ({wanted.max_untracked_bytes:,}) in all"
        else:
            try:
                member = normalise_path(f"{UNTRACKED_DIR}/{rel}")
            except UnsafeArtifactPath:
                reason = "its name cannot be stored (a backslash or control character)"
            else:
                files.append((member, path.read_bytes()))
                total += info.st_size
                entry.update(stored=True, executable=bool(info.st_mode & 0o111))
        if reason:
            entry["reason"] = reason
            skipped += 1
        listed.append(entry)
    not_listed = len(names) - len(listed)
    if skipped:
        left_out.append(f"{skipped} untracked file(s) (named in the manifest)")
    if not_listed:
        left_out.append(f"{not_listed} untracked file name(s) beyond LIGHTTRACK_SOURCE_MAX_UNTRACKED_FILES "
                        f"({wanted.max_untracked_files:,})")
    return listed, not_listed


def _warn_once(root: str, left_out: list[str]) -> None:
    text = "; ".join(left_out)
    if (root, text) in _warned:
        return
    _warned.add((root, text))
    print(f"lighttrack: the source snapshot of {root} leaves out {text}: raise the LIGHTTRACK_SOURCE_MAX_* "
          "limits to keep them (see the README)", file=sys.stderr)
