"""Applying the generated configuration: the only module of config generation with
side effects.

One application (:func:`apply_config`):

1. render ``sites.yml``, ``alertmanager.yml`` and the small ``upwatch-links.tmpl``
   written beside it, from the specs (pure functions);
2. validate before writing anything: the site list with the exporter's own
   validation (:func:`exporter.config.parse_site_list`, what ``upwatch-exporter
   --check-config`` runs) with a check that the text reads back as exactly what was
   validated; ``alertmanager.yml`` (and the templates) with ``amtool check-config``
   on a temporary copy. Any error: nothing is written, the files on disk stay as
   they were, and the result says why;
3. write each file that changed atomically: a temporary file in the same directory,
   fsync, ``os.replace``, fsync of the directory. A reader sees the old file or the
   new one, never half of one;
4. ``POST /-/reload`` to every exporter (``UPWATCH_EXPORTER_URL``, comma-separated for
   shards) and Alertmanager (``UPWATCH_ALERTMANAGER_URL``, comma-separated for a
   cluster) whose file changed. A failed reload leaves the new files in place and is
   reported as pending.

:class:`ConfigApplier` adds what the app needs around it: ``request()`` coalesces
many quick edits into one regeneration after a quiet period, a background thread
retries pending reloads with exponential backoff, and ``status()`` (also written to a
JSON file, for the other worker processes) tells the settings page what happened.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from admin_app.configgen import alertmanager_yml, sites_yml
from admin_app.configgen.specs import GlobalSpec, SiteSpec
from admin_app.logs import log

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BASE_CONFIG = REPO_ROOT / "alertmanager" / "base.yml"
EXTENSION_KEY = "upwatch_configgen"
STATUS_FILE = "configgen-status.json"

EXPORTER = "exporter"
ALERTMANAGER = "alertmanager"

Loader = Callable[[], tuple[Sequence[SiteSpec], GlobalSpec]]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def split_urls(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"http://a:1, http://b:2"`` (or a list) -> ``("http://a:1", "http://b:2")``."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(u.strip().rstrip("/") for u in items if u and u.strip())


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ApplySettings:
    """Where the files go, whom to reload, and how to validate."""

    sites_file: Path
    alertmanager_file: Path
    base_config: Path = DEFAULT_BASE_CONFIG
    # Replaces the base's ``templates`` (e.g. where a container mounts them); by
    # default the base's relative paths are resolved against the base file's folder.
    templates: tuple[str, ...] | None = None
    exporter_urls: tuple[str, ...] = ()
    alertmanager_urls: tuple[str, ...] = ()
    # ``amtool`` on PATH (or /usr/bin); None: do not validate with amtool.
    amtool: str | None = "amtool"
    # Mode of a file created for the first time (both may hold secrets: probe
    # headers, the SMTP password, the webhook token). An existing file keeps its own.
    file_mode: int = 0o640
    reload_timeout: float = 10.0
    check_timeout: float = 60.0

    def reload_targets(self) -> list[tuple[str, str]]:
        return [(EXPORTER, u) for u in self.exporter_urls] + [
            (ALERTMANAGER, u) for u in self.alertmanager_urls
        ]


def settings_from_config(config: Any) -> ApplySettings:
    """:class:`ApplySettings` from the Flask config (``admin_app.config.from_env``):
    SITES_FILE, ALERTMANAGER_CONFIG, EXPORTER_URL, ALERTMANAGER_URL, and optionally
    ALERTMANAGER_BASE_CONFIG, ALERTMANAGER_TEMPLATES (globs, comma-separated), AMTOOL
    and CONFIG_FILE_MODE (octal, e.g. 0644 when Alertmanager runs as another user),
    or the matching ``UPWATCH_*`` environment variables."""
    data_dir = Path(config.get("DATA_DIR") or "var")
    env = os.environ
    templates = config.get("ALERTMANAGER_TEMPLATES") or env.get("UPWATCH_ALERTMANAGER_TEMPLATES")
    return ApplySettings(
        sites_file=Path(config.get("SITES_FILE") or data_dir / "sites.yml"),
        alertmanager_file=Path(config.get("ALERTMANAGER_CONFIG") or data_dir / "alertmanager.yml"),
        base_config=Path(
            config.get("ALERTMANAGER_BASE_CONFIG")
            or env.get("UPWATCH_ALERTMANAGER_BASE_CONFIG")
            or DEFAULT_BASE_CONFIG
        ),
        templates=split_urls(templates) if templates else None,
        exporter_urls=split_urls(config.get("EXPORTER_URL")),
        alertmanager_urls=split_urls(config.get("ALERTMANAGER_URL")),
        amtool=config.get("AMTOOL") or env.get("UPWATCH_AMTOOL") or "amtool",
        file_mode=_file_mode(config.get("CONFIG_FILE_MODE") or env.get("UPWATCH_CONFIG_FILE_MODE")),
    )


def _file_mode(value: str | int | None) -> int:
    """``"0644"``/``"644"`` (octal text) or an int; 0o640 when unset."""
    if value is None or value == "":
        return 0o640
    mode = value if isinstance(value, int) else int(str(value), 8)
    if not 0 <= mode <= 0o777:
        raise ValueError(f"UPWATCH_CONFIG_FILE_MODE={value!r} is not a file mode such as 0640")
    return mode


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ReloadOutcome:
    target: str  # exporter | alertmanager
    url: str
    ok: bool
    error: str | None = None
    at: datetime = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at": _iso(self.at)}


@dataclass(frozen=True)
class ApplyResult:
    """What one application did. ``ok`` is False when nothing was written (invalid
    configuration, unreadable database, a file that could not be written)."""

    ok: bool
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    reloads: tuple[ReloadOutcome, ...] = ()
    at: datetime = field(default_factory=_now)

    @property
    def reload_pending(self) -> bool:
        return any(not r.ok for r in self.reloads)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "written": list(self.written),
            "unchanged": list(self.unchanged),
            "reloads": [r.to_dict() for r in self.reloads],
            "reload_pending": self.reload_pending,
            "at": _iso(self.at),
        }

    def __str__(self) -> str:
        lines = []
        if not self.ok:
            lines.append("configuration NOT applied; the files on disk are unchanged:")
            lines += [f"  error: {e}" for e in self.errors]
        else:
            lines += [f"wrote {p}" for p in self.written]
            lines += [f"unchanged {p}" for p in self.unchanged]
        lines += [f"  warning: {w}" for w in self.warnings]
        for r in self.reloads:
            if r.ok:
                lines.append(f"reloaded {r.target} at {r.url}")
            else:
                lines.append(f"reload of {r.target} at {r.url} pending: {r.error}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Rendered:
    sites_text: str
    alertmanager_text: str
    links_text: str  # alertmanager_yml.LINKS_TEMPLATE, next to alertmanager.yml
    sites_data: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- steps


def load_base_config(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the Alertmanager base config must be a mapping")
    return data


def render(sites: Sequence[SiteSpec], global_spec: GlobalSpec, settings: ApplySettings) -> Rendered:
    """Both files as text (reads the base config; otherwise pure)."""
    base = load_base_config(settings.base_config)
    sites_data = sites_yml.build_sites_config(sites, global_spec)
    sites_text = sites_yml.render_yaml(sites_data)
    am = alertmanager_yml.build_alertmanager_config(
        sites,
        global_spec,
        base,
        base_dir=str(Path(settings.base_config).resolve().parent),
        templates=settings.templates,
    )
    am_text = sites_yml.render_yaml(am, header=alertmanager_yml.HEADER)
    links_text = alertmanager_yml.links_template(global_spec)
    warnings = alertmanager_yml.generation_warnings(sites, global_spec, base)
    return Rendered(sites_text, am_text, links_text, sites_data, tuple(warnings))


def validate_sites_text(text: str, data: dict[str, Any] | None = None) -> list[str]:
    """The exporter's own validation (what ``upwatch-exporter --check-config`` runs).

    With ``data`` (the dict ``text`` was rendered from), the dict is validated and
    ``text`` is checked to read back as exactly that dict, with libyaml: the same
    guarantee as parsing the text with the exporter's loader, many times faster for
    thousands of sites."""
    from exporter.config import ConfigError, parse_site_list, parse_yaml

    try:
        if data is None:
            parse_yaml(text, "sites.yml")
        else:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            if yaml.load(text, Loader=loader) != data:
                return ["sites.yml: the YAML text does not read back as what was generated"]
            parse_site_list(data, "sites.yml")
    except ConfigError as exc:
        return [f"sites.yml: {e}" for e in exc.errors]
    return []


def find_amtool(amtool: str | None) -> str | None:
    if not amtool:
        return None
    found = shutil.which(amtool)
    if found:
        return found
    fallback = Path("/usr/bin") / Path(amtool).name
    return str(fallback) if fallback.exists() and os.access(fallback, os.X_OK) else None


def validate_alertmanager_text(
    text: str, amtool: str, timeout: float = 60.0, links_text: str | None = None
) -> list[str]:
    """``amtool check-config`` on a temporary copy of ``text`` (with the generated
    links template beside it, as it will be), which also parses the templates."""
    with tempfile.TemporaryDirectory(prefix="upwatch-amcheck-") as tmp:
        path = Path(tmp) / "alertmanager.yml"
        path.write_text(text, encoding="utf-8")
        if links_text is not None:
            (Path(tmp) / alertmanager_yml.LINKS_TEMPLATE).write_text(links_text, encoding="utf-8")
        try:
            proc = subprocess.run(
                [amtool, "check-config", str(path)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [f"alertmanager.yml: could not run amtool check-config: {exc}"]
    if proc.returncode == 0:
        return []
    output = (proc.stdout + "\n" + proc.stderr).replace(str(path), "alertmanager.yml")
    output = output.replace(tmp + "/", "")
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    interesting = [ln for ln in lines if "FAILED" in ln or "error" in ln.lower()] or lines
    return [f"alertmanager.yml: {ln}" for ln in interesting] or [
        f"alertmanager.yml: amtool check-config failed (exit {proc.returncode})"
    ]


def write_atomic(path: Path, text: str, mode: int = 0o640) -> bool:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a
    part. Returns False (and writes nothing) when the content is already the same.
    A file that exists keeps its mode (and group, when allowed)."""
    path = Path(path)
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        st = path.stat()
        mode, gid = st.st_mode & 0o7777, st.st_gid
    except FileNotFoundError:
        gid = None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if gid is not None:
            with contextlib.suppress(OSError):
                os.chown(tmp, -1, gid)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return True


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def post_reload(target: str, url: str, timeout: float = 10.0) -> ReloadOutcome:
    """``POST <url>/-/reload``; any 2xx is success."""
    endpoint = url.rstrip("/") + "/-/reload"
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.post(endpoint)
    except httpx.HTTPError as exc:
        error = f"cannot reach {endpoint}: {exc.__class__.__name__}: {exc}"
        return ReloadOutcome(target, url, False, error)
    if 200 <= response.status_code < 300:
        return ReloadOutcome(target, url, True)
    body = " ".join(response.text.split())[:300]
    return ReloadOutcome(target, url, False, f"HTTP {response.status_code} from {endpoint}: {body}")


