"""Generate Upwatch's Grafana dashboards into ``grafana/dashboards/``.

    python -m grafana.build            # (re)write the JSON files
    python -m grafana.build --check    # exit 1 if a committed file is out of date

The committed JSON is what Grafana's file provider loads; edit the Python, never
the JSON.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana import overview, site_detail, sla_report, upwatch_self
from grafana.kit import render

OUT_DIR = Path(__file__).resolve().parent / "dashboards"

# file name -> builder (returns the dashboard as a JSON-ready dict)
DASHBOARDS: dict[str, Callable[[], dict[str, Any]]] = {
    "overview.json": overview.build,
    "site-detail.json": site_detail.build,
    "sla-report.json": sla_report.build,
    "upwatch.json": upwatch_self.build,
}


def generate() -> dict[str, str]:
    """File name -> the text it should hold."""
    return {name: render(build()) for name, build in DASHBOARDS.items()}


def stale(out_dir: Path = OUT_DIR) -> list[str]:
    """Files that differ from what the generator produces (or are missing or extra)."""
    wanted = generate()
    problems = [
        name
        for name, text in wanted.items()
        if not (out_dir / name).exists() or (out_dir / name).read_text(encoding="utf-8") != text
    ]
    problems += sorted(p.name for p in out_dir.glob("*.json") if p.name not in wanted)
    return problems


def write(out_dir: Path = OUT_DIR) -> list[str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate().items():
        path = out_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grafana.build", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for name in bad:
            print(f"grafana/dashboards/{name} is out of date: run python -m grafana.build")
        return 1 if bad else 0
    for name in write():
        print(f"wrote grafana/dashboards/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
