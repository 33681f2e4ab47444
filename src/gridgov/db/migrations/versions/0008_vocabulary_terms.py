"""vocabulary terms in data

Revision ID: 0008
Revises: 0007
The vocabularies an administrator may extend (staff roles, household kinds, resident tags, incident categories)
live in ``vocab_term``: the built-in national and local terms (seeded here, ``builtin``) and the ones a street
adds, each with its synonyms. A staff role or household kind must be one of them: the fixed CHECKs give way to
statement-level triggers that check each statement's rows against the table in one query.

Create Date: 2026-11-30 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The built-in terms as of this revision (gridgov.vocab holds the living list; later revisions add to this).
SEED = {
    "staff_roles": ("网格长", "网格党支部书记", "网格员", "网格警员", "网格消防员", "环境管理员", "网格督导员",
                    "网格医护员", "文化宣传员", "计生管理员", "法律咨询员", "调解员", "协管员", "党小组长", "楼栋长"),
    "household_kinds": ("常住户", "租房户", "空房户", "底商"),
    "person_tags": ("低保户", "特困人员", "残疾人", "独居老人", "空巢老人", "高龄老人", "留守儿童", "困境儿童",
                    "失独家庭", "退役军人", "优抚对象", "刑满释放人员", "社区矫正对象", "吸毒人员",
                    "严重精神障碍患者", "重点上访人员", "重点关注", "孕产妇", "慢性病患者"),
    "incident_categories": ("市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件", "园林绿化", "治安隐患",
                            "矛盾纠纷", "民生服务", "消防安全", "其他"),
}  # fmt: skip
CHECKED = (("grid_role", "role", "staff_roles"), ("household", "kind", "household_kinds"))

CHECK_TERM = """
CREATE FUNCTION gridgov_check_term() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad text;
BEGIN
  EXECUTE format('SELECT n.%1$I FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM vocab_term t '
                 'WHERE t.vocabulary = %2$L AND t.term = n.%1$I) LIMIT 1', TG_ARGV[0], TG_ARGV[1]) INTO bad;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION '未知的取值「%」（词表 %）', bad, TG_ARGV[1] USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "vocab_term",
        sa.Column("vocabulary", sa.String(length=32), nullable=False),
        sa.Column("term", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("synonyms", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=True),
        sa.Column("builtin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("term ~ '\\S' AND length(term) <= 16", name="vocab_term_plain"),
        sa.PrimaryKeyConstraint("vocabulary", "term"),
    )
    rows = [{"vocabulary": v, "term": t, "position": i, "builtin": True} for v, terms in SEED.items()
            for i, t in enumerate(terms)]  # fmt: skip
    op.bulk_insert(sa.table("vocab_term", sa.column("vocabulary"), sa.column("term"), sa.column("position"),
                            sa.column("builtin")), rows)  # fmt: skip
    op.drop_constraint("grid_role_known", "grid_role", type_="check")
    op.drop_constraint("household_kind_known", "household", type_="check")
    op.execute(CHECK_TERM)
    for table, column, vocabulary in CHECKED:
        for event, ref in (("INSERT", "NEW TABLE AS new_rows"), ("UPDATE", "NEW TABLE AS new_rows")):
            op.execute(f"CREATE TRIGGER {table}_{column}_known_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {ref} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION gridgov_check_term('{column}', '{vocabulary}')")  # fmt: skip


def downgrade() -> None:
    """Revert this revision (rows using added terms keep them: the old checks are not validated)."""
    for table, column, _ in CHECKED:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{column}_known_{event} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gridgov_check_term()")
    roles = ", ".join(f"'{t}'" for t in SEED["staff_roles"])
    kinds = ", ".join(f"'{t}'" for t in SEED["household_kinds"])
    op.execute(f"ALTER TABLE grid_role ADD CONSTRAINT grid_role_known CHECK (role IN ({roles})) NOT VALID")
    op.execute(f"ALTER TABLE household ADD CONSTRAINT household_kind_known CHECK (kind IN ({kinds})) NOT VALID")
    op.drop_table("vocab_term")
