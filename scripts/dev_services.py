"""`make run`'s helpers for newcomers: an SMTP catcher that keeps every email as a
file under var/mail/, and a demo site that goes down and up on a timer so that a
whole alert cycle (down email and SMS, then up) is seen within ten minutes.

    python scripts/dev_services.py --smtp-port 2525 --demo-port 8081 --mail-dir var/mail
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller


class MailToFiles:
    """aiosmtpd handler: each message becomes <mail dir>/<time>-<n>.eml."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.count += 1
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            path = self.directory / f"{stamp}-{self.count:04d}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        print(f"mail: {path.name} to {', '.join(envelope.rcpt_tos)}", flush=True)
        return "250 Message accepted for delivery"


def demo_is_up(started: float, up_for: float, down_for: float, now: float) -> bool:
    """Up for ``up_for`` seconds, then down for ``down_for``, and again."""
    return (now - started) % (up_for + down_for) < up_for


def demo_server(port: int, up_for: float, down_for: float) -> ThreadingHTTPServer:
    started = time.time()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            return None

        def do_GET(self) -> None:
            up = demo_is_up(started, up_for, down_for, time.time())
            if self.path == "/state":
                cycle = (time.time() - started) % (up_for + down_for)
                left = (up_for - cycle) if up else (up_for + down_for - cycle)
                body = json.dumps({"up": up, "changes_in_seconds": round(left)}).encode()
                code = 200
            else:
                body = b"demo site: all OK\n" if up else b"demo site: down on purpose\n"
                code = 200 if up else 503
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smtp-port", type=int, required=True)
    p.add_argument("--demo-port", type=int, required=True)
    p.add_argument("--mail-dir", type=Path, required=True)
    p.add_argument("--up-for", type=float, default=240.0, help="seconds up (default 240)")
    p.add_argument("--down-for", type=float, default=120.0, help="seconds down (default 120)")
    args = p.parse_args()
    args.mail_dir.mkdir(parents=True, exist_ok=True)
    smtp = Controller(MailToFiles(args.mail_dir), hostname="127.0.0.1", port=args.smtp_port)
    smtp.start()
    demo = demo_server(args.demo_port, args.up_for, args.down_for)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=demo.serve_forever, daemon=True).start()
    print(f"smtp catcher on 127.0.0.1:{args.smtp_port}, demo site on 127.0.0.1:{args.demo_port}")
    stop.wait()
    demo.shutdown()
    smtp.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
