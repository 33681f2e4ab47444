"""The 楼院党建公示 board's panel: the organisation make-up, secretary and phone, committee, members shown by name
(亮身份 only) and counted, the 党员责任区 with their duties, and the duties of the posts. Laid out by
gridgov.print.board like the grid board (same page, map, fitting, PDF and PNG), from ``party_board.html``."""

from __future__ import annotations

from typing import Any

from gridgov.print.party_data import PartyBoardData

HEADING = "党建公示牌"
# What each post and each 责任区 duty commits to, printed under 岗位职责 and with each 责任区.
POST_DUTIES = {
    "书记": "主持党组织全面工作，抓好党员教育管理和组织建设，带头联系服务群众。",
    "副书记": "协助书记开展工作，负责共驻共建和日常党务。",
    "组织委员": "负责党员发展、教育管理、组织关系接转和党费收缴。",
    "宣传委员": "负责理论学习、宣传教育和精神文明建设。",
    "纪检委员": "负责党风廉政建设，监督党员遵守党的纪律。",
    "青年委员": "负责联系青年党员和青年群众，组织青年志愿服务。",
    "统战委员": "负责联系驻区单位和社会各界人士。",
    "委员": "按分工负责支部有关工作。",
    "兼职委员": "代表驻区单位参与大党委议事，落实共建项目。",
}
AREA_DUTIES = {
    "环境维护": "组织党员和志愿者维护楼院环境卫生，劝导不文明行为。",
    "治安防范": "参与楼院巡逻和安全隐患排查，发现问题及时报告网格员。",
    "纠纷调解": "及时发现和化解邻里矛盾纠纷，做到小事不出楼院。",
    "政策宣传": "宣传党的方针政策和法律法规，传达社区重要通知。",
    "联系群众": "经常走访联系户，收集居民意见建议并及时反映。",
    "关爱帮扶": "关心照顾独居老人、困难家庭等群体，提供力所能及的帮助。",
    "其他": "完成党组织交办的其他工作。",
}


def party_context(data: PartyBoardData) -> dict[str, Any]:
    """The panel's values of one board (the template: party_board.html)."""
    posts = list(dict.fromkeys(["书记", *(post for o in data.orgs for post, _ in o.committee)]))
    return {
        "orgs": data.orgs,
        "areas": [{"name": a.name, "duty": a.duty, "duty_text": AREA_DUTIES.get(a.duty, ""), "shown": a.shown,
                   "hidden": a.people - len(a.shown)} for a in data.areas],  # fmt: skip
        "post_duties": [(p, POST_DUTIES[p]) for p in posts if p in POST_DUTIES] if data.orgs else [],
        "members": data.members,
        "shown": data.shown,
    }
