"""Rows of a worksheet rendered as sheet XML a whole block at a time.

XlsxWriter keeps every cell as a Python object and renders it when the workbook closes: about
5 µs a cell, most of the time a large rating workbook takes. ``write_table`` renders its data
rows itself, once per distinct value of each column (see ``outputs.excel``), and hands them to
the worksheet as one block of ``<row>`` elements; titles, headers, notes, widths, filters,
charts and page setup stay XlsxWriter's own. ``BlockSheet`` is XlsxWriter's worksheet with
those blocks spliced into ``<sheetData>`` in row order when the file is assembled.

Strings go to the workbook's shared-string table (XlsxWriter escapes them when it writes that
table), so a block holds only numbers, indices and references: no user text is ever spliced
into the XML here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from xlsxwriter.worksheet import Worksheet

CELL_OPEN = '<c r="'


@dataclass
class Block:
    first_row: int  # zero-based, like XlsxWriter's rows
    rows: list[str] = field(default_factory=list)  # one '<row …>…</row>' string per row

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1


class BlockSheet(Worksheet):
    """An XlsxWriter worksheet that also writes pre-rendered blocks of rows (see module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self._blocks: list[Block] = []

    def add_block(self, first_row: int, last_col: int, rows: list[str]) -> None:
        """Rows ``first_row …`` (each one rendered ``<row>`` element) spanning columns 0..last_col."""
        if not rows:
            return
        block = Block(first_row, rows)
        for other in self._blocks:
            if block.first_row <= other.last_row and other.first_row <= block.last_row:
                raise ValueError(f"rows {block.first_row}-{block.last_row} already hold a block")
        # The same bookkeeping XlsxWriter's own writes do: the sheet's used range.
        self._check_dimensions(block.first_row, 0)
        self._check_dimensions(block.last_row, last_col)
        self._blocks.append(block)

    def _write_rows(self) -> None:
        if not self._blocks:
            super()._write_rows()
            return
        lo, hi = self.dim_rowmin, self.dim_rowmax
        try:
            pos = lo
            for block in sorted(self._blocks, key=lambda b: b.first_row):
                if pos < block.first_row:
                    self._rows_between(pos, block.first_row - 1)
                self._write_block(block)
                pos = block.last_row + 1
            if pos <= hi:
                self._rows_between(pos, hi)
        finally:
            self.dim_rowmin, self.dim_rowmax = lo, hi

    def _rows_between(self, first: int, last: int) -> None:
        """XlsxWriter's own rows (title, header, notes) in first..last."""
        self.dim_rowmin, self.dim_rowmax = first, last
        super()._write_rows()

    def _write_block(self, block: Block) -> None:
        write = self.fh.write
        table, row_info = self.table, self.row_info
        for i, xml in enumerate(block.rows):
            r = block.first_row + i
            # A cell written over a block row afterwards (a grade colour, say) or a height set
            # on it wins, as it would had the row been written cell by cell.
            if (r in table and table[r]) or r in row_info:
                xml = self._merged_row(r, xml)
            write(xml)

    def _merged_row(self, r: int, xml: str) -> str:
        """Row ``r`` of a block with the cells and row settings written over it since."""
        head, _, body = xml.partition(">")
        body = body[: -len("</row>")]
        cells: dict[int, str] = {}
        for part in body.split(CELL_OPEN)[1:]:  # shared strings: no '<c r="' inside a cell
            ref = part[: part.index('"')]
            cells[_col_index(ref)] = CELL_OPEN + part
        saved = self.fh
        try:
            self.fh = io.StringIO()
            for col, cell in sorted(self.table.get(r, {}).items()):
                self.fh.seek(0)
                self.fh.truncate()
                self._write_cell(r, col, cell)
                cells[col] = self.fh.getvalue()
            if r in self.row_info:
                self.fh.seek(0)
                self.fh.truncate()
                self._write_row(r, None, self.row_info[r])
                head = self.fh.getvalue()[:-1]
        finally:
            self.fh = saved
        return head + ">" + "".join(cells[c] for c in sorted(cells)) + "</row>"


def _col_index(ref: str) -> int:
    """The zero-based column of an A1 reference ('AB12' -> 27)."""
    n = 0
    for ch in ref:
        if ch.isdigit():
            break
        n = n * 26 + (ord(ch) - 64)
    return n - 1
