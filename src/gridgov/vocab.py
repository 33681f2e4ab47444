"""Words with one home: staff roles in their customary order, and which of them are public.

(The consolidation issue moves the other vocabularies here; these are the ones the privacy rule needs.)
"""

from __future__ import annotations

# The order roles are listed in on boards, ledgers and popups (the customary order of 网格 staff lists).
STAFF_ROLE_ORDER = (
    "网格长", "网格党支部书记", "网格员", "网格警员", "网格消防员", "环境管理员", "网格督导员", "党小组长", "楼栋长",
)  # fmt: skip

# What is public is what the 公示 board shows: the grid's working staff, with names and phones. The Party and
# building posts (网格党支部书记, 党小组长, 楼栋长) are mostly held by residents: their names and phones are
# personal data, shown only to roles whose scope covers their grid (as in the Party layer of the grid map).
PUBLIC_STAFF_ROLES = ("网格长", "网格员", "网格警员", "网格消防员", "环境管理员", "网格督导员")
