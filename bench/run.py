"""lighttrack's benchmark: ``python bench/run.py`` prints workload | median | budget | pass/miss.

    python bench/run.py                      # everything, default repeats
    python bench/run.py --quick              # smaller sizes, a smoke run (< 1 min)
    python bench/run.py --only log_metric,history --repeat 3
    python bench/run.py --vs-mlflow --json results.json --markdown table.md

Each workload runs in a fresh child interpreter (``run.py --child ...``) with fresh temp files,
so no state, cache or buffered writer carries over from one workload to the next. With
``--vs-mlflow`` the same workload then runs through the real ``mlflow`` package (sqlite:///
backend in a temp folder, never a server) in an interpreter that has it: this one when
``import mlflow`` works here, else ``bench/.mlflow-venv`` (see bench/README.md), else
``--mlflow-python``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BENCH_DIR, CACHE_DIR, MLFLOW_VENV_PYTHON, REPO_ROOT, Context, Skip, Workload, discover, fmt  # noqa: E402

SIDES = ("lighttrack", "mlflow")


# ------------------------------------------------------------------------------- the child
def child_main(args: argparse.Namespace) -> int:
    registry = discover()
    wl = registry[args.only]
    side = args.child
    repeat = args.repeat or wl.default_repeat(side)
    ctx = Context(side, quick=args.quick, repeat=repeat, workload=wl)
    out: dict = {"error": None, "skipped": None, "repeat": repeat}
    fn = wl.run if side == "lighttrack" else wl.mlflow_run
    try:
        if fn is None:
            raise Skip("no MLflow version of this workload")
        fn(ctx)
    except Skip as exc:
        out["skipped"] = str(exc)
    except BaseException:  # report it in the table, keep the other workloads going
        out["error"] = traceback.format_exc()
        traceback.print_exc()
    finally:
        ctx.cleanup()
    out["rows"] = {key: result.summary() for key, result in ctx.results.items()}
    Path(args.result).write_text(json.dumps(out))
    return 0


def run_child(python: str, side: str, wl: Workload, args: argparse.Namespace, env: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="ltbench-result-") as folder:
        result = Path(folder) / "result.json"
        cmd = [python, str(BENCH_DIR / "run.py"), "--child", side, "--only", wl.name, "--result", str(result)]
        if args.quick:
            cmd.append("--quick")
        if args.repeat:
            cmd += ["--repeat", str(args.repeat)]
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, cwd=BENCH_DIR, stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        if result.exists():
            out = json.loads(result.read_text())
        else:
            out = {"rows": {}, "error": f"child exited with code {proc.returncode} and no result", "skipped": None}
        out["wall_s"] = elapsed
        return out


def base_env() -> dict[str, str]:
    """Children compile each module once and reuse the bytecode, as an installed package does:
    PYTHONDONTWRITEBYTECODE (set in some sandboxes) would make every child interpreter
    recompile whatever is stale; the bytecode goes to bench/.cache/pycache, not the source tree."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(CACHE_DIR / "pycache")
    return env


def lighttrack_env() -> dict[str, str]:
    env = base_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("LIGHTTRACK_TRACKING_URI", None)
    return env


def mlflow_env() -> dict[str, str]:
    env = base_env()
    env.pop("MLFLOW_TRACKING_URI", None)
    # No network from a benchmark: MLflow 3 otherwise sends usage telemetry in the background.
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    env.setdefault("DO_NOT_TRACK", "true")
    return env


def find_mlflow(explicit: str | None) -> tuple[str | None, str]:
    """(python that can import mlflow, its version) or (None, why not)."""
    candidates = [explicit] if explicit else [sys.executable, str(MLFLOW_VENV_PYTHON)]
    for python in candidates:
        if not python or not Path(python).exists():
            continue
        probe = subprocess.run(
            [python, "-c", "import mlflow; print(mlflow.__version__)"],
            env=mlflow_env(), capture_output=True, text=True,
        )
        if probe.returncode == 0:
            return python, probe.stdout.strip().splitlines()[-1]
    return None, (
        "mlflow is not installed: pip install mlflow (or, to keep it out of this environment, "
        "python -m venv bench/.mlflow-venv && bench/.mlflow-venv/bin/pip install mlflow)"
    )


