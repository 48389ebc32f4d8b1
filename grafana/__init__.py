"""Upwatch's Grafana dashboards, generated from Python (grafana-foundation-sdk).

``python -m grafana.build`` writes ``grafana/dashboards/*.json``; ``--check`` only
compares. The JSON is what Grafana loads (``grafana/provisioning``).
"""
