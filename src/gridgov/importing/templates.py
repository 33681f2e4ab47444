"""Excel templates for every importable entity, built from its canonical columns (gridgov.importing.columns).

Row 1 holds each column's first alias (required ones in red with a 必填 comment), row 2 one example, the columns
that take a list of values offer it in a drop-down (synonyms stay accepted: a warning, not a refusal), text
columns are formatted as text (so Excel keeps codes, phones and ID numbers as typed), and a 说明 sheet tells
what each column means. The data sheet comes first: the import reads the first sheet.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from gridgov.errors import NotFound
from gridgov.geo.crs import ACCEPTED_TEXT
from gridgov.importing.columns import BOOL_FALSE, BOOL_TRUE, ENTITIES, ENTITY_ZH, SPATIAL, Column

# What a user calls each import (the page's words); ENTITY_ZH's 户 reads better as 住户 on its own.
LABELS = {**ENTITY_ZH, "households": "住户"}
LAST_ROW = 10_000  # drop-downs and input hints reach this row
EXAMPLE_NOTE = "第 2 行是示例：导入前请改写或删除本行"
YES, NO = BOOL_TRUE[1], BOOL_FALSE[1]  # 是 / 否

# What each column means, per entity where the same name means different things.
MEANING: dict[str, str] = {
    "code": "编码，在本类数据中唯一（不能为空，不能与文件中其他行或已导入的重复）",
    "address": "详细地址（门牌号）",
    "building_code": "所属楼栋的编码（楼栋须已导入；可空）",
    "kind": "户籍类型",
    "lon": "经度（十进制度，如 108.952）；坐标系在上传页面选择",
    "lat": "纬度（十进制度，如 34.245）",
    "name": "名称",
    "floors": "地上层数（整数）",
    "household_code": "所属户的编码（户须已导入）",
    "sex": "性别",
    "birth_year": "出生年份（四位数字，如 1975）",
    "phone": "联系电话",
    "id_number": "18 位公民身份号码（会检查校验位）",
    "is_resident_rep": "是否居民代表（是/否）",
    "is_volunteer": "是否志愿者（是/否）",
    "is_party_member": "是否党员（是/否）",
    "member_type": "党员类型：党员必填，非党员留空",
    "tags": "特殊人群标签，多个用顿号或分号分隔（如 独居老人、低保）",
    "category": "事件大类（如 市容环境、矛盾纠纷）",
    "subcategory": "事件小类（可空）",
    "description": "事件描述",
    "reported_at": "上报时间，如 2026-10-01 20:30（本地时间）",
    "status": "处置状态（空则为“上报”）",
    "level": "处置层级（空则为“网格”）",
    "source": "事件来源（如 网格员巡查、12345 热线）",
    "staff_code": "人员编码或工号（可空：空时按姓名和电话识别同一人）",
    "grid_code": "所在网格的编码（网格须已存在）",
    "role": "在该网格的岗位",
}
MEANING_BY_ENTITY: dict[tuple[str, str], str] = {
    ("households", "code"): "户编码，唯一（如 H0001）",
    ("buildings", "code"): "楼栋编码，唯一（如 B0001）",
    ("buildings", "name"): "楼栋名称（如 1号楼）",
    ("persons", "code"): "人员编码，唯一（如 P0001）",
    ("persons", "name"): "姓名",
    ("incidents", "code"): "事件编号，唯一（如 E0001）",
    ("staff", "name"): "姓名",
}
# One example row per entity: a compound of 文艺路街道 (Xi'an), as the sample street has it.
EXAMPLES: dict[str, dict[str, Any]] = {
    "households": {"code": "H0001", "address": "文艺北路45号院1号楼1单元101室", "kind": "常住户",
                   "lon": 108.952, "lat": 34.245},
    "buildings": {"code": "B0001", "name": "1号楼", "address": "文艺北路45号院1号楼", "floors": 6,
                  "lon": 108.952, "lat": 34.245},
    "persons": {"code": "P0001", "household_code": "H0001", "name": "张三", "sex": "男", "birth_year": 1975,
                "phone": "13800000000", "is_resident_rep": NO, "is_volunteer": YES, "is_party_member": YES,
                "member_type": "离退休", "tags": "独居老人"},
    "incidents": {"code": "E0001", "category": "市容环境", "subcategory": "占道经营", "description": "门口占道摆摊",
                  "lon": 108.952, "lat": 34.245, "reported_at": dt.datetime(2026, 10, 1, 20, 30), "status": "上报",
                  "level": "网格", "source": "网格员巡查"},
    "staff": {"staff_code": "S0001", "name": "李四", "phone": "13900000000", "grid_code": "610103006001001",
              "role": "网格员"},
}  # fmt: skip


def header(col: Column) -> str:
    """The column's heading in templates: its first (Chinese) alias."""
    return col.aliases[0] if col.aliases else col.name


