"""Finding a round's files: the exports beside the applicants file, by the model's name patterns.

Patterns are shell-style (``*审计*``), matched case-insensitively against the file name. Owner
files (``~$``), hidden and temporary files and ccredit's own outputs are never taken. Two
candidates for one source is an error that names both: the user names the right one.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from cluster_credit_cli.i18n import say
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.problems import UsageError


def _ignored(name: str, model: Model) -> bool:
    patterns = model.discovery.get("ignore", ["~$*", ".*"])
    return any(fnmatch.fnmatch(name.lower(), p.lower()) for p in patterns)


def candidate_files(folder: Path, model: Model, *, links: bool = True) -> list[Path]:
    """``links=False`` (batch): symlinks are never candidates -- they may lead out of the inbox."""
    exts = {e.lower() for e in model.discovery.get("extensions", [".xlsx", ".csv"])}
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.suffix.lower() in exts and not _ignored(p.name, model)
                  and (links or not p.is_symlink()))


def matches(path: Path, kind: str, model: Model) -> bool:
    name = path.name.lower()
    return any(fnmatch.fnmatch(name, p.lower()) for p in model.sources[kind].patterns)


def find_applicants(folder: Path, model: Model, *, links: bool = True) -> Path:
    found = [p for p in candidate_files(folder, model, links=links) if matches(p, "applicants", model)]
    if not found:
        pats = ", ".join(model.sources["applicants"].patterns)
        raise UsageError(say(f"{folder}：没有申报材料文件（文件名如 {pats}）",
                             f"{folder}: no applicants file (names like {pats})"))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise UsageError(say(f"{folder}：有多个申报材料文件：{names}", f"{folder}: several applicants files: {names}"))
    return found[0]


def discover_sources(applicants: Path, model: Model, given: dict[str, Path | None], *,
                     links: bool = True) -> dict[str, Path]:
    """Sources for a round: those ``given`` win; the others are looked for beside ``applicants``."""
    applicants = Path(applicants)
    result: dict[str, Path] = {"applicants": applicants}
    files = [p for p in candidate_files(applicants.parent, model, links=links) if p.resolve() != applicants.resolve()]
    taken = {p.resolve() for p in given.values() if p}
    for kind in model.sources:
        if kind == "applicants":
            continue
        if given.get(kind):
            result[kind] = Path(given[kind])
            continue
        found = [p for p in files if matches(p, kind, model) and p.resolve() not in taken]
        if len(found) > 1:
            # A file matching a more specific source (协同创新 vs 协会) is left to that source.
            found = [p for p in found if not any(matches(p, other, model) for other in model.sources
                                                 if other not in (kind, "applicants"))] or found
        if len(found) > 1:
            opt = "--" + kind.replace("_", "-")
            raise UsageError(say(f"{model.sources[kind].label}有两个候选文件：{'、'.join(p.name for p in found)}；"
                                 f"请用 {opt} 指定其一",
                                 f"two candidate files for {model.sources[kind].label_en or kind}: "
                                 f"{', '.join(p.name for p in found)}; name one with {opt}"))
        if found:
            result[kind] = found[0]
    return result
