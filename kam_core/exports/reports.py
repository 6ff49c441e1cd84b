"""The exports under one name, for the pages, the command line and the schedules.

The tier report lives in :mod:`kam_core.exports.tier_report`, the
data-sharing pack in :mod:`kam_core.exports.share_pack`, the dossier export in
:mod:`kam_core.exports.dossier_export`, and the writer they share (with the
safety rules, number formats and file names) in :mod:`kam_core.exports.xlsx`.
"""
from __future__ import annotations

from kam_core.exports.dossier_export import build_dossier_export
from kam_core.exports.share_pack import UnknownAccount, build_share_pack
from kam_core.exports.tier_report import build_tier_report
from kam_core.exports.xlsx import (column_label, display_width, download_name, safe_text, table_to_csv_bytes,
                                   table_to_xlsx_bytes)

__all__ = ["UnknownAccount", "build_dossier_export", "build_share_pack", "build_tier_report", "column_label",
           "display_width", "download_name", "safe_text", "table_to_csv_bytes", "table_to_xlsx_bytes"]
