"""Tokens: hashed storage, roles, scopes, expiry and revocation."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.auth.tokens import authenticate, create_token, hash_token, revoke_token
from gridgov.db.engine import session_scope
from gridgov.db.models import ApiToken
from gridgov.errors import Forbidden, InvalidInput, Unauthenticated
from gridgov.grids.service import get_grid

from tests.factories import make_street


def test_only_the_hash_is_stored(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        plain, row = create_token(s, Actor.system(), "管理员", "admin")
        stored = s.scalar(select(ApiToken.token_hash).where(ApiToken.id == row.id))
    assert plain.startswith("ggv_") and len(plain) > 30
    assert stored == hash_token(plain) and plain not in stored


def test_editor_scope_covers_its_subtree_only(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        plain, _ = create_token(s, Actor.system(), "一社区编辑", "community", "610103006001")
        who = authenticate(s, plain)
        assert who.role == "community" and who.scope_code == "610103006001"
        authorize(s, who, "write", Touches(grid_ids=[get_grid(s, "610103006001002").id]))  # inside: fine
        authorize(s, who, "read", Touches(codes=["610103006001"]))
        with pytest.raises(Forbidden, match="超出权限范围"):
            authorize(s, who, "write", Touches(grid_ids=[get_grid(s, "610103006002001").id]))
        with pytest.raises(Forbidden, match="权限不足"):
            authorize(s, who, "admin")


def test_staff_roles_need_a_scope_of_their_level(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        with pytest.raises(InvalidInput, match="必须指定范围"):
            create_token(s, Actor.system(), "x", "community")
        with pytest.raises(InvalidInput, match="范围应是社区网格"):
            create_token(s, Actor.system(), "x", "community", "610103006001001")
        with pytest.raises(InvalidInput, match="范围应是街道网格"):
            create_token(s, Actor.system(), "x", "street", "610103006001")
        with pytest.raises(InvalidInput, match="未知角色：editor"):
            create_token(s, Actor.system(), "x", "editor", "610103006001")
        with pytest.raises(InvalidInput, match="不限范围"):
            create_token(s, Actor.system(), "x", "admin", "610103006001")
        _, grid_worker = create_token(s, Actor.system(), "x", "grid", "610103006001001")
        assert grid_worker.scope_grid_id == get_grid(s, "610103006001001").id


def test_revoked_and_unknown_tokens_are_refused(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        plain, row = create_token(s, Actor.system(), "临时", "viewer")
        revoke_token(s, Actor.system(), row.id)
        with pytest.raises(Unauthenticated):
            authenticate(s, plain)
        with pytest.raises(Unauthenticated):
            authenticate(s, "ggv_nonsense")
        with pytest.raises(Unauthenticated, match="需要令牌"):
            authenticate(s, None)


def test_a_long_request_does_not_hold_up_others_with_the_same_token(clean_engine: Engine) -> None:
    """The last-use stamp is written in its own short transaction: a second request with the same token, while
    the first one's transaction is still open, neither waits nor fails."""
    with session_scope(clean_engine) as s:
        plain, row = create_token(s, Actor.system(), "导入脚本", "viewer")
    with session_scope(clean_engine) as first:
        authenticate(first, plain)  # the first request's transaction stays open
        with session_scope(clean_engine) as second:
            second.execute(text("SET LOCAL lock_timeout = '1s'"))
            assert authenticate(second, plain).name == "导入脚本"
    with session_scope(clean_engine) as s:
        assert s.scalar(select(ApiToken.last_used_at).where(ApiToken.id == row.id)) is not None


def test_an_account_whose_scope_was_deleted_does_not_act_unscoped(clean_engine: Engine) -> None:
    """``gridgov sample remove`` clears the scope of the sample's users and tokens: such a community account is
    refused (login, session, token, enabling) instead of acting as if it had no limit."""
    from gridgov.auth.sessions import SessionPolicy, session_actor, start_session
    from gridgov.auth.users import LoginPolicy, add_user, get_user, login, set_disabled

    with session_scope(clean_engine) as s:
        make_street(s)
        plain, _ = create_token(s, Actor.system(), "一社区", "community", "610103006001")
        add_user(s, Actor.system(), "c1", "Secret-pass-1", "community", "610103006001")
        cookie = start_session(s, get_user(s, "c1"), SessionPolicy(12, 120))
        s.execute(text("UPDATE api_token SET scope_grid_id = NULL"))
        s.execute(text("UPDATE app_user SET scope_grid_id = NULL, disabled_at = now() WHERE username = 'c1'"))
    with session_scope(clean_engine) as s:
        with pytest.raises(Unauthenticated, match="范围网格已不存在"):
            authenticate(s, plain)
        with pytest.raises(InvalidInput, match="范围网格已被删除"):
            set_disabled(s, Actor.system(), "c1", False)
        s.execute(text("UPDATE app_user SET disabled_at = NULL WHERE username = 'c1'"))  # enabled behind our back
        with pytest.raises(Unauthenticated, match="范围网格已不存在"):
            session_actor(s, cookie, SessionPolicy(12, 120))
        result = login(s, "c1", "Secret-pass-1", LoginPolicy(5, 15))
        assert result.user is None and "范围网格已不存在" in result.message
