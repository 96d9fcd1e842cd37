"""Which column of a survey export holds which question: the export layouts of the platforms.

Recognised without configuration (and named in the output):

* **Kobo** (KoboToolbox "XML values and headers" or labels): headers ``group/question`` and
  ``group/subgroup/question``; select_multiple as one column of space-separated choice names,
  as split ``question/option`` 0/1 columns, or both; metadata columns ``_id``, ``_uuid``,
  ``_submission_time``, ``_index``, ``_validation_status``, ``meta/instanceID`` ...
* **ODK Central** CSV: headers ``group-question``; metadata ``KEY``, ``SubmissionDate``,
  ``meta-instanceID``, ``SubmitterID`` ...
* **问卷星 (wjx)** downloads "按选项文本" and "按选项序号": metadata ``序号 提交答卷时间 所用时间 来源
  来源详情 来自IP``, questions ``N、question text``; a multiple-choice question is one column of
  option texts joined by ``┋``, or one 0/1 column per option (``N(option)``, ``N、(option)``,
  ``第N题(option)``); skipped answers ``(跳过)`` / ``-3``, empty ones ``(空)`` / ``-2``.
* **腾讯问卷**: the same numbered headers (``Q1:``, ``1.``, ``第1题``) and per-option columns.
* **flat**: one column per question named by its name or label (units in brackets or after a
  slash do not matter: ``年销售收入（万元）`` is ``年销售收入``).

Header normalisation never strips a part of a ``question/option`` path: split option columns are
claimed before any label is compared with unit suffixes removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cluster_credit_cli.survey.codebook import Codebook, Question, choice_key, loose_key
from cluster_credit_cli.text import halfwidth, normalize_header

KOBO_META = {"_id", "_uuid", "_submission_time", "_index", "_parent_index", "_parent_table_name", "_validation_status",
             "_notes", "_status", "_submitted_by", "__version__", "_version_", "_tags", "_xform_id_string",
             "_attachments", "_geolocation", "_duration", "formhub/uuid", "meta/instanceid", "meta/instancename",
             "meta/rootuuid", "meta/deprecatedid", "meta/audit", "_submission__id", "_submission__uuid",
             "_submission__submission_time", "_submission__validation_status", "_submission__notes",
             "_submission__status", "_submission__submitted_by", "_submission___version__", "_submission__tags"}
ODK_META = {"key", "submissiondate", "meta-instanceid", "meta-instancename", "meta-audit", "submitterid",
            "submittername", "attachmentspresent", "attachmentsexpected", "status", "reviewstate", "deviceid",
            "edits", "formversion", "parent_key", "instanceid", "meta/instanceid"}
WJX_META = {"序号", "提交答卷时间", "所用时间", "来源详情", "来自ip", "ip地址", "微信昵称"}
# only distinctive names: a question may well be called 渠道 or 开始时间
TENCENT_META = {"开始答题时间", "结束答题时间", "答题时长", "地理位置国家和地区", "地理位置省", "地理位置市", "ip",
                "用户id", "用户类型", "用户标识", "答卷编号", "作答时长", "填写时长"}
FORM_META = {"start", "end", "today", "deviceid", "simserial", "subscriberid", "phonenumber", "username", "email",
             "audit", "instanceid"}

# 问卷星 / 腾讯问卷 numbered headers: "3、text", "Q3:text", "3.text", "第3题 text", "Q3 text"
_NUMBERED = re.compile(r"^\s*(?:第\s*(\d+)\s*题|[Qq]\s*(\d+)|(\d+))\s*(?:[、.．:：|\-_]\s*|\s+|(?=[(（]))(.*)$", re.S)
_OPTION = re.compile(r"^(.*?)[(（](.+)[)）]\s*$", re.S)  # "3(option)", "3、(option)", "第3题(option)"
SKIP_MARKERS = {"(跳过)", "跳过", "(跳題)"}
EMPTY_MARKERS = {"(空)"}
WJX_SKIP_CODES, WJX_EMPTY_CODES = {"-3"}, {"-2"}


def exact_key(value: object) -> str:
    """Header key without unit stripping: NFKC, lower case, no whitespace."""
    return re.sub(r"\s+", "", halfwidth(str(value if value is not None else ""))).lower()


WJX_CONTEXT_META = {"来源", "总分", "答题时间", "用户名"}  # metadata only beside 提交答卷时间 & co.
TENCENT_CONTEXT_META = {"编号", "昵称", "自定义字段", "原始记录编号", "数据版本"}  # only beside 开始答题时间 & co.


def is_metadata(header: str, platform: str = "") -> bool:
    k = exact_key(header)
    if (platform == "wjx" and k in WJX_CONTEXT_META) or (platform == "tencent" and k in TENCENT_CONTEXT_META):
        return True
    return (k in KOBO_META or k in ODK_META or k in WJX_META or k in TENCENT_META or k in FORM_META
            or k.startswith("meta/") or k.startswith("meta-") or k.startswith("_submission_")
            or k.startswith("__"))


def numbered(header: str) -> tuple[int, str] | None:
    """``3、您的性别`` -> (3, "您的性别"); ``第3题(银行贷款)`` -> (3, "(银行贷款)")."""
    m = _NUMBERED.match(halfwidth(str(header)))
    if not m:
        return None
    num = int(next(g for g in m.groups()[:3] if g))
    return num, m.group(4).strip()


@dataclass
class Layout:
    single: dict[str, int] = field(default_factory=dict)  # question -> column
    split: dict[str, dict[int, int]] = field(default_factory=dict)  # multi question -> {choice index: column}
    split_unknown: dict[str, list[int]] = field(default_factory=dict)  # option columns naming no choice
    metadata: list[int] = field(default_factory=list)
    platform: str = "flat"  # kobo | odk_central | wjx | tencent | flat
    header_style: str = "name"  # path | dash_path | numbered | name
    wjx_codes: bool = False  # 问卷星 numeric download: -3 skipped, -2 empty

    def describe(self, lang: str = "zh") -> str:
        plat = {"kobo": ("Kobo", "Kobo"), "odk_central": ("ODK Central", "ODK Central"),
                "wjx": ("问卷星", "wjx (问卷星)"), "tencent": ("腾讯问卷", "Tencent survey (腾讯问卷)"),
                "flat": ("普通表格", "flat table")}[self.platform]
        style = {"path": ("表头为 组/题目", "headers group/question"),
                 "dash_path": ("表头为 组-题目", "headers group-question"),
                 "numbered": ("表头为 题号、题目", "numbered question headers"),
                 "name": ("表头为题目名称或标签", "headers are question names or labels")}[self.header_style]
        multi = []
        both = [q for q in self.split if q in self.single]
        if both:
            multi.append(("多选题既有合并列也有每个选项一列（按合并列统计）",
                          "multiple choice both as one column and one column per option (the joined column is read)"))
        elif self.split:
            multi.append(("多选题每个选项一列", "one column per option of a multiple choice question"))
        if self.wjx_codes:
            multi.append(("答案为选项序号（-3 跳过，-2 空）", "answers as option numbers (-3 skipped, -2 empty)"))
        i = 1 if lang == "en" else 0
        parts = [plat[i], style[i]] + [m[i] for m in multi]
        return ("; " if lang == "en" else "；").join(parts)


def _path_keys(q: Question) -> list[str]:
    """Exact header keys of a question: full Kobo path, ODK Central dashed path, its name."""
    keys = []
    if q.path:
        keys += ["/".join(q.path + (q.name,)), "-".join(q.path + (q.name,))]
    keys.append(q.name)
    return [exact_key(k) for k in keys]


def label_keys(q: Question) -> list[str]:
    keys = [normalize_header(q.label), normalize_header(q.label_en)]
    if q.path_labels:  # Kobo's export with labels and groups: "贷款情况/贷款金额（万元）"
        keys.append(normalize_header("/".join(q.path_labels + (q.label,))))
    return [k for k in keys if k]


def resolve(header: list[str], cb: Codebook, questions: list[Question]) -> Layout:
    """Assign columns to questions: exact names/paths, then split option columns, then numbered
    headers, then labels (units ignored). A column is used once."""
    lay = Layout()
    ex = [exact_key(h) for h in header]
    taken: set[int] = set()
    by_exact: dict[str, int] = {}
    for j, k in enumerate(ex):
        if k and k not in by_exact:
            by_exact[k] = j
    # 1. exact names and paths
    for q in questions:
        for k in _path_keys(q):
            j = by_exact.get(k)
            if j is not None and j not in taken:
                lay.single[q.name] = j
                taken.add(j)
                if "/" in k:
                    lay.header_style = "path"
                elif "-" in k and q.path:
                    lay.header_style = "dash_path"
                break
    # 2. split option columns of multiple choice questions: "q/option" (Kobo) or "q-option", "q.option"
    multis = [q for q in questions if q.type == "select_multiple"]
    other_labels = {k for q in questions for k in label_keys(q) + [normalize_header(q.name)]}
    for q in multis:
        lst = cb.lists[q.list_name]
        # names and paths: "q/option", "q-option", "q.option"; labels (Kobo's label export): "题目/选项" only
        prefixes = [(p, "/-.:") for p in _path_keys(q)] + [(p, "/") for p in label_keys(q)]
        for j, k in enumerate(ex):
            if j in taken or not k:
                continue
            for p, seps in prefixes:
                if len(k) > len(p) + 1 and k.startswith(p) and k[len(p)] in seps:
                    option = header[j].strip()[len(header[j].strip()) - (len(k) - len(p) - 1):]
                    idx = _choice_of_option(lst, k[len(p) + 1:], option)
                    if idx is None:
                        if normalize_header(header[j]) in other_labels:
                            continue  # another question's own column (贷款-期限 beside 贷款), not an option
                        lay.split_unknown.setdefault(q.name, []).append(j)
                    else:
                        lay.split.setdefault(q.name, {})[idx] = j
                    taken.add(j)
                    break
    # 3. numbered headers (问卷星 / 腾讯问卷): "3、text" for question 3, "3(option)" for its options
    nums = {j: numbered(h) for j, h in enumerate(header) if j not in taken and h}
    nums = {j: v for j, v in nums.items() if v is not None}
    if nums:
        by_number: dict[int, list[int]] = {}
        for j, (num, _text) in nums.items():
            by_number.setdefault(num, []).append(j)
        for q in questions:
            if q.name in lay.single or q.name in lay.split:
                continue
            cols = _numbered_columns(q, nums, by_number, taken)
            if not cols:
                continue
            opts = {j: t for j, t in cols.items() if _OPTION.match(t) and not normalize_header(_OPTION.match(t).group(1))}
            if q.type == "select_multiple" and len(opts) >= 1 and len(opts) == len(cols):
                lst = cb.lists[q.list_name]
                for j, t in opts.items():
                    option = _OPTION.match(t).group(2).strip()
                    idx = _choice_of_option(lst, exact_key(option), option)
                    taken.add(j)
                    if idx is None:
                        lay.split_unknown.setdefault(q.name, []).append(j)
                    else:
                        lay.split.setdefault(q.name, {})[idx] = j
            else:
                # the column whose text is the label (a 问卷星 matrix question "4(服务态度)", "4(办事效率)" has one
                # column per row, each a question of its own); else the question's plain column
                lk = set(label_keys(q))
                own = [j for j, t in cols.items() if t and normalize_header(t) in lk]
                plain = [j for j in cols if j not in opts]
                if not own and not plain:
                    continue
                j = min(own or plain)
                lay.single[q.name] = j
                taken.add(j)
            lay.header_style = "numbered"
        # option columns without the question's text (问卷星 按选项序号: "3(银行)", "3(亲友)"): the one
        # unmatched multiple choice question whose list has every one of those options
        for num, cols in by_number.items():
            free = {j: nums[j][1] for j in cols if j not in taken}
            if not free or not all(_OPTION.match(t) and not normalize_header(_OPTION.match(t).group(1))
                                   for t in free.values()):
                continue
            options = {j: _OPTION.match(t).group(2).strip() for j, t in free.items()}
            fits = []
            for q in multis:
                if q.name in lay.single or q.name in lay.split:
                    continue
                lst = cb.lists[q.list_name]
                idx = {j: _choice_of_option(lst, exact_key(o), o) for j, o in options.items()}
                if all(i is not None for i in idx.values()):
                    fits.append((q, idx))
            if len(fits) == 1:
                q, idx = fits[0]
                lay.split[q.name] = dict((i, j) for j, i in idx.items())
                taken.update(idx)
                lay.header_style = "numbered"
    # 4. labels, units ignored; never a column that looks like an option of a multiple choice question
    norm = [normalize_header(h) for h in header]
    multi_prefixes = {p for q in multis for p in _path_keys(q)}
    for q in questions:
        if q.name in lay.single or q.name in lay.split:
            continue
        keys = label_keys(q) + [normalize_header(q.name)]
        for j, k in enumerate(norm):
            if j in taken or not k or k not in keys:
                continue
            if "/" in ex[j] and ex[j].split("/", 1)[0] in multi_prefixes:
                continue
            lay.single[q.name] = j
            taken.add(j)
            break
    lay.metadata = [j for j, h in enumerate(header) if j not in taken and h and is_metadata(h)]
    lay.platform = _platform(ex, lay)
    return lay


def _numbered_columns(q: Question, nums, by_number, taken) -> dict[int, str]:
    """Columns of question q among numbered headers: by its label, or by a name like Q3 / q3 / 3."""
    m = re.fullmatch(r"[Qq]?(\d+)", q.name.strip())
    lk = set(label_keys(q))
    for num, cols in by_number.items():
        texts = {j: nums[j][1] for j in cols if j not in taken}
        if texts and (any(t and normalize_header(t) in lk for t in texts.values()) or (m and int(m.group(1)) == num)):
            return texts
    return {}


def _choice_of_option(lst, key: str, option: str) -> int | None:
    idx = lst.lookup().get(choice_key(option))
    if idx is None:
        for i, c in enumerate(lst.choices):
            if key in (exact_key(c.name), exact_key(c.label), exact_key(c.label_en)):
                return i
        idx = lst.loose().get(loose_key(option))
    return idx


def _platform(ex: list[str], lay: Layout) -> str:
    keys = set(ex)
    if keys & {"_uuid", "_submission_time", "_index", "_validation_status", "formhub/uuid", "meta/instanceid"} \
            or (lay.header_style == "path" and not keys & ODK_META):
        return "kobo"
    if keys & {"key", "submissiondate", "meta-instanceid", "submitterid"} or lay.header_style == "dash_path":
        return "odk_central"
    if keys & {"提交答卷时间", "所用时间", "来自ip", "来源详情"}:
        return "wjx"
    if keys & {"开始答题时间", "结束答题时间", "答题时长"}:
        return "tencent"
    if lay.header_style == "numbered":
        return "wjx"
    return "flat"