def required(entity: str, col: Column) -> bool:
    """Whether a template row must fill the column (coordinates too, for entities located by a point)."""
    return col.required or (SPATIAL[entity] and col.name in ("lon", "lat"))


def meaning(entity: str, col: Column) -> str:
    """What the column holds, in Chinese."""
    return MEANING_BY_ENTITY.get((entity, col.name), MEANING.get(col.name, header(col)))


def choices(col: Column) -> tuple[str, ...]:
    """The values a drop-down offers (enums: the vocabulary's terms; flags: 是/否), or none."""
    if col.kind == "enum":
        return col.values
    return (YES, NO) if col.kind == "bool" else ()


def template_name(entity: str) -> str:
    """The download name of an entity's template."""
    return f"{LABELS[entity]}导入模板.xlsx"


def _width(value: str) -> int:
    """Display width: CJK characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def write_template(entity: str, path: Path) -> Path:
    """Write the Excel template of ``entity`` (households, buildings, persons, incidents, staff) to ``path``."""
    if entity not in ENTITIES:
        raise NotFound(f"没有此类导入模板：{entity}（可用 {', '.join(ENTITIES)}）")
    columns = ENTITIES[entity]
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    base = {"border": 1, "bold": True, "valign": "vcenter", "text_wrap": True}
    head_required = wb.add_format({**base, "bg_color": "#C00000", "font_color": "#FFFFFF"})
    head_optional = wb.add_format({**base, "bg_color": "#DDEBF7"})
    as_text = wb.add_format({"num_format": "@"})
    as_time = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    as_number = wb.add_format({"num_format": "General"})
    example = {"italic": True, "font_color": "#7F7F7F"}
    example_formats = {
        fmt: wb.add_format({**example, "num_format": fmt}) for fmt in ("@", "yyyy-mm-dd hh:mm", "General")
    }

    sheet = wb.add_worksheet(LABELS[entity])
    lists = wb.add_worksheet("可选值")  # the drop-downs' values (a range works for lists of any length)
    info = wb.add_worksheet("说明")
    sample = EXAMPLES[entity]
    list_column = 0
    for c, col in enumerate(columns):
        needed = required(entity, col)
        fmt, num_format = {"datetime": (as_time, "yyyy-mm-dd hh:mm"), "int": (as_number, "General"),
                           "float": (as_number, "General")}.get(col.kind, (as_text, "@"))  # fmt: skip
        sheet.set_column(c, c, max(_width(header(col)) + 4, 12 if col.kind != "text" else 16), fmt)
        sheet.write_string(0, c, header(col), head_required if needed else head_optional)
        if needed:
            sheet.write_comment(0, c, "必填", {"author": "gridgov", "x_scale": 0.6, "y_scale": 0.4})
        value = sample.get(col.name)
        cell = example_formats[num_format]
        if isinstance(value, dt.datetime):
            sheet.write_datetime(1, c, value, cell)
        elif isinstance(value, int | float):
            sheet.write_number(1, c, value, cell)
        else:
            sheet.write_string(1, c, "" if value is None else str(value), cell)
        hint = meaning(entity, col) + ("（必填）" if needed else "")
        values = choices(col)
        validation: dict[str, Any] = {"validate": "any", "input_title": header(col)[:32],
                                      "input_message": hint[:255]}  # fmt: skip
        if values:
            letter = xl_col_to_name(list_column)
            lists.write_string(0, list_column, header(col))
            lists.write_column(1, list_column, values)
            validation |= {"validate": "list", "source": f"=可选值!${letter}$2:${letter}${len(values) + 1}",
                           "error_type": "warning", "error_title": "不在可选值中",
                           "error_message": f"可选：{' / '.join(values)}"[:255]}  # fmt: skip
            list_column += 1
        sheet.data_validation(1, c, LAST_ROW, c, validation)
    sheet.write_comment(1, 0, EXAMPLE_NOTE, {"author": "gridgov", "x_scale": 1.4, "y_scale": 0.5})
    sheet.set_row(0, 30)
    sheet.freeze_panes(1, 0)
    sheet.activate()
    lists.hide()
    _write_info(wb, info, entity, columns)
    wb.close()
    return path


def _write_info(wb: Any, info: Any, entity: str, columns: tuple[Column, ...]) -> None:
    """The 说明 sheet: every column (heading, required, meaning, values, other accepted headings), then the rules."""
    title = wb.add_format({"bold": True, "font_size": 14})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "valign": "top"})
    cell = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    must = wb.add_format({"border": 1, "valign": "top", "font_color": "#C00000", "bold": True})
    para = wb.add_format({"text_wrap": True, "valign": "top"})
    info.write_string(0, 0, f"{LABELS[entity]}导入模板说明", title)
    for c, text in enumerate(("列名", "必填", "含义", "可填的值", "也可用的列名")):
        info.write_string(2, c, text, head)
    row = 3
    for col in columns:
        needed = required(entity, col)
        values = choices(col)
        info.write_string(row, 0, header(col), cell)
        info.write_string(row, 1, "必填" if needed else "", must if needed else cell)
        info.write_string(row, 2, meaning(entity, col), cell)
        info.write_string(row, 3, " / ".join(values) if values else {"int": "整数", "float": "数值",
                          "datetime": "日期时间"}.get(col.kind, "文字"), cell)  # fmt: skip
        info.write_string(row, 4, "、".join(col.aliases[1:]), cell)
        row += 1
    rules = [
        "填写方法：在第一张工作表中每行填写一条记录；第 1 行是列名，请勿修改（列的顺序可以调整，多余的列会被忽略）。",
        EXAMPLE_NOTE + "。",
        "红色列名为必填列；下拉框列出可选值，常见的同义写法（如“出租”表示“租房户”）也能识别。",
        "全部检查，全部或全不：上传后先逐行检查，任何一行有错误，整个文件都不导入，页面按行号列出错误及原因；"
        "修正后重新上传即可。",
        "导入分两步：先“检查（不写入）”，确认检查结果无误后再点“确认导入”。",
    ]
    if SPATIAL[entity]:
        rules += [
            "坐标系：在上传页面选择——WGS84（GPS 设备、天地图，默认）、CGCS2000（国家 2000 坐标系经纬度）"
            "或 gcj02（高德、腾讯地图拾取的坐标）。",
            f"接口和命令行还接受：{ACCEPTED_TEXT}。",
            "坐标不在任何网格内的记录也会导入，并在结果中列为“未落入网格”；只能导入本人管辖范围内的记录。",
            "离本街道所有网格都很远（默认超过 20 公里）的坐标会被拒绝：多为坐标系选错或经度、纬度两列填反，"
            "检查结果会指出是哪一种。",
        ]
    if entity == "persons":
        rules.append("人员信息属于个人信息：仅限有权限的工作人员在管辖范围内使用，导入和查看都会留下记录。")
    rules.append("也可另存为 CSV（UTF-8 或 GBK 编码）后上传，列名相同。")
    row += 1
    info.write_string(row, 0, "规则", title)
    for k, text in enumerate(rules, start=1):
        info.merge_range(row + k, 0, row + k, 4, f"{k}. {text}", para)
        info.set_row(row + k, 32)
    for c, width in enumerate((14, 6, 44, 36, 28)):
        info.set_column(c, c, width)
