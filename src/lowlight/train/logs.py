"""Run logs: CSV files (always) and TensorBoard (when the tensorboard package is installed)."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

log = logging.getLogger(__name__)


class CsvLog:
    """Append rows of named values to a CSV file; on resume, rows after the resumed step are dropped."""

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = path
        self.fields: list[str] | None = None
        if resume_step is not None and path.is_file():
            with path.open(newline="") as file:
                rows = [row for row in csv.DictReader(file) if int(row["step"]) <= resume_step]
            if rows:
                self.fields = list(rows[0].keys())
            self._rewrite(rows)
        elif path.is_file():
            path.unlink()

    def _rewrite(self, rows: list[dict]) -> None:
        with self.path.open("w", newline="") as file:
            if self.fields:
                writer = csv.DictWriter(file, self.fields)
                writer.writeheader()
                writer.writerows(rows)

    def write(self, row: dict) -> None:
        if self.fields is None:
            self.fields = list(row.keys())
            self._rewrite([])
        extra = [key for key in row if key not in self.fields]
        if extra:  # a new column (e.g. a metric first seen now): rewrite with a wider header
            with self.path.open(newline="") as file:
                rows = list(csv.DictReader(file))
            self.fields += extra
            self._rewrite(rows)
        with self.path.open("a", newline="") as file:
            csv.DictWriter(file, self.fields).writerow(row)


class TensorBoardLog:
    """Scalars to TensorBoard if available; silently nothing otherwise (noted once in the log)."""

    def __init__(self, folder: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional
            self.writer = None
            log.info("tensorboard is not installed: logging to CSV only")
            return
        self.writer = SummaryWriter(str(folder))

    def write(self, step: int, values: dict[str, float], prefix: str) -> None:
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{prefix}/{name}", value, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
