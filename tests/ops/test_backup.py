"""Backups: the sample street backed up with ``gridgov backup`` and restored with ``gridgov restore`` into a fresh
GRIDGOV_HOME with its own embedded cluster (identical row counts, ledger and photos); refusals (a target with
data, a damaged, foreign or newer file, a wrong token) change nothing; the retention of scheduled backups; the
files of GRIDGOV_HOME and the all-or-nothing restore through the service."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.db.embedded import EmbeddedCluster
from gridgov.db.engine import make_engine
from gridgov.db.migrate import head, upgrade
from gridgov.errors import DatabaseUnavailable, InvalidInput
from gridgov.ops.backup import MANIFEST, NAME, create_backup, read_manifest, restore_backup, table_counts

from tests.conftest import _create_db, _drop_db, sample_database
from tests.db.test_embedded import run_cli

STREET = "610103006"
PHOTOS = [os.urandom(n) for n in (180_000, 250_000, 64_000)]  # incompressible, like JPEG files
MINUTES = "会议记录：第一季度党员大会，应到 30 人，实到 28 人。\n".encode() * 400


def _url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return table_counts(conn)


def _domain_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        sql = "SELECT (SELECT count(*) FROM grid) + (SELECT count(*) FROM household) + (SELECT count(*) FROM api_token)"
        return int(conn.execute(text(sql)).scalar_one())


@pytest.fixture(scope="module")
def source(server_url: str, sample_dir: Path) -> Iterator[Engine]:
    """A disposable copy of the sample street, with incident photos and a meeting's minutes added."""
    with sample_database(server_url, sample_dir, "gridgov_backup_src") as eng:
        with eng.begin() as conn:
            events = conn.execute(text("SELECT incident_id, id FROM incident_event ORDER BY id LIMIT 3")).all()
            for (incident, event), data in zip(events, PHOTOS, strict=True):
                conn.execute(
                    text("INSERT INTO incident_photo (incident_id, event_id, filename, content_type, data, thumbnail, "
                         "sha256, width, height) VALUES (:i, :e, '现场.jpg', 'image/jpeg', :d, :t, :h, 800, 600)"),
                    {"i": incident, "e": event, "d": data, "t": data[:2000], "h": hashlib.sha256(data).hexdigest()},
                )  # fmt: skip
            conn.execute(text("UPDATE party_meeting SET minutes = :m, minutes_name = '记录.txt', "
                              "minutes_type = 'text/plain' WHERE id = (SELECT min(id) FROM party_meeting)"),
                         {"m": MINUTES})  # fmt: skip
        yield eng


