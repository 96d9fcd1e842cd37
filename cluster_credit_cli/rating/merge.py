"""Identity and merge: one record per applicant, built from every source by precedence.

* Codes are normalised and validated; a row with an invalid code is reported and not merged.
* Two applicant rows with one code are a conflict for the user to resolve (status ``conflict``):
  neither row is picked.
* An export row without a code is matched by the enterprise name when that name is unique among
  applicants, and flagged.
* Export rows for enterprises that did not apply are counted, not errors.
* For each field the first source in the field's ``sources`` list that has a value wins; every
  disagreement between sources is listed (name mismatches included). Provenance — file, sheet,
  row, column — is kept for every value through the per-source aligned frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli.i18n import say
from cluster_credit_cli.inputs.identity import corrected_code, normalize_codes, normalize_name
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.problems import Problems
from cluster_credit_cli.inputs.reading import SourceTable
from cluster_credit_cli.text import normalize_choice


@dataclass
class SourceStats:
    rows: int = 0
    merged: int = 0
    other_enterprises: int = 0  # rows for codes that did not apply
    invalid_code: int = 0
    by_name: int = 0
    unmatched: int = 0  # rows without a usable code or name match


@dataclass
class Merged:
    codes: pd.Index
    values: pd.DataFrame  # index: code; columns: entity field keys (winning values)
    winner: pd.DataFrame  # index: code; columns: field keys -> winning source kind ("" if none)
    aligned: dict[str, pd.DataFrame]  # source kind -> fields + "_row", aligned to codes
    tables: dict[str, SourceTable]
    records: pd.DataFrame | None  # record-shaped sources (credit system) limited to applicants
    conflicts: pd.DataFrame  # long: code, field, source, file, sheet, row, column, value, used
    conflict_codes: set[str]
    stats: dict[str, SourceStats] = field(default_factory=dict)
    # Conflicting codes used by different firms (row, name), as opposed to one firm entered twice.
    shared: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # Names an export gives that differ from the applicant's: code -> [(source kind, name)].
    name_mismatch: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def provenance_rows(self) -> int:
        """How many rows ``provenance`` would have, without building it."""
        n = 0
        for kind in self.aligned:
            for key in self.tables[kind].columns:
                if key != "code" and key in self.winner.columns:
                    n += int((self.winner[key] == kind).to_numpy().sum())
        return n

    def provenance(self, model: Model) -> pd.DataFrame:
        """Long table of every winning value: code, field, value, source, file, sheet, row, column."""
        parts = []
        for kind, frame in self.aligned.items():
            table = self.tables[kind]
            for key, header in table.columns.items():
                if key == "code" or key not in self.winner.columns:
                    continue
                mask = (self.winner[key] == kind).to_numpy()
                if not mask.any():
                    continue
                codes = self.codes[mask]
                parts.append(pd.DataFrame({
                    "code": codes, "field": key, "value": frame.loc[codes, key].map(_display).to_numpy(),
                    "source": kind, "file": table.file.name, "sheet": table.sheet or "",
                    "row": frame.loc[codes, "_row"].to_numpy(), "column": header,
                }))
        if not parts:
            return pd.DataFrame(columns=["code", "field", "value", "source", "file", "sheet", "row", "column"])
        out = pd.concat(parts, ignore_index=True)
        order = {k: i for i, k in enumerate(model.fields)}
        pos = {c: i for i, c in enumerate(self.codes)}
        out["_o"] = out["code"].map(pos) * 1000 + out["field"].map(order)
        return out.sort_values("_o").drop(columns="_o").reset_index(drop=True)


def _display(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value


def _codes_for(table: SourceTable, problems: Problems, model: Model, name_to_code: dict[str, str] | None,
               stats: SourceStats) -> pd.Series:
    """Normalised, valid codes for each row of a table; '' where the row cannot be merged."""
    frame = table.data
    code_header = table.columns.get("code", model.fields["code"].label)
    rows = frame["_row"].to_numpy()
    if "code" in frame:
        codes, reasons = normalize_codes(frame["code"].fillna(""))
    else:
        codes = pd.Series([""] * len(frame), index=frame.index, dtype=object)
        reasons = pd.Series(["empty"] * len(frame), index=frame.index, dtype=object)
    codes = codes.copy()
    raw = frame["code"].to_numpy(dtype=object) if "code" in frame else None
    bad = reasons.notna().to_numpy() & (reasons != "empty").to_numpy()
    if bad.any():
        row_names = frame["name"].to_numpy(dtype=object) if "name" in frame else np.full(len(frame), "", dtype=object)
        valid = reasons.isna().to_numpy()
        fixes = {p: corrected_code(codes.iloc[p]) for p in np.flatnonzero(bad)}
        # Where (first row) each suggested correction is a valid code of this file, so a suggested
        # correction is never another firm's code.
        wanted = {c for c in fixes.values() if c is not None}
        taken: dict[str, tuple[int, Any]] = {}
        if wanted:
            valid_codes, valid_rows, valid_names = codes.to_numpy()[valid], rows[valid], row_names[valid]
            for h in np.flatnonzero(pd.Series(valid_codes, dtype=object).isin(wanted).to_numpy()):
                taken.setdefault(valid_codes[h], (int(valid_rows[h]), valid_names[h]))
        for p, fixed in fixes.items():
            firm = _name_text(row_names[p])
            whose = say(f"（{firm}）", f" ({firm})") if firm else ""
            if fixed is not None and fixed in taken:
                other_row, other_name = taken[fixed]
                other = _name_text(other_name)
                problems.add(table.file.name, table.sheet, int(rows[p]), code_header, "bad_code",
                             say(f"“{raw[p]}”{whose}：校验码错误；只改最后一位得到的 {fixed} 是第 {other_row} 行"
                                 f"{f'“{other}”' if other else '另一家企业'}的代码，不能这样改。请按营业执照核对本企业的代码；"
                                 "本行未合并",
                                 f"'{raw[p]}'{whose}: the check digit is wrong; changing the last character gives "
                                 f"{fixed}, which is the code of row {other_row}"
                                 f"{f' ({other})' if other else ''}, so that is not the fix. Check this firm's "
                                 "code against its business licence; this row is not merged"))
                continue
            problems.add(table.file.name, table.sheet, int(rows[p]), code_header, "bad_code",
                         say(f"“{raw[p]}”{whose}：{reasons.iloc[p]}；本行未合并，请更正代码",
                             f"'{raw[p]}'{whose}: {reasons.iloc[p]}; this row is not merged — correct the code"))
    stats.invalid_code += int(bad.sum())
    codes[bad] = ""
    empty = (reasons == "empty").to_numpy()
    if empty.any():
        names = frame["name"].to_numpy(dtype=object) if "name" in frame else np.array([""] * len(frame), dtype=object)
        for p in np.flatnonzero(empty):
            key = normalize_name(names[p])
            match = name_to_code.get(key) if (name_to_code is not None and key) else None
            if match:
                codes.iloc[p] = match
                stats.by_name += 1
                problems.add(table.file.name, table.sheet, int(rows[p]), code_header, "matched_by_name",
                             say(f"没有代码：按名称“{names[p]}”匹配到 {match}，请补充代码以确认",
                                 f"no code: matched to {match} by the name '{names[p]}'; add the code to be sure"),
                             "warning")
            else:
                stats.unmatched += 1
                # Without a code column at all (one file-level warning already says so), a name that
                # matches no applicant is an enterprise that did not apply: counted, not an error.
                if name_to_code is None or (key and "code" in frame):
                    problems.add(table.file.name, table.sheet, int(rows[p]), code_header, "missing_code",
                                 say("没有代码" + (f"，名称“{names[p]}”也不匹配任何申报企业" if key else "") + "；本行未合并",
                                     "no code" + (f" and the name '{names[p]}' matches no applicant" if key else "")
                                     + "; this row is not merged"))
    return codes


def _name_text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (float, int, np.floating)) and isinstance(b, (float, int, np.floating)):
        # np.isclose(a, b, rtol=1e-9, atol=1e-9) for two scalars, without its array set-up.
        a, b = float(a), float(b)
        if not (math.isfinite(a) and math.isfinite(b)):
            return a == b
        return abs(a - b) <= 1e-9 + 1e-9 * abs(b)
    if isinstance(a, pd.Timestamp) or isinstance(b, pd.Timestamp):
        return pd.Timestamp(a) == pd.Timestamp(b)
    return normalize_choice(a) == normalize_choice(b)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)) or value == ""


def _collapse(table: SourceTable, codes: pd.Series, model: Model, problems: Problems) -> pd.DataFrame:
    """One row per code for an entity source; extra rows aggregated or reported."""
    frame = table.data.assign(_code=codes.to_numpy())
    frame = frame[frame["_code"] != ""]
    dup = frame["_code"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return frame.set_index("_code")
    source = model.sources[table.kind]
    single = frame[~dup].set_index("_code")
    multi = frame[dup]
    out_rows = []
    # Groups in order of first appearance (as groupby(sort=False)), each column's cells as one list
    # taken once: a DataFrame per group and a Series per group and column were most of the cost.
    gid, group_codes = pd.factorize(multi["_code"].to_numpy(dtype=object))
    members = np.argsort(gid, kind="stable")
    bounds = np.searchsorted(gid[members], np.arange(len(group_codes) + 1))
    cells = {col: multi[col].tolist() for col in table.data.columns}
    for g, code in enumerate(group_codes):
        pos = members[bounds[g]:bounds[g + 1]].tolist()
        group_rows = [cells["_row"][p] for p in pos]
        row: dict[str, Any] = {"_row": int(group_rows[0])}
        for col in table.data.columns:
            if col == "_row":
                continue
            column = cells[col]
            vals = [v for v in (column[p] for p in pos) if not _missing(v)]
            how = source.aggregate.get(col)
            if how and vals:
                row[col] = {"max": max, "min": min, "sum": sum}[how](vals)
                continue
            row[col] = vals[0] if vals else np.nan
            if any(not _same(v, vals[0]) for v in vals[1:]) and col != "name":
                header = table.columns.get(col, col)
                problems.add(table.file.name, table.sheet, int(group_rows[0]), header,
                             "conflicting_rows",
                             say(f"{code} 有 {len(pos)} 行（第 {', '.join(map(str, group_rows))} 行），取值不同："
                                 f"{'、'.join(dict.fromkeys(map(str, vals)))}；采用第一个（{vals[0]}），请每家企业只保留一行",
                                 f"{code} has {len(pos)} rows (rows {', '.join(map(str, group_rows))}) with "
                                 f"different values {', '.join(dict.fromkeys(map(str, vals)))}; "
                                 f"the first ({vals[0]}) is used — keep one row per enterprise"), "warning")
        out_rows.append(pd.Series(row, name=code))
    combined = pd.concat([single, pd.DataFrame(out_rows)])
    combined.index.name = "_code"
    return combined


def merge_sources(tables: dict[str, SourceTable], model: Model, problems: Problems) -> Merged:
    applicants = tables["applicants"]
    stats: dict[str, SourceStats] = {k: SourceStats(rows=len(t.data) + t.dropped) for k, t in tables.items()}
    codes = _codes_for(applicants, problems, model, None, stats["applicants"])
    frame = applicants.data.assign(_code=codes.to_numpy())
    frame = frame[frame["_code"] != ""]
    dup_mask = frame["_code"].duplicated(keep=False)
    conflict_codes = set(frame.loc[dup_mask, "_code"])
    code_header = applicants.columns.get("code", model.fields["code"].label)
    shared: dict[str, list[tuple[int, str]]] = {}
    for code, group in frame[dup_mask].groupby("_code", sort=False):
        rows = say("、", ", ").join(map(str, group["_row"]))
        firms = [_name_text(n) for n in (group["name"] if "name" in group else [""] * len(group))]
        if len({normalize_name(n) for n in firms}) > 1:
            # Different firms under one code: at least one code is wrong, keeping a row is no fix.
            shared[code] = list(zip(map(int, group["_row"]), firms))
            listed = say("、".join(f"第 {r} 行“{n}”" for r, n in shared[code]),
                         ", ".join(f"row {r} ({n})" for r, n in shared[code]))
            problems.add(applicants.file.name, applicants.sheet, int(group["_row"].iloc[0]), code_header,
                         "shared_code",
                         say(f"{code} 被 {len(group)} 家不同的企业使用：{listed}；至少有一个代码是错的。"
                             "请按营业执照核对各家的代码并更正，在此之前这几行都不予评分",
                             f"{code} is used by {len(group)} different firms: {listed}; at least one code is "
                             "wrong. Check each firm's code against its business licence and correct it; "
                             "none of these rows is scored until then"))
            continue
        firm = firms[0]
        problems.add(applicants.file.name, applicants.sheet, int(group["_row"].iloc[0]), code_header,
                     "duplicate_applicant",
                     say(f"{code}（{firm}）在申报表中出现 {len(group)} 行（第 {rows} 行）；请只保留一行，在此之前不予评分",
                         f"{code} ({firm}) is applied for in {len(group)} rows ({rows}); keep exactly one row "
                         "for it — it is not scored until then"))
    # Conflicting applicants keep a row (first) for display only; their values are not used.
    first = frame.drop_duplicates("_code", keep="first").set_index("_code")
    order = pd.Index(first.index, name="code")
    stats["applicants"].merged = len(order)
    names = first["name"] if "name" in first else pd.Series("", index=order)
    name_keys = pd.Series([normalize_name(n) for n in names.to_numpy(dtype=object)], index=names.index, dtype=object)
    unique_names = name_keys[~name_keys.duplicated(keep=False)]
    name_to_code = {k: c for c, k in zip(unique_names.index.to_numpy(dtype=object),
                                         unique_names.to_numpy(dtype=object)) if k}

    aligned: dict[str, pd.DataFrame] = {"applicants": first.reindex(order)}
    records = None
    for kind, table in tables.items():
        if kind == "applicants":
            continue
        st = stats[kind]
        src_codes = _codes_for(table, problems, model, name_to_code, st)
        in_round = src_codes.isin(order)
        # + rows a streaming reader already dropped as other enterprises' (valid codes not applying)
        st.other_enterprises = int(((src_codes != "") & ~in_round).sum()) + table.dropped
        st.merged = int(in_round.sum())
        if model.sources[kind].shape == "records":
            rec = table.data[in_round.to_numpy()].assign(code=src_codes[in_round].to_numpy())
            rec["_source"] = kind
            records = rec if records is None else pd.concat([records, rec], ignore_index=True)
            continue
        keep = in_round.to_numpy()
        sub = SourceTable(table.kind, table.file, table.sheet, table.header_row,
                          table.data[keep].reset_index(drop=True), table.columns)
        collapsed = _collapse(sub, src_codes[keep].reset_index(drop=True), model, problems)
        aligned[kind] = collapsed.reindex(order)

    values, winner, conflicts = _resolve(order, aligned, tables, model, conflict_codes, names)
    mismatched: dict[str, list[tuple[str, str]]] = {}
    for kind, frame_ in aligned.items():
        if kind != "applicants" and "name" in frame_:
            _name_mismatches(kind, frame_, names, tables[kind], problems, model, mismatched)
    return Merged(order, values, winner, aligned, tables, records, conflicts, conflict_codes, stats, shared,
                  mismatched)


def _resolve(order: pd.Index, aligned: dict[str, pd.DataFrame], tables: dict[str, SourceTable], model: Model,
             conflict_codes: set[str], names: pd.Series):
    # Plain numpy object arrays per field, one DataFrame at the end: column-by-column pandas
    # assignment was most of a small round's run time.
    value_cols: dict[str, np.ndarray] = {}
    winner_cols: dict[str, np.ndarray] = {}
    conflict_parts = []
    blocked = order.isin(list(conflict_codes))
    for key, f in model.fields.items():
        if model.sources.get(f.sources[0]) is None:
            continue
        present = [s for s in f.sources if s in aligned and key in aligned[s].columns
                   and model.sources[s].shape == "entity"]
        if not present:
            continue
        stacked = [aligned[s][key] for s in present]
        have = [_notmissing(c) for c in stacked]
        # A number field whose every source column is float64 is resolved as floats (what
        # pd.to_numeric below would make of the objects); anything else as objects.
        as_float = f.type in _NUMERIC and all(pd.api.types.is_float_dtype(c.dtype) for c in stacked)
        arrays = [c.to_numpy(dtype=float if as_float else object) for c in stacked]
        best = arrays[0].copy()
        src = np.where(have[0], present[0], "").astype(object)
        for s, arr, h in zip(present[1:], arrays[1:], have[1:]):
            take = (src == "") & h
            best[take] = arr[take]
            src[take] = s
        best[blocked] = np.nan
        src[blocked] = ""
        value_cols[key] = best
        winner_cols[key] = src
        if len(present) > 1 and key not in ("code", "name"):
            conflict_parts.append(_disagreements(key, present, stacked, arrays, have,
                                                 pd.Series(src, index=order, dtype=object),
                                                 tables, aligned, names, blocked))
    # Keep numeric/date dtypes where the column is uniform.
    columns = {}
    for key, col in value_cols.items():
        typ = model.fields[key].type
        if col.dtype == float:
            columns[key] = pd.Series(col, index=order)
        elif typ in _NUMERIC:
            columns[key] = pd.to_numeric(pd.Series(col, index=order, dtype=object), errors="coerce")
        elif typ == "date":
            columns[key] = pd.to_datetime(pd.Series(col, index=order, dtype=object), errors="coerce")
        else:
            columns[key] = pd.Series(col, index=order, dtype=object)
    values = pd.DataFrame(columns, index=order) if columns else pd.DataFrame(index=order, dtype=object)
    winner = pd.DataFrame(winner_cols, index=order, dtype=object)
    conflicts = (pd.concat([c for c in conflict_parts if c is not None and len(c)], ignore_index=True)
                 if any(c is not None and len(c) for c in conflict_parts) else
                 pd.DataFrame(columns=["code", "name", "field", "source", "file", "sheet", "row", "column",
                                       "value", "used"]))
    return values, winner, conflicts


_NUMERIC = ("number", "percent", "rating")


def _notmissing(col: pd.Series | np.ndarray) -> np.ndarray:
    """``not _missing(v)`` for every cell, as array operations (None, NaN, NaT and "" are missing)."""
    if isinstance(col, pd.Series) and (pd.api.types.is_float_dtype(col.dtype)
                                       or pd.api.types.is_datetime64_dtype(col.dtype)):
        return col.notna().to_numpy()  # no "" in a float or datetime column
    arr = col.to_numpy(dtype=object) if isinstance(col, pd.Series) else np.asarray(col, dtype=object)
    if not len(arr):
        return np.zeros(0, dtype=bool)
    return ~pd.isna(arr) & (arr != "")


def _disagreements(key, present, stacked, arrays, have, src, tables, aligned, names, blocked):
    """Long rows (one per source) for every enterprise whose sources disagree on ``key``.

    ``stacked``: the field's column of each source in ``present``; ``arrays``: the same as arrays
    (float for a number field of float columns, else object); ``have``: where each has a value.
    """
    have = np.vstack(have)
    multi = (have.sum(axis=0) >= 2) & ~blocked
    if not multi.any():
        return None
    src_arr = src.to_numpy(dtype=object)
    # Rows whose present values are all exactly equal agree (equal values are _same): only the
    # others need the per-value comparison below.
    first = np.full(len(src_arr), None, dtype=object)
    got = np.zeros(len(src_arr), dtype=bool)
    for a, h in zip(arrays, have):
        take = h & ~got
        first[take] = a[take]
        got |= take
    differ = np.zeros(len(src_arr), dtype=bool)
    for a, h in zip(arrays, have):
        differ |= h & ~np.asarray(a == first, dtype=bool)
    cand = np.flatnonzero(multi & differ)
    if not len(cand):
        return None
    if all(pd.api.types.is_datetime64_dtype(c.dtype) for c in stacked):
        disagree = cand  # timestamps are _same only when equal, and these are not
    elif all(pd.api.types.is_float_dtype(c.dtype) for c in stacked):
        # _same of floats, for every candidate and source at once: the first value present is the
        # reference, and the same arithmetic (|a - b| <= 1e-9 + 1e-9 |b|; equality if not finite).
        vals = np.vstack([c.to_numpy()[cand] for c in stacked])
        ref = first[cand].astype(float)
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(vals) & np.isfinite(ref)
            same = np.where(finite, np.abs(vals - ref) <= 1e-9 + 1e-9 * np.abs(ref), vals == ref)
        disagree = cand[(have[:, cand] & ~same).any(axis=0)]
    else:
        cand_vals = [a[cand].tolist() for a in arrays]
        cand_have = have[:, cand].T.tolist()
        disagree = []
        for n, hs in enumerate(cand_have):
            vals = [col[n] for col, h in zip(cand_vals, hs) if h]
            if not all(_same(v, vals[0]) for v in vals[1:]):
                disagree.append(cand[n])
    if not len(disagree):
        return None
    # One row per (enterprise, source that has a value), enterprises in order, sources in ``present``
    # order: built as whole columns, a (enterprises x sources) grid flattened and masked.
    sel = np.asarray(disagree)
    mask = have[:, sel].T.ravel()
    width = len(present)
    codes = src.index.to_numpy(dtype=object)[sel]
    if names.index.equals(src.index):
        firm = names.to_numpy(dtype=object)[sel]
    else:
        name_of = dict(zip(names.index.to_numpy(dtype=object), names.to_numpy(dtype=object)))
        firm = np.array([name_of.get(c, "") for c in codes], dtype=object)
    per_source = lambda f: np.tile(np.array([f(s) for s in present], dtype=object), len(sel))[mask]  # noqa: E731
    grid = lambda cols: np.vstack(cols).T.ravel()[mask]  # noqa: E731
    source = per_source(lambda s: s)
    return pd.DataFrame({
        "code": np.repeat(codes, width)[mask].tolist(), "name": np.repeat(firm, width)[mask].tolist(),
        "field": [key] * int(mask.sum()), "source": source.tolist(),
        "file": per_source(lambda s: tables[s].file.name).tolist(),
        "sheet": per_source(lambda s: tables[s].sheet or "").tolist(),
        "row": grid([aligned[s]["_row"].to_numpy()[sel] for s in present]).astype(np.int64).tolist(),
        "column": per_source(lambda s: tables[s].columns.get(key, key)).tolist(),
        "value": [_display(v) for v in grid([a[sel].astype(object) for a in arrays])],  # Python floats
        "used": (source == np.repeat(src_arr[sel], width)[mask]).tolist(),
    })


def _name_mismatches(kind, frame, names, table, problems, model, found=None):
    other = frame["name"]
    have = _notmissing(other)
    codes = frame.index[have]
    mine = names.reindex(codes).to_numpy(dtype=object)  # frame rows align with the applicants' codes
    theirs = other.to_numpy(dtype=object)[have]
    rows = frame["_row"].to_numpy()[have]
    codes = codes.to_numpy(dtype=object)
    # The same text normalises the same: no mismatch (the common case), found for all rows at once.
    differ = np.flatnonzero(~np.asarray(mine == theirs, dtype=bool)) if len(mine) else []
    for code, a, b, row in zip(codes[differ], mine[differ], theirs[differ], rows[differ]):
        a = "" if a is None or (isinstance(a, float) and np.isnan(a)) else a
        if a == b:
            continue
        if normalize_name(a) and normalize_name(b) and normalize_name(a) != normalize_name(b):
            if found is not None:
                found.setdefault(code, []).append((kind, str(b)))
            problems.add(table.file.name, table.sheet, int(row),
                         table.columns.get("name", model.fields["name"].label), "name_mismatch",
                         say(f"{code}：名称“{b}”与申报名称“{a}”不一致，请核对代码或名称",
                             f"{code}: name '{b}' differs from the applicant's '{a}'; check the code or the name"),
                         "warning")
