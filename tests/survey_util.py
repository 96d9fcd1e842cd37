"""Builders for survey tests: a codebook workbook and a responses workbook from plain lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook

SURVEY_HEAD = ["type", "name", "label", "bins", "calculation", "relevant", "dimension", "tabulate"]
CHOICE_HEAD = ["list_name", "name", "label", "range"]


def codebook(path: Path, survey: list[list[Any]], choices: list[list[Any]],
             settings: list[tuple[str, Any]] | None = None, dimensions: list[list[str]] | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(SURVEY_HEAD)
    for r in survey:
        ws.append(list(r) + [None] * (len(SURVEY_HEAD) - len(r)))
    ws = wb.create_sheet("choices")
    ws.append(CHOICE_HEAD)
    for r in choices:
        ws.append(list(r) + [None] * (len(CHOICE_HEAD) - len(r)))
    if settings:
        ws = wb.create_sheet("settings")
        ws.append([k for k, _ in settings])
        ws.append([v for _, v in settings])
    if dimensions:
        ws = wb.create_sheet("dimensions")
        ws.append(["name", "label"])
        for d in dimensions:
            ws.append(d)
    wb.save(path)
    return path


def responses(path: Path, header: list[str], rows: list[list[Any]], title: str | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    if title:
        ws.append([title])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path