def apply_config(
    sites: Sequence[SiteSpec],
    global_spec: GlobalSpec,
    settings: ApplySettings,
    *,
    force_reload: bool = False,
    also_reload: Sequence[tuple[str, str]] = (),
) -> ApplyResult:
    """Render, validate, write and reload, once (no retries; see ConfigApplier).

    Reloads the targets whose file changed, all of them with ``force_reload``, and
    ``also_reload`` (targets whose earlier reload is still pending)."""
    try:
        rendered = render(sites, global_spec, settings)
    except Exception as exc:  # a broken base file or a spec the generator refuses
        return ApplyResult(False, errors=(f"cannot generate the configuration: {exc}",))

    errors = validate_sites_text(rendered.sites_text, rendered.sites_data)
    warnings = list(rendered.warnings)
    amtool = find_amtool(settings.amtool)
    if amtool:
        errors += validate_alertmanager_text(
            rendered.alertmanager_text, amtool, settings.check_timeout, rendered.links_text
        )
    else:
        warnings.append(
            "amtool not found: alertmanager.yml was not validated before writing "
            "(Alertmanager still refuses an invalid file on reload and keeps the old one)"
        )
    if errors:
        log("config_apply_rejected", errors=len(errors), first=errors[0])
        return ApplyResult(False, errors=tuple(errors), warnings=tuple(warnings))

    written, unchanged, changed_kinds = [], [], set()
    links_file = settings.alertmanager_file.parent / alertmanager_yml.LINKS_TEMPLATE
    files = (
        (EXPORTER, settings.sites_file, rendered.sites_text),
        # The links template before the config that names it.
        (ALERTMANAGER, links_file, rendered.links_text),
        (ALERTMANAGER, settings.alertmanager_file, rendered.alertmanager_text),
    )
    try:
        for kind, path, text in files:
            if write_atomic(path, text, settings.file_mode):
                written.append(str(path))
                changed_kinds.add(kind)
            else:
                unchanged.append(str(path))
    except OSError as exc:
        error = f"cannot write {exc.filename or 'the configuration'}: {exc.strerror or exc}"
        return ApplyResult(
            False,
            errors=(error,),
            warnings=tuple(warnings),
            written=tuple(written),
            unchanged=tuple(unchanged),
        )

    extra = set(also_reload)
    reloads = tuple(
        post_reload(kind, url, settings.reload_timeout)
        for kind, url in settings.reload_targets()
        if force_reload or kind in changed_kinds or (kind, url) in extra
    )
    result = ApplyResult(
        True,
        warnings=tuple(warnings),
        written=tuple(written),
        unchanged=tuple(unchanged),
        reloads=reloads,
    )
    log(
        "config_applied",
        written=",".join(written) or "-",
        sites=sum(1 for s in sites if not s.paused),
        reloaded=",".join(r.url for r in reloads if r.ok) or "-",
        reload_pending=",".join(r.url for r in reloads if not r.ok) or "-",
    )
    for warning in rendered.warnings:  # what the configuration cannot do (nobody paged...)
        log("config_warning", logging.WARNING, warning=warning)
    return result


