/* Upwatch status dashboard: live rows through server-sent events (/status/events).
 *
 * The server sends a "snapshot" (every site's live row) when the stream opens and a
 * "change" whenever something a viewer sees changes; this script updates the rows,
 * the counts and the Prometheus banner in place. The stream ends after a while by
 * design and EventSource reconnects by itself (a new snapshot); if the browser gives
 * up (the server answered an error), it is reopened with a growing delay.
 * Plain JS, no library; no inline code (the Content-Security-Policy forbids it).
 */
(function () {
  "use strict";

  var board = document.getElementById("status-board");
  if (!board) return;
  var indicator = document.getElementById("live-indicator");
  var banner = document.getElementById("prom-banner");
  var newSites = document.getElementById("new-sites");
  var STATES = ["up", "down", "maintenance", "paused", "unknown"];
  var LABELS = {
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
    offline: "offline: retrying",
    polling: "live (every few seconds)",
    unsupported: "not live (reload to update)"
  };
  var updates = 0;

  function setLive(state) {
    board.setAttribute("data-live", state);
    if (!indicator) return;
    indicator.textContent = LABELS[state] || state;
    indicator.className = "live live-" + state;
  }

  function rowOf(slug) {
    var rows = board.querySelectorAll("tr[data-site]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-site") === slug) return rows[i];
    }
    return null;
  }

  function field(tr, name) {
    return tr.querySelector('[data-field="' + name + '"]');
  }

  function formatMs(ms) {
    if (ms === null || ms === undefined) return "–";
    if (ms >= 10000) return (ms / 1000).toFixed(1) + " s";
    return Math.round(ms) + " ms";
  }

  function formatAgo(iso) {
    var then = Date.parse(iso);
    if (isNaN(then)) return "";
    var s = Math.max(0, Math.round((Date.now() - then) / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d) return "for " + d + "d " + h + "h";
    if (h) return "for " + h + "h " + m + "m";
    if (m) return "for " + m + "m " + sec + "s";
    return "for " + sec + "s";
  }

  function refreshSince(el) {
    var iso = el.getAttribute("data-since");
    el.textContent = iso ? formatAgo(iso) : "";
    if (iso) el.title = "since " + iso.replace("T", " ").replace("Z", " UTC");
  }

  function applyRow(slug, row) {
    var tr = rowOf(slug);
    if (!tr) return;
    var previous = tr.getAttribute("data-state");
    tr.setAttribute("data-state", row.state);
    for (var i = 0; i < STATES.length; i++) tr.classList.remove("row-" + STATES[i]);
    tr.classList.add("row-" + row.state);
    var state = field(tr, "state");
    if (state) {
      state.textContent = row.state;
      state.className = "state state-" + row.state;
    }
    var since = field(tr, "since");
    if (since) {
      if (row.since) since.setAttribute("data-since", row.since);
      else since.removeAttribute("data-since");
      refreshSince(since);
    }
    var reason = field(tr, "reason");
    if (reason) reason.textContent = row.reason || (row.probe_down ? "probes failing" : "");
    var response = field(tr, "response");
    if (response) response.textContent = formatMs(row.response_ms);
    if (previous && previous !== row.state) {
      tr.classList.remove("flash-change");
      void tr.offsetWidth; /* restart the animation */
      tr.classList.add("flash-change");
    }
  }

  function applyCounts(counts) {
    if (!counts) return;
    var total = 0;
    for (var i = 0; i < STATES.length; i++) {
      var n = counts[STATES[i]] || 0;
      total += n;
      var el = board.querySelector('[data-count="' + STATES[i] + '"]');
      if (el) el.textContent = String(n);
    }
    var all = board.querySelector('[data-count="all"]');
    if (all) all.textContent = String(total);
  }

  function applyPrometheus(p) {
    if (!banner || !p) return;
    banner.hidden = !!p.ok;
    var err = banner.querySelector('[data-field="prom-error"]');
    if (err) err.textContent = p.error || "";
  }

  function applyEvent(data) {
    var sites = data.sites || {};
    for (var slug in sites) {
      if (Object.prototype.hasOwnProperty.call(sites, slug)) applyRow(slug, sites[slug]);
    }
    applyCounts(data.counts);
    applyPrometheus(data.prometheus);
    if (newSites && board.hasAttribute("data-complete")) {
      /* The page lists every site: a site the page lacks is new, a row of a site
         gone is stale. (Filtered or paged lists cannot tell.) */
      var stale = false;
      for (var s in sites) {
        if (Object.prototype.hasOwnProperty.call(sites, s) && !rowOf(s)) stale = true;
      }
      var removed = data.removed || [];
      for (var r = 0; r < removed.length; r++) {
        if (rowOf(removed[r])) stale = true;
      }
      if (stale) newSites.hidden = false;
    }
    updates += 1;
    board.setAttribute("data-updates", String(updates));
  }

  if (!window.EventSource) {
    setLive("unsupported");
    return;
  }

  var source = null;
  var failures = 0;

  function connect() {
    source = new EventSource(board.getAttribute("data-events"));
    source.onopen = function () {
      failures = 0;
      setLive("live");
    };
    source.addEventListener("snapshot", function (e) {
      setLive("live");
      applyEvent(JSON.parse(e.data));
    });
    source.addEventListener("change", function (e) {
      applyEvent(JSON.parse(e.data));
    });
    source.addEventListener("bye", function (e) {
      /* "busy": the server has no stream free; the browser comes back for a
         fresh snapshot after the retry delay (polling until a stream is free). */
      var data = {};
      try {
        data = JSON.parse(e.data);
      } catch (err) {
        data = {};
      }
      setLive(data.reason === "busy" ? "polling" : "reconnecting");
    });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        /* The browser gave up (an error answer, e.g. the session ended): try
           again later, less and less often. */
        failures += 1;
        setLive("offline");
        source.close();
        window.setTimeout(connect, Math.min(60000, 2000 * Math.pow(2, failures - 1)));
      } else {
        setLive("reconnecting");
      }
    };
  }

  var sinceEls = board.querySelectorAll('[data-field="since"]');
  for (var i = 0; i < sinceEls.length; i++) refreshSince(sinceEls[i]);
  window.setInterval(function () {
    var els = board.querySelectorAll('[data-field="since"]');
    for (var j = 0; j < els.length; j++) refreshSince(els[j]);
  }, 5000);
  window.addEventListener("pagehide", function () {
    if (source) source.close();
  });
  connect();
})();
