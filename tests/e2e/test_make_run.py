"""`make run` from the README: everything it prints answers, the printed login works,
and Ctrl-C stops every part."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_starts_the_stack_and_ctrl_c_stops_it(tmp_path):
    names = ("EXPORTER", "PROMETHEUS", "ALERTMANAGER", "ADMIN", "DEMO", "SMTP_CATCHER")
    ports = {name: free_port() for name in names}
    env = {
        **os.environ,
        "UPWATCH_DATA_DIR": str(tmp_path / "var"),
        **{f"UPWATCH_{name}_PORT": str(port) for name, port in ports.items()},
    }
    env.pop("UPWATCH_ADMIN_PASSWORD", None)
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 180
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                break
            assert time.monotonic() < deadline, "".join(lines)
        output = "".join(lines)
        assert "Press Ctrl-C to stop." in output, output
        urls = re.findall(r"^\s+\S.*?(http://127\.0\.0\.1:\d+\S*)", output, re.M)
        assert len(urls) >= 5, output
        for url in urls:
            assert httpx.get(url, timeout=10, follow_redirects=True).status_code == 200, url
        # the printed login works
        user, password = re.search(r"login\s+(\S+) / (\S+)", output).groups()
        admin = f"http://127.0.0.1:{ports['ADMIN']}"
        token = httpx.post(
            f"{admin}/api/v1/auth/token", json={"username": user, "password": password}
        )
        assert token.status_code == 200, token.text
        sites = httpx.get(
            f"{admin}/api/v1/sites",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert sites.status_code == 200
        listed = {site["id"]: site for site in sites.json()["sites"]}
        assert len(listed) >= 6  # the example sites were imported
        # the demo site pages an on-call contact by email and SMS
        demo = httpx.get(
            f"{admin}/api/v1/sites/demo",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        ).json()
        assert any(c["email"] == "oncall@example.com" for c in demo["all_contacts"]), demo
        # ... and Alertmanager is set to email it through the local catcher
        generated = (tmp_path / "var" / "alertmanager.yml").read_text()
        assert f"smtp_smarthost: 127.0.0.1:{ports['SMTP_CATCHER']}" in generated
        assert "smtp_from: upwatch@example.com" in generated
        assert "to: oncall@example.com" in generated
        # Prometheus loaded the shipped rules (a copied config must still find them)
        rules = httpx.get(f"http://127.0.0.1:{ports['PROMETHEUS']}/api/v1/rules").json()
        names = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
        assert {"SiteDown", "UpwatchExporterDown", "Watchdog"} <= names
        # the exporter probes the site list the admin app generated
        health = httpx.get(f"http://127.0.0.1:{ports['EXPORTER']}/healthz").json()
        assert health["sites"] >= 6 and health["last_reload_successful"]
        # the SMTP catcher takes mail and keeps it under var/mail
        import smtplib

        with smtplib.SMTP("127.0.0.1", ports["SMTP_CATCHER"], timeout=10) as smtp:
            smtp.sendmail("a@localhost", ["b@localhost"], "Subject: hello\r\n\r\nhi\r\n")
        assert list((tmp_path / "var" / "mail").glob("*.eml"))
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rest, _ = proc.communicate()
    # make itself dies of the SIGINT it forwarded, as it does at a terminal; the
    # stack's own clean stop shows in its output and in the ports being free
    assert proc.returncode in (0, -signal.SIGINT), "".join(lines) + rest
    assert "stopping" in rest
    # Every part is gone. A process in the middle of exiting can still hold its
    # socket (accepting, never answering: a read timeout) for a moment, so each
    # port gets a few seconds to close; one still open after that is a leftover.
    for port in ports.values():
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            except httpx.ConnectError:
                break
            except httpx.TimeoutException:
                pass
            assert time.monotonic() < deadline, f"something still listens on {port}"
            time.sleep(0.5)