# ------------------------------------------------------------------------------- the table
def ratio_text(row, lt: float | None, ml: float | None) -> str:
    if lt is None or ml is None or lt <= 0 or ml <= 0 or math.isnan(lt) or math.isnan(ml):
        return ""
    better = ml / lt if row.better == "lower" else lt / ml
    word = "smaller" if row.unit.startswith("B/") else "faster"
    if better >= 1:
        return f"{fmt(better)}x {word}"
    return f"{fmt(1 / better)}x {'larger' if word == 'smaller' else 'slower'}"


def same_size(lt: dict | None, ml: dict | None) -> bool:
    a = (lt or {}).get("extra", {}).get("n")
    b = (ml or {}).get("extra", {}).get("n")
    return a is None or b is None or a == b


def build_rows(registry: dict[str, Workload], results: dict, vs_mlflow: bool) -> list[dict]:
    rows = []
    for name, sides in results.items():
        wl = registry[name]
        lt_out, ml_out = sides.get("lighttrack") or {}, sides.get("mlflow") or {}
        for row in wl.rows:
            lt = (lt_out.get("rows") or {}).get(row.key)
            ml = (ml_out.get("rows") or {}).get(row.key)
            if lt is None and not lt_out.get("error") and not lt_out.get("skipped"):
                continue  # not measured in this mode (e.g. 100k search under --quick)
            lt_median = lt["median"] if lt else None
            ml_median = ml["median"] if ml else None
            passed = row.passes(lt_median) if lt else None
            if lt_out.get("error"):
                status = "error"
            elif lt_out.get("skipped"):
                status = "skipped"
            else:
                status = "" if passed is None else ("pass" if passed else "MISS")
            notes = list(lt["notes"]) if lt else []
            if lt_out.get("skipped"):
                notes.append(lt_out["skipped"])
            if lt_out.get("error"):
                notes.append(lt_out["error"].strip().splitlines()[-1][:120])
            if vs_mlflow and ml:
                notes += [f"mlflow: {n}" for n in ml["notes"]]
            elif vs_mlflow and ml_out.get("error"):
                notes.append("mlflow error: " + ml_out["error"].strip().splitlines()[-1][:120])
            rows.append({
                "workload": name, "row": row.key, "label": row.label, "unit": row.unit,
                "budget": row.budget, "budget_text": row.budget_text, "better": row.better,
                "lighttrack": lt, "mlflow": ml, "status": status,
                "ratio": ratio_text(row, lt_median, ml_median) if vs_mlflow and same_size(lt, ml) else "",
                "notes": notes,
            })
    return rows


def value_text(result: dict | None, unit: str) -> str:
    if not result or result.get("median") is None:
        return "-"
    return f"{fmt(result['median'])} {unit}"


def print_table(rows: list[dict], vs_mlflow: bool, title: str) -> None:
    headers = ["workload", "lighttrack (median)", "budget", "pass/miss"]
    if vs_mlflow:
        headers += ["mlflow (median)", "ratio"]
    headers.append("notes")
    lines = []
    for r in rows:
        line = [r["label"], value_text(r["lighttrack"], r["unit"]), r["budget_text"], r["status"]]
        if vs_mlflow:
            line += [value_text(r["mlflow"], r["unit"]), r["ratio"]]
        line.append("; ".join(r["notes"]))
        lines.append(line)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
        print(title)
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
        for line in lines:
            print("  ".join(c.ljust(w) for c, w in zip(line, widths)))
        return
    table = Table(title=title, show_lines=False)
    for h in headers:
        justify = "right" if h.endswith("(median)") or h in ("budget", "ratio") else "left"
        table.add_column(h, justify=justify, overflow="fold")
    styles = {"pass": "green", "MISS": "bold red", "error": "bold red", "skipped": "yellow"}
    for line in lines:
        status = line[3]
        line[3] = f"[{styles[status]}]{status}[/]" if status in styles else status
        table.add_row(*line)
    Console(width=max(160, Console().width)).print(table)