# --------------------------------------------------------------------------- applier


@dataclass
class PendingReload:
    target: str
    url: str
    since: datetime
    attempts: int
    last_error: str | None
    next_attempt: float  # monotonic

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "target": self.target,
            "url": self.url,
            "since": _iso(self.since),
            "attempts": self.attempts,
            "last_error": self.last_error,
            "next_retry_in_seconds": max(0.0, round(self.next_attempt - now, 3)),
        }


@dataclass(frozen=True)
class ApplierStatus:
    """What the settings page shows."""

    last_result: ApplyResult | None
    last_applied_at: datetime | None
    last_error: str | None
    pending_reloads: tuple[dict[str, Any], ...]
    regenerations: int
    regeneration_requested: bool

    @property
    def reload_pending(self) -> bool:
        return bool(self.pending_reloads)

    def to_dict(self) -> dict[str, Any]:
        return {
            "last_result": self.last_result.to_dict() if self.last_result else None,
            "last_applied_at": _iso(self.last_applied_at),
            "last_error": self.last_error,
            "pending_reloads": list(self.pending_reloads),
            "reload_pending": self.reload_pending,
            "regenerations": self.regenerations,
            "regeneration_requested": self.regeneration_requested,
        }


class ConfigApplier:
    """Regenerates on request, after a quiet period, and retries failed reloads.

    ``load`` returns the current specs (it reads the database; it runs on the
    applier's thread, or on the caller's for :meth:`apply_now`).

    * :meth:`request` marks the configuration stale. The regeneration runs once no
      request has come for ``quiet_period`` seconds, and at the latest ``max_delay``
      seconds after the first request, so a stream of edits cannot hold it back.
    * A reload that failed is retried after ``retry_initial`` seconds, then twice as
      long each time up to ``retry_max``, until it succeeds or a newer application
      reloads that target.
    * One application runs at a time (a lock), whoever started it.
    """

    def __init__(
        self,
        load: Loader,
        settings: ApplySettings,
        *,
        quiet_period: float = 0.5,
        max_delay: float = 5.0,
        retry_initial: float = 1.0,
        retry_max: float = 60.0,
        status_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.load = load
        self.settings = settings
        self.quiet_period = quiet_period
        self.max_delay = max_delay
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.status_path = Path(status_path) if status_path else None
        self._clock = clock
        self._cond = threading.Condition()
        self._apply_lock = threading.Lock()
        self._due: float | None = None
        self._first_request: float | None = None
        self._running = 0  # regenerations in progress (worker and apply_now)
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pending: dict[tuple[str, str], PendingReload] = {}
        self._last_result: ApplyResult | None = None
        self._last_applied_at: datetime | None = None
        self._last_error: str | None = None
        self._regenerations = 0

    # ----------------------------------------------------------------- public

    def request(self, reason: str = "") -> None:
        """The configuration is stale: regenerate after the quiet period."""
        with self._cond:
            if self._closed:
                return
            now = self._clock()
            if self._first_request is None:
                self._first_request = now
            self._due = now + self.quiet_period
            self._ensure_thread()
            self._cond.notify_all()

    def apply_now(self, force_reload: bool = False) -> ApplyResult:
        """Regenerate now, on the caller's thread (``upwatch-admin regen-config``,
        an "apply now" button). A request waiting for its quiet period is served by
        this run."""
        with self._cond:
            self._due = self._first_request = None
            self._running += 1
        try:
            return self._regenerate(force_reload)
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def retry_reloads_now(self) -> None:
        """Retry every pending reload at once (a "retry now" button)."""
        with self._cond:
            now = self._clock()
            for pending in self._pending.values():
                pending.next_attempt = now
            if self._pending:
                self._ensure_thread()
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until no regeneration is waiting or running. False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._due is not None or self._running:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def wait_for_reloads(self, timeout: float | None = None) -> bool:
        """Wait until no reload is pending. False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending or self._due is not None or self._running:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def status(self) -> ApplierStatus:
        with self._cond:
            now = self._clock()
            return ApplierStatus(
                last_result=self._last_result,
                last_applied_at=self._last_applied_at,
                last_error=self._last_error,
                pending_reloads=tuple(p.to_dict(now) for p in self._pending.values()),
                regenerations=self._regenerations,
                regeneration_requested=self._due is not None or self._running > 0,
            )

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ----------------------------------------------------------------- internals

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="upwatch-configgen", daemon=True)
            self._thread.start()

    def _next_wake(self) -> float | None:
        times = []
        if self._due is not None:
            assert self._first_request is not None
            times.append(min(self._due, self._first_request + self.max_delay))
        times += [p.next_attempt for p in self._pending.values()]
        return min(times) if times else None

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    wake = self._next_wake()
                    now = self._clock()
                    if wake is None:
                        self._cond.wait()
                    elif wake > now:
                        self._cond.wait(wake - now)
                    else:
                        break
                regen_due = self._due is not None and self._next_wake_regen() <= now
                if regen_due:
                    self._due = self._first_request = None
                    self._running += 1
            try:
                if regen_due:
                    self._regenerate(False)
                else:
                    self._retry_due()
            except Exception as exc:  # never let the thread die
                log("config_apply_crashed", error=f"{exc.__class__.__name__}: {exc}")
            finally:
                if regen_due:
                    with self._cond:
                        self._running -= 1
                        self._cond.notify_all()

    def _next_wake_regen(self) -> float:
        assert self._due is not None and self._first_request is not None
        return min(self._due, self._first_request + self.max_delay)

    def _regenerate(self, force_reload: bool) -> ApplyResult:
        with self._apply_lock:
            with self._cond:
                self._regenerations += 1
                pending = list(self._pending)
            try:
                sites, global_spec = self.load()
            except Exception as exc:
                result = ApplyResult(
                    False, errors=(f"cannot read the sites from the database: {exc}",)
                )
            else:
                result = apply_config(
                    sites,
                    global_spec,
                    self.settings,
                    force_reload=force_reload,
                    also_reload=pending,
                )
            with self._cond:
                self._last_result = result
                if result.ok:
                    self._last_applied_at = result.at
                    self._last_error = None
                else:
                    self._last_error = "; ".join(result.errors)
                for outcome in result.reloads:
                    self._record_reload(outcome)
                self._cond.notify_all()
            self._write_status()
            return result

    def _record_reload(self, outcome: ReloadOutcome) -> None:
        """Called with the condition held."""
        key = (outcome.target, outcome.url)
        if outcome.ok:
            self._pending.pop(key, None)
            return
        pending = self._pending.get(key)
        if pending is None:
            pending = PendingReload(outcome.target, outcome.url, outcome.at, 0, None, 0.0)
            self._pending[key] = pending
        pending.attempts += 1
        pending.last_error = outcome.error
        delay = min(self.retry_max, self.retry_initial * 2 ** (pending.attempts - 1))
        pending.next_attempt = self._clock() + delay
        if self._thread is None or not self._thread.is_alive():
            self._ensure_thread()

    def _retry_due(self) -> None:
        with self._apply_lock:
            with self._cond:
                now = self._clock()
                due = [p for p in self._pending.values() if p.next_attempt <= now]
            outcomes = [post_reload(p.target, p.url, self.settings.reload_timeout) for p in due]
            with self._cond:
                for outcome in outcomes:
                    if (outcome.target, outcome.url) in self._pending:
                        self._record_reload(outcome)
                if self._last_result is not None and outcomes:
                    self._last_result = replace(
                        self._last_result,
                        reloads=_merge_reloads(self._last_result.reloads, outcomes),
                    )
                self._cond.notify_all()
            for outcome in outcomes:
                if outcome.ok:
                    log("config_reload_retried", target=outcome.target, url=outcome.url)
            self._write_status()

    def _write_status(self) -> None:
        if self.status_path is None:
            return
        try:
            text = json.dumps(self.status().to_dict(), indent=2, sort_keys=True)
            write_atomic(self.status_path, text + "\n", 0o644)
        except OSError as exc:
            log("config_status_write_failed", error=str(exc))


def _merge_reloads(
    old: Sequence[ReloadOutcome], new: Sequence[ReloadOutcome]
) -> tuple[ReloadOutcome, ...]:
    latest = {(r.target, r.url): r for r in old}
    latest.update({(r.target, r.url): r for r in new})
    return tuple(latest.values())


def read_status_file(path: Path) -> dict[str, Any] | None:
    """The status another process of the app wrote (None when there is none)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- Flask


def load_from_app(app: Any) -> tuple[list[SiteSpec], GlobalSpec]:
    """The specs of the app's database and settings (a session of its own, so that it
    runs on the applier's thread)."""
    from admin_app.configgen.from_models import load_specs
    from admin_app.db import session_scope

    with session_scope(app) as session:
        try:
            from admin_app.settings.store import effective
        except ImportError:  # pragma: no cover - the settings feature is optional
            settings: dict[str, Any] = {}
        else:
            settings = effective(session, app.config["SECRET_KEY"])
        return load_specs(session, settings, app.config)


def init_app(app: Any) -> ConfigApplier:
    """Create the app's :class:`ConfigApplier` and, unless ``CONFIGGEN_AUTO_APPLY`` is
    false (the default under ``TESTING``), regenerate after every
    :data:`admin_app.changes.config_changed` signal.

    Flask config read: CONFIGGEN_QUIET_PERIOD (0.5 s), CONFIGGEN_MAX_DELAY (5 s),
    CONFIGGEN_RETRY_INITIAL (1 s), CONFIGGEN_RETRY_MAX (60 s), plus the paths and
    URLs of :func:`settings_from_config`. Idempotent: a second call returns the
    applier the first one made."""
    existing = app.extensions.get(EXTENSION_KEY)
    if existing is not None:
        return existing
    cfg = app.config
    applier = ConfigApplier(
        lambda: load_from_app(app),
        settings_from_config(cfg),
        quiet_period=float(cfg.get("CONFIGGEN_QUIET_PERIOD", 0.5)),
        max_delay=float(cfg.get("CONFIGGEN_MAX_DELAY", 5.0)),
        retry_initial=float(cfg.get("CONFIGGEN_RETRY_INITIAL", 1.0)),
        retry_max=float(cfg.get("CONFIGGEN_RETRY_MAX", 60.0)),
        status_path=Path(cfg.get("DATA_DIR") or "var") / STATUS_FILE,
    )
    app.extensions[EXTENSION_KEY] = applier
    if cfg.get("CONFIGGEN_AUTO_APPLY", not app.testing):
        from admin_app.changes import config_changed

        def on_change(_sender: Any, kind: str = "", **_extra: Any) -> None:
            applier.request(kind)

        config_changed.connect(on_change, sender=app, weak=False)
    return applier


def get_applier(app: Any = None) -> ConfigApplier:
    """The app's applier (created on first use when ``init_app`` did not run)."""
    if app is None:
        from flask import current_app

        app = current_app._get_current_object()  # type: ignore[attr-defined]
    applier = app.extensions.get(EXTENSION_KEY)
    return applier if applier is not None else init_app(app)


def regenerate(app: Any = None, force_reload: bool = True) -> ApplyResult:
    """Regenerate, write and reload now (``upwatch-admin regen-config``)."""
    return get_applier(app).apply_now(force_reload=force_reload)
