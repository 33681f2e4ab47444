"""incident workflow

Revision ID: 0012
Revises: 0011
The incident loop (事件处置): a case moves 上报 → 立案 → 派遣 → 处置 → 核查 → 结案 (with 退回, 返工, 挂账,
escalation and reopening); every step is an ``incident_event`` that is never rewritten, with photos beside it.
A case carries its level (网格/社区/街道), the staff it is dispatched to, the deadline of the step it waits for and
a version (two people acting at once: one wins). Time limits per step, category and urgency, the role a category
is dispatched to, and the working-day calendar (public holidays, make-up working days) are tables an
administrator edits. Users may be linked to their staff record (their inbox). Existing cases get a timeline of
one step, 导入 at their report, into the status they carry.

Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

STATUSES = "('上报', '立案', '派遣', '处置', '核查', '结案', '挂账', '作废')"
OLD_STATUSES = "('上报', '立案', '派遣', '处置', '核查', '结案')"
SUBCATEGORIES = (
    "市容环境/暴露垃圾", "市容环境/积存垃圾渣土", "市容环境/道路不洁", "市容环境/乱堆物料", "市容环境/私搭乱建",
    "市容环境/油烟污染", "宣传广告/非法小广告", "宣传广告/违规户外广告", "施工管理/施工扰民", "施工管理/道路破损",
    "施工管理/工地扬尘", "街面秩序/占道经营", "街面秩序/店外经营", "街面秩序/乱停车辆", "街面秩序/共享单车乱放",
    "突发事件/路面塌陷", "突发事件/积水", "突发事件/燃气泄漏", "园林绿化/树木倒伏", "园林绿化/绿地脏乱",
    "治安隐患/可疑人员", "治安隐患/群租房", "治安隐患/防盗设施损坏", "矛盾纠纷/邻里纠纷", "矛盾纠纷/物业纠纷",
    "矛盾纠纷/劳资纠纷", "民生服务/井盖缺失", "民生服务/路灯不亮", "民生服务/供水供暖", "民生服务/求助",
    "消防安全/消防通道堵塞", "消防安全/电动车违规充电", "消防安全/楼道堆物",
)  # fmt: skip
# Default time limits in working days: (step, urgency ('' any), days). Category rows ('' = every category).
TIME_LIMITS = (
    ("", "受理", "", 0.5), ("", "派遣", "", 0.5), ("", "处置", "一般", 3), ("", "处置", "紧急", 1),
    ("", "核查", "", 1), ("", "结案", "", 0.5), ("突发事件", "处置", "", 0.25), ("突发事件", "受理", "", 0.125),
    ("突发事件", "派遣", "", 0.125), ("矛盾纠纷", "处置", "一般", 5),
)  # fmt: skip
# The staff role a category is dispatched to by default (else 网格员).
DISPATCH = (("治安隐患", "网格警员"), ("市容环境", "环境管理员"), ("消防安全", "网格消防员"), ("矛盾纠纷", "调解员"))
# Public holidays (休) and make-up working days (班) as the State Council published them for 2025 and 2026.
HOLIDAYS = {
    "元旦": (("2025-01-01", "2025-01-01"), ("2026-01-01", "2026-01-03")),
    "春节": (("2025-01-28", "2025-02-04"), ("2026-02-15", "2026-02-23")),
    "清明节": (("2025-04-04", "2025-04-06"), ("2026-04-04", "2026-04-06")),
    "劳动节": (("2025-05-01", "2025-05-05"), ("2026-05-01", "2026-05-05")),
    "端午节": (("2025-05-31", "2025-06-02"), ("2026-06-19", "2026-06-21")),
    "国庆节、中秋节": (("2025-10-01", "2025-10-08"),),
    "中秋节": (("2026-09-25", "2026-09-27"),),
    "国庆节": (("2026-10-01", "2026-10-07"),),
}
MAKEUP_DAYS = (
    ("2025-01-26", "春节"), ("2025-02-08", "春节"), ("2025-04-27", "劳动节"), ("2025-09-28", "国庆节、中秋节"),
    ("2025-10-11", "国庆节、中秋节"), ("2026-01-04", "元旦"), ("2026-02-14", "春节"), ("2026-02-28", "春节"),
    ("2026-05-09", "劳动节"), ("2026-09-20", "国庆节"), ("2026-10-10", "国庆节"),
)  # fmt: skip

# The seeded rows of the tables an administrator edits, one statement per table (tests restore them with these).
SEED = {
    "incident_time_limit": "INSERT INTO incident_time_limit (category, step, urgency, working_days) VALUES "
    + ", ".join(f"('{c}', '{s}', '{u}', {d})" for c, s, u, d in TIME_LIMITS),
    "incident_dispatch_rule": "INSERT INTO incident_dispatch_rule (category, staff_role) VALUES "
    + ", ".join(f"('{c}', '{r}')" for c, r in DISPATCH),
    "work_calendar": "INSERT INTO work_calendar (day, kind, name) SELECT d::date, '休', n FROM (VALUES "
    + ", ".join(f"('{a}'::date, '{b}'::date, '{name}')" for name, spans in HOLIDAYS.items() for a, b in spans)
    + ") AS h(a, b, n), generate_series(h.a, h.b, interval '1 day') AS d UNION ALL SELECT d::date, '班', n FROM "
    + "(VALUES " + ", ".join(f"('{d}', '{n}')" for d, n in MAKEUP_DAYS) + ") AS m(d, n)",
}


def upgrade() -> None:
    """Apply this revision."""
    op.drop_constraint("incident_status_known", "incident", type_="check")
    op.create_check_constraint("incident_status_known", "incident", f"status IN {STATUSES}")
    for name, column in (
        ("urgency", sa.Column("urgency", sa.String(length=4), server_default="一般", nullable=False)),
        ("address", sa.Column("address", sa.Text(), nullable=True)),
        ("reporter_name", sa.Column("reporter_name", sa.Text(), nullable=True)),
        ("reporter_phone", sa.Column("reporter_phone", sa.String(length=32), nullable=True)),
        ("reported_by", sa.Column("reported_by", sa.Text(), nullable=True)),
        ("assignee_staff_id", sa.Column("assignee_staff_id", sa.BigInteger(), nullable=True)),
        ("step_started_at", sa.Column("step_started_at", sa.DateTime(timezone=True), nullable=True)),
        ("deadline", sa.Column("deadline", sa.DateTime(timezone=True), nullable=True)),
        ("review_on", sa.Column("review_on", sa.Date(), nullable=True)),
        ("version", sa.Column("version", sa.Integer(), server_default="1", nullable=False)),
    ):
        del name
        op.add_column("incident", column)
    op.create_foreign_key("incident_assignee_staff_id_fkey", "incident", "staff", ["assignee_staff_id"], ["id"])
    op.create_index(op.f("ix_incident_assignee_staff_id"), "incident", ["assignee_staff_id"], unique=False)
    op.create_index("incident_open_deadline_idx", "incident", ["deadline"], unique=False,
                    postgresql_where=sa.text("status NOT IN ('结案', '作废')"))  # fmt: skip
    op.create_check_constraint("incident_urgency_known", "incident", "urgency IN ('一般', '紧急')")
    op.execute("UPDATE incident SET step_started_at = coalesce(closed_at, reported_at)")

    op.create_table(
        "incident_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("from_status", sa.String(length=4), nullable=True),
        sa.Column("to_status", sa.String(length=4), nullable=False),
        sa.Column("from_level", sa.String(length=4), nullable=True),
        sa.Column("to_level", sa.String(length=4), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("staff_id", sa.BigInteger(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=True),
    )
    op.create_index(op.f("ix_incident_event_incident_id"), "incident_event", ["incident_id"], unique=False)
    op.create_index(op.f("ix_incident_event_at"), "incident_event", ["at"], unique=False)
    op.create_table(
        "incident_photo",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_id", sa.BigInteger(), sa.ForeignKey("incident_event.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", postgresql.BYTEA(), nullable=False),
        sa.Column("thumbnail", postgresql.BYTEA(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index(op.f("ix_incident_photo_incident_id"), "incident_photo", ["incident_id"], unique=False)
    op.create_index(op.f("ix_incident_photo_event_id"), "incident_photo", ["event_id"], unique=False)

    op.create_table(
        "incident_time_limit",
        sa.Column("category", sa.String(length=16), server_default="", primary_key=True),
        sa.Column("step", sa.String(length=4), primary_key=True),
        sa.Column("urgency", sa.String(length=4), server_default="", primary_key=True),
        sa.Column("working_days", sa.Numeric(6, 3), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.CheckConstraint("working_days > 0 AND working_days <= 365", name="incident_time_limit_positive"),
        sa.CheckConstraint("step IN ('受理', '派遣', '处置', '核查', '结案')", name="incident_time_limit_step_known"),
        sa.CheckConstraint("urgency IN ('', '一般', '紧急')", name="incident_time_limit_urgency_known"),
    )
    op.create_table(
        "incident_dispatch_rule",
        sa.Column("category", sa.String(length=16), primary_key=True),
        sa.Column("staff_role", sa.String(length=16), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
    )
    op.create_table(
        "work_calendar",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("kind", sa.String(length=2), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('休', '班')", name="work_calendar_kind_known"),
    )
    for statement in SEED.values():
        op.execute(statement)
    op.bulk_insert(sa.table("vocab_term", sa.column("vocabulary"), sa.column("term"), sa.column("position"),
                            sa.column("builtin")),
                   [{"vocabulary": "incident_subcategories", "term": t, "position": i, "builtin": True}
                    for i, t in enumerate(SUBCATEGORIES)])  # fmt: skip

    op.add_column("app_user", sa.Column("staff_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key("app_user_staff_id_fkey", "app_user", "staff", ["staff_id"], ["id"])

    # The timeline of the cases that exist: their report, and their close where they carry one.
    op.execute("""INSERT INTO incident_event (incident_id, at, action, from_status, to_status, from_level, to_level,
                                              actor)
                  SELECT id, reported_at, '导入', NULL, status, NULL, level, 'system' FROM incident""")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_constraint("app_user_staff_id_fkey", "app_user", type_="foreignkey")
    op.drop_column("app_user", "staff_id")
    op.execute("DELETE FROM vocab_term WHERE vocabulary = 'incident_subcategories'")
    for table in ("work_calendar", "incident_dispatch_rule", "incident_time_limit", "incident_photo",
                  "incident_event"):
        op.drop_table(table)
    op.drop_index("incident_open_deadline_idx", table_name="incident")
    op.drop_index(op.f("ix_incident_assignee_staff_id"), table_name="incident")
    op.drop_constraint("incident_assignee_staff_id_fkey", "incident", type_="foreignkey")
    op.drop_constraint("incident_urgency_known", "incident", type_="check")
    for column in ("version", "review_on", "deadline", "step_started_at", "assignee_staff_id", "reported_by",
                   "reporter_phone", "reporter_name", "address", "urgency"):
        op.drop_column("incident", column)
    op.execute(f"UPDATE incident SET status = '上报' WHERE status NOT IN {OLD_STATUSES}")
    op.drop_constraint("incident_status_known", "incident", type_="check")
    op.create_check_constraint("incident_status_known", "incident", f"status IN {OLD_STATUSES}")
