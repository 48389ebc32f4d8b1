"""Report formats: one module each (``csv_report``, ``xlsx_report``), named here.

Each module has ``MEDIA_TYPE``, ``EXTENSION`` and ``render``: CSV's yields the file
in pieces (a generator response); Excel's writes a write-only workbook to a
temporary file that is then sent in pieces.
"""

from __future__ import annotations

from types import ModuleType

from admin_app.reports.formats import csv_report, xlsx_report

FORMATS: dict[str, ModuleType] = {"csv": csv_report, "xlsx": xlsx_report}