@pytest.fixture(scope="module")
def made(source: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``gridgov backup -o DIR --json`` of the source, and the source's row counts right after it."""
    out = tmp_path_factory.mktemp("backups")
    env = {"GRIDGOV_DATABASE_URL": _url(source), "GRIDGOV_HOME": str(tmp_path_factory.mktemp("source-home"))}
    r = run_cli(["backup", "-o", str(out), "--json"], env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout) | {"after": _counts(source)}


@pytest.fixture(scope="module")
def fresh_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A new GRIDGOV_HOME with its own embedded cluster (``gridgov db up`` + ``db migrate``), stopped and deleted
    afterwards."""
    home = tmp_path_factory.mktemp("restored-home")
    env = {"GRIDGOV_HOME": str(home)}
    try:
        for step in (["db", "up"], ["db", "migrate"]):
            r = run_cli(step, env)
            assert r.returncode == 0, r.stderr
        yield env
    finally:
        run_cli(["db", "down"], env)
        EmbeddedCluster(home).destroy()


@pytest.fixture(scope="module")
def restored(made: dict[str, Any], fresh_home: dict[str, str]) -> Iterator[tuple[dict[str, Any], Engine]]:
    """``gridgov restore FILE --json`` into the fresh home (its stopped cluster started by the restore), and an
    engine on the restored database."""
    assert run_cli(["db", "down"], fresh_home).returncode == 0
    r = run_cli(["restore", made["path"], "--json"], fresh_home)
    assert r.returncode == 0, r.stderr
    eng = make_engine(EmbeddedCluster(Path(fresh_home["GRIDGOV_HOME"])).url())
    yield json.loads(r.stdout), eng
    eng.dispose()


@pytest.fixture(scope="module")
def empty_url(server_url: str) -> Iterator[str]:
    """A migrated database without data: an empty installation on the shared server."""
    url = _create_db(server_url, "gridgov_backup_empty")
    try:
        upgrade(make_engine(url))
        yield url
    finally:
        _drop_db(server_url, url)


def test_backup_file_is_private_named_and_describes_its_snapshot(made: dict[str, Any], source: Engine) -> None:
    path = Path(made["path"])
    assert NAME.fullmatch(path.name) and path.name.startswith(f"gridgov-{STREET}-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and made["size"] == path.stat().st_size
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary left beside it
    with tarfile.open(path) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
        dump = tar.extractfile("database.dump").read()  # type: ignore[union-attr]
    assert names == ["manifest.json", "database.dump"]  # no secret_key, jobs, cluster files: see ops/backup.py
    assert dump.startswith(b"PGDMP")  # pg_dump's custom format
    assert manifest["members"]["database.dump"] == {"sha256": hashlib.sha256(dump).hexdigest(), "size": len(dump)}
    assert manifest["alembic_revision"] == head() and manifest["street"] == STREET
    assert manifest["postgis"].startswith("3.") and manifest["postgresql"][:2].isdigit()
    # The counts are the dump's snapshot: the source changed afterwards only by the backup's own view-log row.
    tables = manifest["tables"]
    assert tables["public.household"] > 19_000 and tables["public.incident_photo"] == len(PHOTOS)
    assert made["after"] == tables | {"public.audit_log": tables["public.audit_log"] + 1}
    with source.connect() as conn:
        logged = conn.execute(text("SELECT actor, new->>'page' FROM audit_log WHERE action = 'view' "
                                   "AND table_name = 'backup'")).all()  # fmt: skip
    assert logged == [("cli", "gridgov backup")]


def test_round_trip_into_a_fresh_home_keeps_every_row_ledger_and_photo(
    made: dict[str, Any], restored: tuple[dict[str, Any], Engine], source: Engine, fresh_home: dict[str, str],
    tmp_path: Path,
) -> None:  # fmt: skip
    result, target = restored
    manifest = read_manifest(Path(made["path"]))
    assert result["street"] == STREET and result["migrated_to"] == head() and result["rows"] == made["rows"]
    assert _counts(target) == manifest["tables"]  # every table, row for row

    photos = "SELECT id, encode(sha256(data), 'hex'), encode(sha256(thumbnail), 'hex') FROM incident_photo ORDER BY id"
    minutes = "SELECT id, encode(sha256(minutes), 'hex') FROM party_meeting WHERE minutes IS NOT NULL ORDER BY id"
    with source.connect() as a, target.connect() as b:
        for sql in (photos, minutes):
            assert a.execute(text(sql)).all() == b.execute(text(sql)).all()
        assert [r[1] for r in b.execute(text(photos))] == [hashlib.sha256(d).hexdigest() for d in PHOTOS]
        assert b.execute(text(minutes)).one()[1] == hashlib.sha256(MINUTES).hexdigest()
        # identity sequences continue after the restored rows
        assert b.execute(text("SELECT last_value FROM household_id_seq")).scalar() == \
            a.execute(text("SELECT last_value FROM household_id_seq")).scalar()  # fmt: skip

    source_env = {"GRIDGOV_DATABASE_URL": _url(source), "GRIDGOV_HOME": str(tmp_path / "source-home")}
    for level in ("street", "community"):
        figures = []
        for side, env in (("source", source_env), ("restored", fresh_home)):
            out = tmp_path / f"{side}-{level}.json"
            r = run_cli(["ledger", "-o", str(out), "--level", level], env)
            assert r.returncode == 0, r.stderr
            figures.append(json.loads(out.read_text(encoding="utf-8"))["rows"])
        # Raw float sums (patrol metres, seconds) depend on the order rows are added in, which a restore may
        # change in the last bit; the rounded figures the ledger shows are identical.
        differ = [(a["code"], k, a[k], b[k]) for a, b in zip(*figures, strict=True) for k in a
                  if a[k] != (pytest.approx(b[k], rel=1e-12) if isinstance(b[k], float) else b[k])]  # fmt: skip
        assert not differ and len(figures[0]) == len(figures[1])
        for a, b in zip(*figures, strict=True):
            assert (a["patrol_length_km"], a["patrol_hours"]) == (b["patrol_length_km"], b["patrol_hours"])
        codes = [row["code"] for row in figures[1]]
        assert codes == [STREET] if level == "street" else len(codes) > 1 and all(c.startswith(STREET) for c in codes)
        assert all(row["households"] > 0 for row in figures[1])


def test_restore_into_an_installation_with_data_is_refused(
    made: dict[str, Any], restored: tuple[dict[str, Any], Engine], fresh_home: dict[str, str]
) -> None:
    _, target = restored
    before = _counts(target)
    r = run_cli(["restore", made["path"]], fresh_home)
    assert r.returncode == 6, r.stderr  # conflict
    assert "目标数据库已有数据" in r.stderr and "只能恢复到空的安装中" in r.stderr and "Traceback" not in r.stderr
    assert _counts(target) == before


def _rewrite(archive: Path, into: Path, change: dict[str, bytes] | None = None, manifest: Any = None) -> Path:
    """A copy of a backup with members replaced (``change``) and/or another manifest, checksums left as they were."""
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]
    members |= change or {}
    if manifest is not None:
        members[MANIFEST] = json.dumps(manifest).encode()
    with tarfile.open(into, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return into


def test_damaged_and_foreign_files_are_refused_and_change_nothing(
    made: dict[str, Any], empty_url: str, tmp_path: Path
) -> None:
    archive = Path(made["path"])
    flipped = bytearray(archive.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF  # inside database.dump
    (damaged := tmp_path / "damaged.gridgov-backup").write_bytes(bytes(flipped))
    (foreign := tmp_path / "foreign.gridgov-backup").write_bytes("不是备份".encode() * 100)
    (truncated := tmp_path / "truncated.gridgov-backup").write_bytes(archive.read_bytes()[: made["size"] // 3])
    env = {"GRIDGOV_DATABASE_URL": empty_url, "GRIDGOV_HOME": str(tmp_path / "home")}
    eng = make_engine(empty_url)
    before = _counts(eng)
    for path, why in ((damaged, "database.dump 的校验和不符"), (foreign, "无法读取"), (truncated, "无法读取")):
        r = run_cli(["restore", str(path)], env)
        assert r.returncode == 1, r.stderr
        assert "备份文件已损坏或不是 gridgov 备份" in r.stderr and why in r.stderr and "未做任何更改" in r.stderr
        assert _counts(eng) == before
    missing = run_cli(["restore", str(tmp_path / "nope.gridgov-backup")], env)
    assert missing.returncode == 1 and "备份文件不存在" in missing.stderr
    assert not list((tmp_path / "home").glob(".gridgov-restore-*"))  # the unpacked copies are gone
    eng.dispose()


def test_tokens_without_admin_rights_may_neither_back_up_nor_restore(
    made: dict[str, Any], empty_url: str, tmp_path: Path
) -> None:
    eng = make_engine(empty_url)
    with Session(eng) as s, s.begin():
        plain, _ = create_token(s, Actor.system("tests"), "只读", "viewer")
    try:
        env = {"GRIDGOV_DATABASE_URL": empty_url, "GRIDGOV_HOME": str(tmp_path / "home"), "GRIDGOV_TOKEN": plain}
        out = tmp_path / "out"
        out.mkdir()
        made_by_viewer = run_cli(["backup", "-o", str(out)], env)
        assert made_by_viewer.returncode == 5 and "权限不足" in made_by_viewer.stderr
        assert list(out.iterdir()) == []
        restored_by_viewer = run_cli(["restore", made["path"]], env)
        assert restored_by_viewer.returncode == 5 and "权限不足" in restored_by_viewer.stderr
        assert _domain_rows(eng) == 1  # the token itself, nothing restored
    finally:
        with eng.begin() as conn:
            conn.execute(text("TRUNCATE api_token, audit_log"))
        eng.dispose()


def test_scheduled_backups_keep_the_newest_and_touch_nothing_else(empty_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "scheduled"
    folder.mkdir()
    older = [folder / f"gridgov-{STREET}-2025010{d}-023000.gridgov-backup" for d in range(1, 5)]
    others = [folder / "说明.txt", folder / f"gridgov-{STREET}-20250105-023000.gridgov-backup.bak",
              folder / "gridgov-20250106.gridgov-backup"]  # fmt: skip
    for p in older + others:
        p.write_bytes(b"x")
    env = {"GRIDGOV_DATABASE_URL": empty_url, "GRIDGOV_HOME": str(tmp_path / "home"),
           "GRIDGOV_BACKUP_DIR": str(folder), "GRIDGOV_BACKUP_KEEP": "3"}  # fmt: skip
    r = run_cli(["backup", "--scheduled"], env)
    assert r.returncode == 0, r.stderr
    (new,) = set(folder.iterdir()) - set(older) - set(others)
    assert f"已备份到 {new}" in r.stdout and "已删除较早的定时备份 2 份（保留最新 3 份）" in r.stdout
    assert new.name.startswith("gridgov-empty-") and stat.S_IMODE(new.stat().st_mode) == 0o600
    assert sorted(folder.iterdir()) == sorted([new, older[3], older[2], *others])
    both = run_cli(["backup", "--scheduled", "-o", str(tmp_path)], env)
    assert both.returncode == 2


def test_home_files_round_trip_and_a_failed_restore_changes_nothing(empty_url: str, tmp_path: Path) -> None:
    eng = make_engine(empty_url)
    op = Actor.system("tests")
    home_a, home_b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    out.mkdir()
    (home_a / "notes" / "2026").mkdir(parents=True)
    (home_a / "notes" / "2026" / "记录.txt").write_text("备忘", encoding="utf-8")
    (home_a / "seal.png").write_bytes(os.urandom(5000))
    (home_a / "secret_key").write_text("not backed up")
    made = create_backup(eng, op, empty_url, out, home=home_a, home_files=("notes", "seal.png", "absent"))
    assert made.street == "empty" and made.files == ["files/notes/2026/记录.txt", "files/seal.png"]

    done = restore_backup(eng, op, empty_url, made.path, home=home_b)
    assert sorted(done.files) == ["notes/2026/记录.txt", "seal.png"]
    for rel in done.files:
        assert (home_b / rel).read_bytes() == (home_a / rel).read_bytes()
    assert not (home_b / "secret_key").exists()

    manifest = read_manifest(made.path)
    changed = _rewrite(made.path, tmp_path / "changed.gridgov-backup", change={"files/seal.png": b"other"})
    with pytest.raises(InvalidInput, match="files/seal.png 的校验和不符"):
        restore_backup(eng, op, empty_url, changed, home=tmp_path / "c")
    newer = _rewrite(made.path, tmp_path / "newer.gridgov-backup", manifest=manifest | {"alembic_revision": "9999"})
    with pytest.raises(InvalidInput, match="比本程序新"):
        restore_backup(eng, op, empty_url, newer, home=tmp_path / "c")
    assert not (tmp_path / "c" / "seal.png").exists()

    # Counts that do not match the dump fail the one transaction: the target keeps its own schema and rows.
    wrong = manifest | {"tables": manifest["tables"] | {"public.grid": 7}}
    lying = _rewrite(made.path, tmp_path / "lying.gridgov-backup", manifest=wrong)
    with eng.begin() as conn:
        conn.execute(text("COMMENT ON TABLE grid IS '恢复前的表'"))
    with pytest.raises(DatabaseUnavailable, match="行数与备份清单不符（public.grid 7→0）"):
        restore_backup(eng, op, empty_url, lying, home=tmp_path / "d")
    with eng.connect() as conn:
        assert conn.execute(text("SELECT obj_description('grid'::regclass)")).scalar() == "恢复前的表"
    assert not (tmp_path / "d" / "seal.png").exists()
    with contextlib.suppress(Exception), eng.begin() as conn:
        conn.execute(text("COMMENT ON TABLE grid IS NULL"))
    eng.dispose()


def test_an_older_backup_is_migrated_forward(server_url: str, empty_url: str, tmp_path: Path) -> None:
    old_url = _create_db(server_url, "gridgov_backup_old")
    old, target = make_engine(old_url), make_engine(empty_url)
    try:
        assert upgrade(old, "0013") == "0013"
        made = create_backup(old, Actor.system("tests"), old_url, tmp_path, home=tmp_path / "a")
        done = restore_backup(target, Actor.system("tests"), empty_url, made.path, home=tmp_path / "b")
        assert (done.revision, done.migrated_to) == ("0013", head())
        with target.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head()
            assert conn.execute(text("SELECT count(*) FROM grid")).scalar() == 0
    finally:
        old.dispose()
        target.dispose()
        _drop_db(server_url, old_url)


def test_a_plain_pg_restore_of_the_dump_works_too(made: dict[str, Any], server_url: str, tmp_path: Path) -> None:
    """An IT person may use PostgreSQL's own tools: the archive's dump restores with a plain ``pg_restore``
    (the version triggers compare geometries as bytes, which needs no search path)."""
    import subprocess

    from gridgov.db.embedded import find_binaries

    with tarfile.open(Path(made["path"])) as tar:
        tar.extract("database.dump", tmp_path, filter="data")
    url = _create_db(server_url, "gridgov_plain_restore")
    try:
        run = subprocess.run([str(find_binaries().bindir / "pg_restore"), "--no-owner", "--exit-on-error",
                              "-d", url, str(tmp_path / "database.dump")], capture_output=True, text=True)  # fmt: skip
        assert run.returncode == 0, run.stderr
        restored = make_engine(url)
        try:
            expected = read_manifest(Path(made["path"]))["tables"]["public.household"]
            assert _counts(restored)["public.household"] == expected > 0
        finally:
            restored.dispose()
    finally:
        _drop_db(server_url, url)