def markdown_table(rows: list[dict], vs_mlflow: bool) -> str:
    headers = ["workload", "lighttrack (median)", "budget", "pass/miss"]
    if vs_mlflow:
        headers += ["MLflow (median)", "ratio"]
    headers.append("notes")
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in rows:
        status = "**MISS**" if r["status"] == "MISS" else r["status"]
        cells = [r["label"], value_text(r["lighttrack"], r["unit"]), r["budget_text"], status]
        if vs_mlflow:
            cells += [value_text(r["mlflow"], r["unit"]), r["ratio"]]
        cells.append("; ".join(r["notes"]))
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


def machine() -> dict:
    import sqlite3

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                           capture_output=True, text=True).stdout.strip()
    return {
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version, "commit": commit + ("-dirty" if dirty else ""),
    }


# -------------------------------------------------------------------------------- the main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="lighttrack's benchmark (budgets from DESIGN.md section 10)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run under a minute")
    parser.add_argument("--only", help="comma-separated workload names (see --list)")
    parser.add_argument("--repeat", type=int, help="repeats per workload (default: 5 for fast ones, fewer for slow)")
    parser.add_argument("--json", metavar="FILE", help="write every sample, median, min and max here")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    parser.add_argument("--vs-mlflow", action="store_true", help="run the same workloads through mlflow too")
    parser.add_argument("--mlflow-python", metavar="PYTHON", help="interpreter that has mlflow installed")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    registry = discover()
    if args.list:
        for name, wl in registry.items():
            mark = " (+mlflow)" if wl.mlflow_run else ""
            print(f"{name:12} {wl.title}{mark}: " + "; ".join(r.label for r in wl.rows))
        return 0
    names = list(registry)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in registry]
        if unknown:
            print(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(registry)}", file=sys.stderr)
            return 2
    mlflow_python, mlflow_version = None, ""
    if args.vs_mlflow:
        mlflow_python, mlflow_version = find_mlflow(args.mlflow_python)
        if mlflow_python is None:
            print(mlflow_version, file=sys.stderr)
            args.vs_mlflow = False
        else:
            print(f"mlflow {mlflow_version} ({mlflow_python})", file=sys.stderr)
    results: dict[str, dict] = {}
    for name in names:
        wl = registry[name]
        results[name] = {}
        print(f"== {name}: lighttrack", file=sys.stderr, flush=True)
        results[name]["lighttrack"] = out = run_child(sys.executable, "lighttrack", wl, args, lighttrack_env())
        print(f"   {_summary(wl, out)} ({out['wall_s']:.0f} s)", file=sys.stderr, flush=True)
        if args.vs_mlflow and wl.mlflow_run is not None:
            print(f"== {name}: mlflow", file=sys.stderr, flush=True)
            results[name]["mlflow"] = out = run_child(mlflow_python, "mlflow", wl, args, mlflow_env())
            print(f"   {_summary(wl, out)} ({out['wall_s']:.0f} s)", file=sys.stderr, flush=True)
    rows = build_rows(registry, results, args.vs_mlflow)
    info = machine()
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    title = (f"lighttrack bench {stamp} · {info['cpus']} CPUs · Python {info['python']} · "
             f"SQLite {info['sqlite']} · {info['commit']}" + (" · quick" if args.quick else "")
             + (f" · vs mlflow {mlflow_version}" if args.vs_mlflow else ""))
    print_table(rows, args.vs_mlflow, title)
    misses = [r["label"] for r in rows if r["status"] in ("MISS", "error")]
    if misses:
        print(f"{len(misses)} miss(es): " + "; ".join(misses))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": stamp, "machine": info, "quick": args.quick, "repeat": args.repeat,
            "mlflow": mlflow_version if args.vs_mlflow else None, "rows": rows,
            "raw": results,
        }, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(f"{title}\n\n" + markdown_table(rows, args.vs_mlflow))
    return 0


def _summary(wl: Workload, out: dict) -> str:
    if out.get("error"):
        return "error: " + out["error"].strip().splitlines()[-1][:200]
    if out.get("skipped"):
        return "skipped: " + out["skipped"]
    parts = []
    for row in wl.rows:
        result = (out.get("rows") or {}).get(row.key)
        if result and result.get("median") is not None:
            parts.append(f"{row.key} {fmt(result['median'])} {row.unit}")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
