"""The validation report of a checked file: its figures, and the rejected cells."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from kam_core.safe_text import safe_text


@dataclass
class ValidationReport:
    """Everything the user should see before confirming an import."""

    data: dict[str, Any]
    rejected: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {**self.data, "rejected_rows": self.rejected[:1000]}

    def to_text(self) -> str:
        d = self.data
        lines = [
            f"file: {d['file_name']} ({d['format']}, {d['size_bytes']:,} bytes, sha256 {d['sha256'][:12]}…)",
        ]
        if d.get("encoding"):
            lines.append(f"encoding: {d['encoding']}, delimiter: {d.get('delimiter')!r}")
        for s in d["sheets"]:
            lines.append(f"sheet: {s['name']} — header at row {s['header_row']}"
                         + (f", title: {s['title']}" if s.get("title") else ""))
        lines.append("mapping: " + ", ".join(f"{k}←{v}" for k, v in d["mapping"].items()))
        lines.append("units: " + ", ".join(f"{k}×{v}" for k, v in d["units"].items()))
        lines.append(f"account from: {d['account_from']}; date order: {d['date_order']}")
        lines.append(f"rows read: {d['rows_read']:,}; accepted: {d['rows_accepted']:,}; "
                     f"skipped: {d['rows_skipped']:,} {d['skipped_by_reason']}; "
                     f"rejected: {d['rows_rejected']:,} {d['rejected_by_reason']}")
        lines.append(f"dates: {d['date_min']} … {d['date_max']}")
        lines.append("totals: " + ", ".join(f"{k} {v:,.2f}" for k, v in d["totals"].items() if v is not None))
        r = d["reconciliation"]
        if r["file_total"] is None:
            lines.append("reconciliation: the file has no totals row to check against")
        else:
            lines.append(f"reconciliation: file total {r['file_total']:,.2f} vs parsed {r['parsed_total']:,.2f} "
                         f"(+ rejected {r['rejected_amount']:,.2f}) → {r['status']}")
        for w in d["warnings"]:
            lines.append(f"warning: {w}")
        for row in self.rejected[:20]:
            lines.append(f"rejected: sheet {row['sheet']} row {row['row']} {row['column']}={row['value']!r}: {row['reason']}")
        if len(self.rejected) > 20:
            lines.append(f"… and {len(self.rejected) - 20:,} more rejected cells (see the CSV report)")
        return "\n".join(lines)

    def rejected_csv(self) -> bytes:
        """The rejected rows as CSV (UTF-8 with BOM so Excel opens it), formula-safe."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["sheet", "row", "column", "value", "reason"])
        for r in self.rejected:
            w.writerow([safe_text(r["sheet"]), r["row"], safe_text(r["column"]), safe_text(r["value"]), r["reason"]])
        return ("\ufeff" + buf.getvalue()).encode("utf-8")

    def to_csv(self) -> bytes:
        """The whole report as CSV: summary lines, then every rejected cell."""
        buf = io.StringIO()
        w = csv.writer(buf)
        for line in self.to_text().splitlines():
            w.writerow([safe_text(line)])
        w.writerow([])
        return ("\ufeff" + buf.getvalue()).encode("utf-8") + self.rejected_csv()[3:]
