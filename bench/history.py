"""Benchmark: the history API and the downtime reports over a large incident log.

    .venv/bin/python bench/history.py [--sites 1000] [--days 90] [--repeat 50]
        [--database-url URL | --postgres] [--prometheus URL] [--seed 1]

Builds an incident log of ``--sites`` sites over ``--days`` days (SQLite in a
temporary directory unless ``--database-url`` names another database, which must
be empty, or ``--postgres`` starts a throwaway PostgreSQL), with incident counts like a real fleet's: most sites have a handful of
outages, some a few dozen, a few flap hundreds of times; durations are log-normal
(median about 3 minutes, a tail of hours); some outages are recorded twice (retried
webhooks), some during maintenance, a few are still open.

Then, through the Flask test client with a bearer token (the whole request path:
token check, RBAC, query, arithmetic, JSON):

- ``GET /api/v1/sites/<id>/uptime?window=90d`` (and ``24h``) for the site with the
  most incidents and for a typical one: median and p95 of ``--repeat`` calls. The
  response-time quantiles come from Prometheus at ``--prometheus``; by default a
  loopback port where nothing listens, so the call pays only a refused connection
  (the figure is the admin app's own time).
- ``GET /api/v1/reports/downtime.csv`` for every site over the whole range, read to
  the end piece by piece as a client would (it streams): time, size, rows; and the
  same for ``.xlsx``.
- peak memory of each: the peak of Python allocations during the call
  (``tracemalloc``, in a separate run since tracing slows the code), and the
  process' peak RSS at the end.

Targets (issue 5): uptime for one site under 50 ms, the 1,000-site 90-day CSV under
2 s. Results are printed and written to bench/results/history-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import random
import resource
import shutil
import socket
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from admin_app import create_app  # noqa: E402
from admin_app.auth.tokens import issue_pair  # noqa: E402
from admin_app.db import create_all, get_database, session_scope  # noqa: E402
from admin_app.models import Incident, Site, User  # noqa: E402
from admin_app.roles import Role  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NOW = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
REASONS = ("timeout", "dns", "connect", "tls", "status", "body_mismatch", "body_too_large")


def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


# --------------------------------------------------------------------------- data


def incident_count(rng: random.Random, days: int) -> int:
    """Outages of one site over ``days``: most sites few, some dozens, a few flap."""
    kind = rng.random()
    scale = days / 90
    if kind < 0.60:
        return rng.randint(0, 8)
    if kind < 0.90:
        return int(rng.randint(8, 40) * scale)
    if kind < 0.98:
        return int(rng.randint(40, 120) * scale)
    return int(rng.randint(200, 500) * scale)


def duration_seconds(rng: random.Random) -> int:
    return max(15, min(int(rng.lognormvariate(math.log(180), 1.3)), 3 * 86400))


def build_incidents(rng: random.Random, sites: list[str], days: int) -> list[dict[str, Any]]:
    start_ts = NOW.timestamp() - days * 86400
    rows: list[dict[str, Any]] = []
    for slug in sites:
        count = incident_count(rng, days)
        starts = sorted(rng.uniform(start_ts, NOW.timestamp()) for _ in range(count))
        for n, start in enumerate(starts):
            started = dt.datetime.fromtimestamp(int(start), dt.UTC)
            ended: dt.datetime | None = started + dt.timedelta(seconds=duration_seconds(rng))
            if ended >= NOW or (n == count - 1 and rng.random() < 0.01):
                ended = None  # still open
            row = {
                "site_slug": slug,
                "started_at": started,
                "ended_at": ended,
                "reason": rng.choice(REASONS),
                "maintenance": rng.random() < 0.05,
                "fingerprint": f"{slug}-{n}",
            }
            rows.append(row)
            if rng.random() < 0.02:  # a retried webhook recorded it twice
                rows.append({**row, "fingerprint": f"{slug}-{n}-again"})
    return rows


def populate(app: Any, n_sites: int, days: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    slugs = [f"site-{i:05d}" for i in range(n_sites)]
    created = NOW - dt.timedelta(days=days + 30)
    t0 = time.perf_counter()
    with session_scope(app) as session:
        session.execute(
            insert(Site),
            [
                {
                    "slug": slug,
                    "name": f"Site {i} ({slug}.example.com)",
                    "url": f"https://{slug}.example.com/health",
                    "created_at": created,
                    "updated_at": created,
                }
                for i, slug in enumerate(slugs)
            ],
        )
        ids = dict(
            session.execute(Site.__table__.select().with_only_columns(Site.slug, Site.id)).all()
        )
        incidents = build_incidents(rng, slugs, days)
        for chunk in range(0, len(incidents), 5000):
            session.execute(
                insert(Incident),
                [
                    {**row, "site_id": ids[row["site_slug"]], "created_at": NOW, "updated_at": NOW}
                    for row in incidents[chunk : chunk + 5000]
                ],
            )
    per_site: dict[str, int] = {}
    for row in incidents:
        per_site[row["site_slug"]] = per_site.get(row["site_slug"], 0) + 1
    counts = sorted(per_site.get(s, 0) for s in slugs)
    busiest = max(slugs, key=lambda s: per_site.get(s, 0))
    typical = min(slugs, key=lambda s: abs(per_site.get(s, 0) - counts[len(counts) // 2]))
    return {
        "sites": n_sites,
        "days": days,
        "incidents": len(incidents),
        "open": sum(1 for r in incidents if r["ended_at"] is None),
        "per_site": {
            "median": counts[len(counts) // 2],
            "p90": counts[int(len(counts) * 0.9)],
            "max": counts[-1],
        },
        "busiest": busiest,
        "busiest_incidents": per_site.get(busiest, 0),
        "typical": typical,
        "typical_incidents": per_site.get(typical, 0),
        "populate_seconds": round(time.perf_counter() - t0, 2),
    }


# --------------------------------------------------------------------------- timing


def timed(call: Callable[[], Any], repeat: int) -> dict[str, float]:
    call()  # warm up (imports, statement cache)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    times.sort()
    return {
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))] * 1000, 2),
        "min_ms": round(times[0] * 1000, 2),
    }


def traced_peak(call: Callable[[], Any]) -> float:
    """Peak of Python allocations during ``call``, in MiB."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round((peak - base) / 2**20, 2)


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="upwatch-bench-history-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    app = create_app(
        {
            "DATABASE_URL": url,
            "DATA_DIR": str(tmp),
            "SECRET_KEY": "bench",
            "SITES_FILE": str(tmp / "sites.yml"),
            "ALERTMANAGER_CONFIG": str(tmp / "alertmanager.yml"),
            "PASSWORD_HASH_PROFILE": "fast",
            "PROMETHEUS_URL": args.prometheus or refused_url(),
            "CLOCK": lambda: NOW,
        }
    )
    with app.app_context():
        create_all(app)
    data = populate(app, args.sites, args.days, args.seed)
    with session_scope(app) as session:
        user = User(username="bench", password_hash="-", role=Role.ADMIN.value)
        session.add(user)
        session.flush()
        token = issue_pair(session, user, 86400, 86400).as_json()["access_token"]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def get(path: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(path, headers=headers)
            body = response.get_data()  # the whole body, streamed or not
            assert response.status_code == 200, body[:300]
            return body

        return call

    def download(path: str) -> Callable[[], int]:
        """Read a report to the end piece by piece, as a client would, keeping
        nothing: the memory measured is the server's."""

        def call() -> int:
            response = client.get(path, headers=headers, buffered=False)
            assert response.status_code == 200
            size = 0
            try:
                for piece in response.response:
                    size += len(piece)
            finally:
                response.close()
            return size

        return call

    uptime = {}
    for label, slug in (("busiest", data["busiest"]), ("typical", data["typical"])):
        for window in ("90d", "24h"):
            path = f"/api/v1/sites/{slug}/uptime?window={window}"
            uptime[f"{label} {window}"] = {
                **timed(get(path), args.repeat),
                "peak_mib": traced_peak(get(path)),
            }
    history_path = f"/api/v1/sites/{data['busiest']}/history?from=2024-12-01T00:00:00Z"
    history = {**timed(get(history_path), args.repeat), "peak_mib": traced_peak(get(history_path))}

    reports = {}
    frm = (NOW - dt.timedelta(days=args.days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    to = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    for ext in ("csv", "xlsx"):
        path = f"/api/v1/reports/downtime.{ext}?from={frm}&to={to}"
        body = get(path)()
        reports[ext] = {
            **timed(download(path), args.report_repeat),
            "bytes": len(body),
            "peak_mib": traced_peak(download(path)),
        }
        if ext == "csv":
            text = body.decode()
            incidents_part, _, summary_part = text.partition("\r\n\r\n")
            reports[ext]["incident_rows"] = incidents_part.count("\n") - 1
            reports[ext]["summary_rows"] = summary_part.count("\n") - 1
    get_database(app).dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": __import__("os").cpu_count(),
            "platform": platform.platform(),
        },
        "database": url.split(":", 1)[0].split("+")[0]
        if args.database_url
        else "sqlite (temp file)",
        "prometheus": args.prometheus or "none (refused port)",
        "data": data,
        "uptime": uptime,
        "history": history,
        "reports": reports,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def report(r: dict[str, Any]) -> str:
    d = r["data"]
    lines = [
        f"History benchmark, {r['when']}, Python {r['machine']['python']}, "
        f"{r['machine']['cpus']} CPUs, {r['database']}, Prometheus: {r['prometheus']}",
        f"Data: {d['sites']:,} sites x {d['days']} days, {d['incidents']:,} incidents "
        f"({d['open']} open); per site median {d['per_site']['median']}, "
        f"p90 {d['per_site']['p90']}, max {d['per_site']['max']}",
        "",
        f"{'call':<44}{'median':>10}{'p95':>10}{'peak mem':>11}",
    ]
    for label, m in r["uptime"].items():
        which, window = label.split()
        slug = d[which]
        n = d[f"{which}_incidents"]
        name = f"uptime {window}, {which} site ({n} incidents)"
        lines.append(
            f"{name:<44}{m['median_ms']:>8.1f}ms{m['p95_ms']:>8.1f}ms{m['peak_mib']:>8.2f}MiB"
        )
        del slug
    h = r["history"]
    lines.append(
        f"{'history 90d, busiest site':<44}{h['median_ms']:>8.1f}ms{h['p95_ms']:>8.1f}ms"
        f"{h['peak_mib']:>8.2f}MiB"
    )
    for ext, m in r["reports"].items():
        name = f"report .{ext}, all sites, {d['days']} days ({m['bytes'] / 2**20:.1f} MiB)"
        lines.append(
            f"{name:<44}{m['median_ms'] / 1000:>9.2f}s{m['p95_ms'] / 1000:>9.2f}s"
            f"{m['peak_mib']:>8.2f}MiB"
        )
    lines.append(f"process peak RSS: {r['peak_rss_mib']} MiB")
    worst_uptime = max(m["p95_ms"] for m in r["uptime"].values())
    csv_s = r["reports"]["csv"]["median_ms"] / 1000
    lines.append(
        f"targets: uptime < 50 ms: {'met' if worst_uptime < 50 else 'MISSED'} "
        f"(worst p95 {worst_uptime:.1f} ms); CSV < 2 s: "
        f"{'met' if csv_s < 2 else 'MISSED'} ({csv_s:.2f} s)"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sites", type=int, default=1000)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--repeat", type=int, default=50, help="calls of each API endpoint")
    p.add_argument("--report-repeat", type=int, default=5, help="downloads of each report")
    p.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    p.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL (Debian's server binaries) and use it",
    )
    p.add_argument("--prometheus", help="Prometheus URL for the latency quantiles")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = None
    if args.postgres:
        from tests.admin_app import pg

        server = pg.start()
        args.database_url = server.create_database("upwatch_bench")
    try:
        results = run(args)
    finally:
        if server is not None:
            server.stop()
    print(report(results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"history-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
