"""HTTP endpoints: /metrics, /healthz, POST /-/reload, GET /probe?site=ID."""

from __future__ import annotations

import asyncio

from aiohttp import web

from exporter.app import Exporter
from exporter.metrics import CONTENT_TYPE

EXPORTER_KEY = web.AppKey("exporter", Exporter)

INDEX = """<!doctype html><html><head><title>Upwatch exporter</title></head><body>
<h1>Upwatch exporter</h1>
<ul>
<li><a href="/metrics">/metrics</a> - Prometheus metrics</li>
<li><a href="/healthz">/healthz</a> - health and reload status</li>
<li>POST /-/reload - reload the site list</li>
<li>/probe?site=ID - probe one site now (JSON)</li>
</ul></body></html>"""


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def index(_request: web.Request) -> web.Response:
    return web.Response(text=INDEX, content_type="text/html")


async def metrics(request: web.Request) -> web.StreamResponse:
    """Streamed: each piece is written as it is rendered and the event loop runs the
    probes that fall due in between, so a scrape of 10,000 sites neither delays them
    nor holds the whole text in memory."""
    response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE})
    await response.prepare(request)
    for chunk in request.app[EXPORTER_KEY].metrics_chunks():
        await response.write(chunk.encode())
        await asyncio.sleep(0)  # write() may not yield when the socket takes it all
    await response.write_eof()
    return response


async def healthz(request: web.Request) -> web.Response:
    exp = request.app[EXPORTER_KEY]
    ok = not exp.last_reload_errors
    return web.json_response(
        {
            "status": "ok",
            "sites": len(exp.sites),
            "shard": f"{exp.shard[0]}/{exp.shard[1]}",
            "location": exp.location,
            "config_file": str(exp.config_path),
            "last_reload_successful": ok,
            "last_reload_errors": exp.last_reload_errors,
        }
    )


async def reload(request: web.Request) -> web.Response:
    exp = request.app[EXPORTER_KEY]
    errors = await exp.reload("http")
    if errors:
        return web.json_response(
            {
                "status": "error",
                "error": {
                    "code": "invalid_config",
                    "message": "failed to reload the site list; the previous one keeps running",
                },
                "errors": errors,
            },
            status=500,
        )
    return web.json_response({"status": "success", "sites": len(exp.sites)})


async def probe(request: web.Request) -> web.Response:
    exp = request.app[EXPORTER_KEY]
    site_id = request.query.get("site", "").strip()
    if not site_id:
        return _error(400, "missing_site", "give the site to probe: /probe?site=ID")
    result = await exp.probe_now(site_id)
    if result is None:
        return _error(404, "unknown_site", f"no site with id {site_id!r} in the site list")
    return web.json_response({"site": site_id, **result.to_json()})


async def method_not_allowed(_request: web.Request) -> web.Response:
    return _error(405, "method_not_allowed", "use POST /-/reload")


def make_app(exporter: Exporter) -> web.Application:
    app = web.Application()
    app[EXPORTER_KEY] = exporter
    app.router.add_get("/", index)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/-/healthy", healthz)
    app.router.add_post("/-/reload", reload)
    app.router.add_put("/-/reload", reload)
    app.router.add_get("/-/reload", method_not_allowed)
    app.router.add_get("/probe", probe)
    return app
