"""``lighttrack ui``: refuses without a terminal, refuses files that are not lighttrack's
(leaving them untouched), and starts for real in a pseudo-terminal."""

from __future__ import annotations

import hashlib
import os
import sys

import pytest
from click.testing import CliRunner

from conftest import ROOT, run_python
from lighttrack.cli import cli


def test_without_a_terminal_it_says_so_in_one_line_and_exits_1(db_path):
    from lighttrack import LighttrackClient

    LighttrackClient(db_path).create_experiment("x")
    result = CliRunner().invoke(cli, ["ui", str(db_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "lighttrack ui needs a terminal: stdin is not a TTY (in scripts, use `lighttrack runs list` or the Python API)"]


def test_without_a_terminal_from_a_real_process(db_path):
    from lighttrack import LighttrackClient

    LighttrackClient(db_path).create_experiment("x")
    result = run_python("from lighttrack.cli import main; main()", "ui", str(db_path), check=False)
    assert result.returncode == 1
    assert "needs a terminal" in result.stderr and "Traceback" not in result.stderr


def test_a_file_that_is_not_lighttracks_is_refused_and_left_untouched(tmp_path):
    other = tmp_path / "other.db"
    import sqlite3

    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (text)")
    conn.commit()
    conn.close()
    before = hashlib.sha256(other.read_bytes()).hexdigest()
    result = CliRunner().invoke(cli, ["ui", str(other)])
    assert result.exit_code == 1
    assert "Error:" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = CliRunner().invoke(cli, ["ui", str(text)])
    assert result.exit_code == 1 and text.read_text() == "hello"


def test_a_missing_file_is_not_created(tmp_path):
    missing = tmp_path / "typo.db"
    result = CliRunner().invoke(cli, ["ui", str(missing)])
    assert result.exit_code == 1 and "no such file" in result.output
    assert not missing.exists()


def test_the_default_file_is_the_one_the_api_uses(tmp_path, monkeypatch):
    from lighttrack import LighttrackClient

    target = tmp_path / "env.db"
    LighttrackClient(target).create_experiment("x")
    monkeypatch.setenv("LIGHTTRACK_TRACKING_URI", str(target))
    result = CliRunner().invoke(cli, ["ui"])  # resolves the env file, then stops: no terminal
    assert result.exit_code == 1 and "needs a terminal" in result.output
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "nope.db"), "ui"])
    assert "nope.db: no such file" in result.output


def test_make_app_raises_for_a_foreign_file(tmp_path):
    from lighttrack.errors import LighttrackError
    from tui.app import make_app

    import sqlite3

    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    with pytest.raises(LighttrackError):
        make_app(foreign)
    assert foreign.read_bytes() == before


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_starts_in_a_terminal_and_quits_with_q(db_path):
    """The real thing: `lighttrack ui FILE` in a pseudo-terminal draws and quits on q."""
    import pty
    import select
    import subprocess
    import time

    from lighttrack import LighttrackClient

    LighttrackClient(db_path).create_experiment("pty-check")
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    process = subprocess.Popen([sys.executable, "-c", "from lighttrack.cli import main; main()", "ui", str(db_path)],
                               stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while b"pty-check" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
        assert b"pty-check" in seen, seen[-500:]
        os.write(master, b"q")
        process.wait(timeout=15)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
