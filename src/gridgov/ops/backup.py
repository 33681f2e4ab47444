"""Backups of an installation: one tar file with a manifest, a ``pg_dump`` archive and the data files of
GRIDGOV_HOME; restoring one into an empty installation; and the retention of scheduled backups.

What a backup holds, and why:

* ``database.dump``: ``pg_dump --format=custom`` of one snapshot, exported by the transaction that also counts the
  rows of every table for the manifest, so the counts describe exactly what the dump holds. Incident photos and
  Party meeting minutes are ``bytea`` columns: they come with the dump.
* ``files/``: the files of GRIDGOV_HOME that are data and exist nowhere else (:data:`HOME_DATA`, none today).
  Left out on purpose: ``jobs/`` (outputs made again from the data), ``uploads/`` (imports waiting an hour for a
  confirmation), ``vendor-cache/``, ``logs/``, ``backups/``, the embedded cluster (``pg/``, its port and password:
  the target has its own), and ``secret_key``: it only signs session and CSRF cookies (nothing stored is derived
  from it), a restored installation makes a new one at its first start, which ends the old logins (their
  sessions belong to the state before the restore), and a stolen backup then cannot forge cookies for the
  running server.
* ``manifest.json``: versions, the alembic revision, the row count of every table and the sha256 of every member.

A restore checks the manifest and every checksum before it changes anything, then runs the dump's SQL (from
``pg_restore``) through ``psql`` in ONE transaction that first drops the empty schema the target's migrations made
and last compares the restored row counts with the manifest: any error rolls everything back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gridgov import __version__
from gridgov.auth.scope import Actor, authorize
from gridgov.auth.views import log_view
from gridgov.db.embedded import find_binaries
from gridgov.errors import Conflict, DatabaseUnavailable, InstallationError, InvalidInput

FORMAT = "gridgov-backup"
FORMAT_VERSION = 1
SUFFIX = ".gridgov-backup"
MANIFEST = "manifest.json"
DUMP = "database.dump"
FILES = "files"
# The files (or folders) of GRIDGOV_HOME that are data and exist nowhere else. None today: photos and minutes
# live in the database. A feature that keeps data as files adds its path here.
HOME_DATA: tuple[str, ...] = ()
NAME = re.compile(r"gridgov-(?P<street>[0-9A-Za-z_]+)-(?P<at>\d{8}-\d{6})" + re.escape(SUFFIX))
STAMP = "%Y%m%d-%H%M%S"
_CHUNK = 1 << 20

# Tables a freshly migrated database already fills (reference data the migrations seed, bookkeeping): their rows
# do not make an installation "not empty". Of two tables only some rows count: the terms users added, and audit
# rows other than views (a trial backup of the new installation logs one).
# ``gridgov init``'s street record and official community list count as empty too: a backup brings its own.
SEEDED = frozenset({"alembic_version", "data_revision", "incident_time_limit", "incident_dispatch_rule",
                    "work_calendar", "installation", "division"})  # fmt: skip
_OWN_ROWS = {"vocab_term": "SELECT count(*) FROM vocab_term WHERE NOT builtin",
             "audit_log": "SELECT count(*) FROM audit_log WHERE action <> 'view'"}  # fmt: skip

# Every user table (extension tables such as spatial_ref_sys excluded) with its exact row count, in one
# statement: query_to_xml runs the count of each table named by the catalogue. Used by the backup inside its
# snapshot and by the restore inside its transaction (where search_path is empty: only pg_catalog names).
TABLE_COUNTS = r"""
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name,
       (pg_catalog.xpath('/row/n/text()', pg_catalog.query_to_xml(
            pg_catalog.format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, ''
       )))[1]::text::bigint AS n
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                    AND d.deptype = 'e')
ORDER BY 1
"""

# The restore's first statements, in its transaction: the extensions the dump names (created only if missing:
# PostGIS is the target's own, whatever version the source had), then every object of the target's (empty)
# public schema that no extension owns, so the dump recreates the schema at its own revision.
_DROP_PUBLIC = r"""
DO $gridgov$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT 1 AS rank, CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                     WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind,
           pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND NOT c.relispartition
      -- extension members stay; sequences owned by a column (serial, identity) go with their table
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass
                        AND d.objid = c.oid AND (d.deptype = 'e' OR c.relkind = 'S' AND d.deptype IN ('a', 'i')))
    UNION ALL
    SELECT 2, 'ROUTINE', p.oid::pg_catalog.regprocedure::text
    FROM pg_catalog.pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass
                        AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 3, 'TYPE', t.oid::pg_catalog.regtype::text
    FROM pg_catalog.pg_type t
    WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r')
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_type'::regclass
                        AND d.objid = t.oid AND d.deptype = 'e')
    ORDER BY 1
  LOOP
    EXECUTE pg_catalog.format('DROP %s IF EXISTS %s CASCADE', r.kind, r.name);
  END LOOP;
END
$gridgov$;
"""

# The restore's last statement: the restored row counts must equal the manifest's, or the transaction fails.
_CHECK_COUNTS = """
DO $gridgov$
DECLARE
  expected jsonb := %s::jsonb;
  actual jsonb;
  diff text;
BEGIN
  SELECT coalesce(jsonb_object_agg(t.name, t.n), '{}') INTO actual FROM (%s) t;
  IF actual IS DISTINCT FROM expected THEN
    SELECT string_agg(pg_catalog.format('%%s %%s→%%s', coalesce(e.key, a.key), coalesce(e.value::text, '-'),
                                        coalesce(a.value::text, '-')), ', ')
      INTO diff
      FROM jsonb_each(expected) e FULL JOIN jsonb_each(actual) a ON a.key = e.key
     WHERE e.value IS DISTINCT FROM a.value;
    RAISE EXCEPTION 'GRIDGOV_COUNTS %%', diff;
  END IF;
END
$gridgov$;
"""

# pg_restore empties the search_path (against objects planted in the target's schemas); the restore puts public
# back, as the migrations had it: PostgreSQL prints a trigger's ``WHEN (old.geom IS DISTINCT FROM new.geom)``
# without a schema (IS DISTINCT FROM cannot name its operator), so with an empty path PostGIS's ``=`` is not found
# and the trigger cannot be created. The prelude has just emptied public of everything but the extensions.
_PATH_EMPTY = b"SELECT pg_catalog.set_config('search_path', '', false);\n"
_PATH_PUBLIC = b"SELECT pg_catalog.set_config('search_path', 'pg_catalog, public', false);\n"
_HEADER_LINES = 100

# A statement that fails the transaction when pg_restore could not read the whole dump.
_ABORT = "DO $gridgov$ BEGIN RAISE EXCEPTION 'GRIDGOV_DUMP_UNREADABLE'; END $gridgov$;\n"

# TOC entries the restore leaves out: the extensions (created by the prelude when missing: the target's own
# version, and no superuser-only COMMENT ON EXTENSION) and the public schema the target already has.
_SKIPPED_TOC = re.compile(r"^\d+;\s+\d+\s+\d+\s+(EXTENSION - |COMMENT - EXTENSION |SCHEMA - public\b|"
                          r"COMMENT - SCHEMA public\b)")  # fmt: skip
_EXTENSION_TOC = re.compile(r"^\d+;\s+\d+\s+\d+\s+EXTENSION - (\S+)")


def _json_form(result: BackupResult | RestoreResult) -> dict[str, Any]:
    """A backup's or restore's result as JSON: the path as text, and the rows in all."""
    return asdict(result) | {"path": str(result.path), "rows": sum(result.tables.values())}


@dataclass(frozen=True)
class BackupResult:
    """What ``gridgov backup`` made."""

    path: Path
    size: int
    seconds: float
    street: str
    revision: str
    tables: dict[str, int]
    files: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return _json_form(self)


@dataclass(frozen=True)
class RestoreResult:
    """What ``gridgov restore`` did."""

    path: Path
    seconds: float
    street: str
    created_at: str
    revision: str
    migrated_to: str
    tables: dict[str, int]
    files: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return _json_form(self)


# -- names and retention --------------------------------------------------------------------------------------
def backup_name(street: str, at: dt.datetime) -> str:
    """The file name of a backup of ``street`` (a code, or "empty") made at ``at`` (local time)."""
    safe = re.sub(r"[^0-9A-Za-z_]", "_", street) or "empty"
    return f"gridgov-{safe}-{at.strftime(STAMP)}{SUFFIX}"


def scheduled_backups(directory: Path) -> list[Path]:
    """The backups in ``directory`` named as gridgov names them, newest first (by the time in the name)."""
    if not directory.is_dir():
        return []
    found = [(m.group("at"), p.name, p) for p in directory.iterdir() if (m := NAME.fullmatch(p.name)) and p.is_file()]
    return [p for _, _, p in sorted(found, reverse=True)]


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete the oldest backups in ``directory`` beyond the ``keep`` newest; returns the deleted paths."""
    if keep < 1:
        raise InvalidInput("保留的备份数至少为 1")
    old = scheduled_backups(directory)[keep:]
    for p in old:
        p.unlink(missing_ok=True)
    return old


# -- helpers --------------------------------------------------------------------------------------------------
def _client(name: str) -> Path:
    """A PostgreSQL client program of the newest installed PostgreSQL (never older than the server: checked)."""
    path = find_binaries().bindir / name
    if not path.exists():
        raise InstallationError(f"缺少 PostgreSQL 客户端程序 {path}：请重新运行 scripts/bootstrap.sh。")
    return path


def _client_major(program: Path) -> int:
    out = subprocess.run([str(program), "--version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(m.group(1)) if m else 0


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its password, and an environment that carries the password (not visible in ``ps``)."""
    u = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
    return u.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _home_files(home: Path, wanted: Sequence[str]) -> list[tuple[str, Path]]:
    """The data files under ``home`` named by ``wanted`` (files, or folders taken whole), as (member, path)."""
    found: list[tuple[str, Path]] = []
    for rel in wanted:
        top = home / rel
        paths = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top] if top.is_file() else []
        found += [(f"{FILES}/{p.relative_to(home).as_posix()}", p) for p in paths]
    return found


def _safe_member(name: str) -> bool:
    """True for the member names a backup may hold (no absolute paths, no ``..``)."""
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return False
    return name in (MANIFEST, DUMP) or (p.parts[0] == FILES and len(p.parts) > 1)


def _street(conn: Connection) -> str:
    """The code of the live street grid(s), or "empty" (also for a database never migrated)."""
    if not conn.execute(text("SELECT to_regclass('public.grid')")).scalar():
        return "empty"
    codes = conn.execute(text("SELECT code FROM grid WHERE level = 'street' AND valid_to IS NULL ORDER BY code"))
    return "_".join(codes.scalars()) or "empty"


def _revision(conn: Connection) -> str:
    if not conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar():
        return ""
    return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or "")


def table_counts(conn: Connection) -> dict[str, int]:
    """The row count of every user table (``schema.table``), in one statement."""
    return {name: int(n) for name, n in conn.execute(text(TABLE_COUNTS)).all()}


def _versions(conn: Connection) -> dict[str, Any]:
    row = conn.execute(text("SELECT current_setting('server_version'), current_setting('server_version_num')::int, "
                            "(SELECT extversion FROM pg_extension WHERE extname = 'postgis')")).one()  # fmt: skip
    return {"postgresql": row[0], "postgresql_major": row[1] // 10000, "postgis": row[2]}


@contextlib.contextmanager
def _private_file(path: Path) -> Iterator[IO[bytes]]:
    """A new file readable by its owner only (mode 0600 whatever the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def _add(tar: tarfile.TarFile, name: str, path: Path, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = path.stat().st_size, 0o600, mtime
    with path.open("rb") as f:
        tar.addfile(info, f)


# -- backup ---------------------------------------------------------------------------------------------------
def create_backup(
    engine: Engine,
    actor: Actor,
    url: str,
    out: Path,
    *,
    home: Path,
    now: dt.datetime | None = None,
    home_files: Sequence[str] = HOME_DATA,
) -> BackupResult:
    """Back up the database at ``url`` (``engine`` is the same database) and the data files of ``home`` into one
    file: ``out``, or a new file named by :func:`backup_name` when ``out`` is a directory. Administrators only."""
    started = time.monotonic()
    with Session(engine) as s, s.begin():
        authorize(s, actor, "admin", anywhere=True)
    now = now or dt.datetime.now().astimezone()
    pg_dump = _client("pg_dump")
    conninfo, env = _libpq(url)
    out = out.expanduser().absolute()
    directory = out if out.is_dir() else out.parent
    if not directory.is_dir():
        raise InvalidInput(f"备份目录不存在：{directory}")
    with tempfile.TemporaryDirectory(prefix=".gridgov-backup-", dir=directory) as tmp_name:
        tmp = Path(tmp_name)  # mode 0700, beside the target: the finished file is renamed into place
        dump = tmp / DUMP
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            # pg_dump reads the snapshot this transaction exports: the manifest's counts are the dump's.
            snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            versions, tables = _versions(conn), table_counts(conn)
            street, revision = _street(conn), _revision(conn)
            if _client_major(pg_dump) < versions["postgresql_major"]:
                raise InstallationError(f"{pg_dump} 的版本低于数据库服务器（PostgreSQL {versions['postgresql']}）："
                                        "请安装同版本或更新的 PostgreSQL 客户端。")  # fmt: skip
            target = out / backup_name(street, now) if out.is_dir() else out
            if target.exists():
                raise Conflict(f"文件已存在，未覆盖：{target}")
            done = subprocess.run([str(pg_dump), "--format=custom", f"--snapshot={snapshot}", "--no-password",
                                   f"--file={dump}", f"--dbname={conninfo}"], env=env, capture_output=True,
                                  text=True)  # fmt: skip
            if done.returncode != 0:
                raise DatabaseUnavailable(f"pg_dump 失败：{done.stderr.strip()[-800:]}")
        files = _home_files(home, home_files)
        members = {DUMP: dump, **dict(files)}
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "gridgov": __version__,
            "alembic_revision": revision,
            "created_at": now.isoformat(timespec="seconds"),
            "database": make_url(url).database,
            "street": street,
            **{k: v for k, v in versions.items() if k != "postgresql_major"},
            "pg_dump": subprocess.run([str(pg_dump), "--version"], capture_output=True, text=True).stdout.strip(),
            "tables": tables,
            "members": {name: {"sha256": _sha256(p), "size": p.stat().st_size} for name, p in members.items()},
        }
        manifest_path = tmp / MANIFEST
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        partial = tmp / target.name
        with _private_file(partial) as f, tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, MANIFEST, manifest_path, now.timestamp())
            for name, path in members.items():
                _add(tar, name, path, now.timestamp())
        if target.exists():
            raise Conflict(f"文件已存在，未覆盖：{target}")
        os.replace(partial, target)
    with contextlib.suppress(OSError):  # make the rename durable where the file system allows it
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    with Session(engine) as s, s.begin():
        log_view(s, actor, "backup", None, page="gridgov backup", rows=sum(tables.values()), file=target.name)
    return BackupResult(target, target.stat().st_size, time.monotonic() - started, street, revision, tables,
                        [name for name, _ in files])  # fmt: skip


# -- reading a backup -----------------------------------------------------------------------------------------
def _damaged(archive: Path, why: str) -> InvalidInput:
    return InvalidInput(f"备份文件已损坏或不是 gridgov 备份（{archive.name}）：{why}。未做任何更改。")


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest of a backup file, checked for its format (not yet its checksums: see :func:`unpack`)."""
    if not archive.is_file():
        raise InvalidInput(f"备份文件不存在：{archive}")
    try:
        with tarfile.open(archive, mode="r:") as tar:
            member = tar.next()
            if member is None or member.name != MANIFEST or not member.isfile():
                raise _damaged(archive, "缺少 manifest.json")
            f = tar.extractfile(member)
            manifest = json.loads(f.read().decode("utf-8")) if f else None
    except (tarfile.TarError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise _damaged(archive, "无法读取") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _damaged(archive, "不是 gridgov 备份格式")
    if not isinstance(manifest.get("format_version"), int) or manifest["format_version"] > FORMAT_VERSION:
        raise InvalidInput(f"备份文件格式版本 {manifest.get('format_version')} 比本程序支持的 {FORMAT_VERSION} 新："
                           "请先升级 gridgov。")  # fmt: skip
    members, tables = manifest.get("members"), manifest.get("tables")
    if not isinstance(members, dict) or DUMP not in members or not isinstance(tables, dict):
        raise _damaged(archive, "清单不完整")
    if not all(_safe_member(name) for name in members):
        raise _damaged(archive, "清单含不允许的文件名")
    return manifest


def unpack(archive: Path, into: Path) -> dict[str, Any]:
    """Extract every member of a backup into ``into`` and check it against the manifest (sha256, size, no member
    missing or extra); returns the manifest. ``InvalidInput`` when the file is damaged or foreign."""
    manifest = read_manifest(archive)
    expected: dict[str, dict[str, Any]] = manifest["members"]
    seen: set[str] = set()
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for member in tar:
                if member.name == MANIFEST and not seen:
                    continue
                if member.name not in expected or member.name in seen or not member.isfile():
                    raise _damaged(archive, f"多余的成员 {member.name}")
                src = tar.extractfile(member)
                target = into / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                h = hashlib.sha256()
                with _private_file(target) as f:
                    while src is not None and (chunk := src.read(_CHUNK)):
                        h.update(chunk)
                        f.write(chunk)
                if h.hexdigest() != expected[member.name].get("sha256"):
                    raise _damaged(archive, f"{member.name} 的校验和不符")
                seen.add(member.name)
    except (tarfile.TarError, OSError) as exc:
        raise _damaged(archive, "无法读取") from exc
    missing = sorted(set(expected) - seen)
    if missing:
        raise _damaged(archive, f"缺少 {'、'.join(missing)}")
    return manifest


def _known_revision(revision: str) -> bool:
    """True when this version of gridgov knows ``revision`` (the backup is not from a newer schema)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from gridgov.db.migrate import alembic_config

    if not revision:
        return True
    try:
        return ScriptDirectory.from_config(alembic_config("postgresql://")).get_revision(revision) is not None
    except CommandError:
        return False


# -- restore --------------------------------------------------------------------------------------------------
def data_rows(conn: Connection) -> dict[str, int]:
    """The tables of the target that hold data (rows beyond what migrations seed), with their row counts."""
    held: dict[str, int] = {}
    for name, n in table_counts(conn).items():
        schema, _, table = name.partition(".")
        if n and schema == "public" and table in _OWN_ROWS:
            n = int(conn.execute(text(_OWN_ROWS[table])).scalar_one())
        if n and not (schema == "public" and table in SEEDED):
            held[name] = n
    return held


def _toc(pg_restore: Path, dump: Path, into: Path) -> tuple[Path, list[str]]:
    """The dump's table of contents without the entries the target provides, and the extensions it names."""
    listed = subprocess.run([str(pg_restore), "--list", str(dump)], capture_output=True, text=True)
    if listed.returncode != 0:
        raise InvalidInput(f"无法读取备份中的数据库档案：{listed.stderr.strip()[-400:]}")
    lines = listed.stdout.splitlines()
    extensions = [m.group(1) for line in lines if (m := _EXTENSION_TOC.match(line))]
    toc = into / "restore.list"
    toc.write_text("\n".join(line for line in lines if not _SKIPPED_TOC.match(line)) + "\n", encoding="utf-8")
    return toc, extensions


def _run_restore(pg_restore: Path, psql: Path, dump: Path, toc: Path, conninfo: str, env: dict[str, str],
                 prelude: str, check: str, errors: Path) -> None:  # fmt: skip
    """Stream pg_restore's SQL into one psql transaction between ``prelude`` and ``check``."""
    with errors.open("wb") as err:
        source = subprocess.Popen([str(pg_restore), "--no-owner", "--no-privileges", f"--use-list={toc}", "--file=-",
                                   str(dump)], stdout=subprocess.PIPE, stderr=err)  # fmt: skip
        sink = subprocess.Popen([str(psql), "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1",
                                 "--single-transaction", "-f", "-", "-d", conninfo],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, env=env)  # fmt: skip
        assert source.stdout is not None and sink.stdin is not None
        try:
            sink.stdin.write(prelude.encode())
            for _ in range(_HEADER_LINES):  # the script's header sets the search_path once
                line = source.stdout.readline()
                sink.stdin.write(_PATH_PUBLIC if line == _PATH_EMPTY else line)
                if not line or line == _PATH_EMPTY:
                    break
            shutil.copyfileobj(source.stdout, sink.stdin, _CHUNK)
            # Only a dump read to its end may commit: otherwise the transaction fails on purpose.
            sink.stdin.write((check if source.wait() == 0 else _ABORT).encode())
            sink.stdin.close()
        except BrokenPipeError:  # psql stopped at an error: its message is in ``errors``
            source.kill()
        finally:
            source.wait()
            sink.wait()
    message = errors.read_text(encoding="utf-8", errors="replace")
    if sink.returncode == 0 and source.returncode == 0:
        return
    if "GRIDGOV_COUNTS" in message:
        diff = message.split("GRIDGOV_COUNTS", 1)[1].splitlines()[0].strip()
        raise DatabaseUnavailable(f"恢复后的行数与备份清单不符（{diff}）：已全部撤销，数据库保持原样。")
    if "GRIDGOV_DUMP_UNREADABLE" in message:
        raise InvalidInput("备份中的数据库档案无法完整读取：已全部撤销，数据库保持原样。")
    raise DatabaseUnavailable(f"恢复失败，已全部撤销，数据库保持原样：{message.strip()[-800:]}")


def restore_backup(engine: Engine, actor: Actor, url: str, archive: Path, *, home: Path) -> RestoreResult:
    """Restore a backup file into the empty installation at ``url`` (``engine`` is the same database) and its
    ``home``: checks the file, refuses a target holding data, restores in one transaction, puts the files back
    and migrates the schema forward when the backup is older than this version of gridgov. Administrators only."""
    from gridgov.db.migrate import current, head, upgrade

    started = time.monotonic()
    with Session(engine) as s, s.begin():
        authorize(s, actor, "admin", anywhere=True)
    archive = archive.expanduser().absolute()
    pg_restore, psql = _client("pg_restore"), _client("psql")
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".gridgov-restore-", dir=home) as tmp_name:
        tmp = Path(tmp_name)
        manifest = unpack(archive, tmp)
        revision = str(manifest.get("alembic_revision") or "")
        if not _known_revision(revision):
            raise InvalidInput(f"备份的表结构版本 {revision} 比本程序新（本程序最新为 {head()}）："
                               "请先升级 gridgov 再恢复。")  # fmt: skip
        with engine.connect() as conn:
            held = data_rows(conn)
        if held:
            shown = "、".join(f"{name.removeprefix('public.')} {n} 行" for name, n in list(held.items())[:6])
            raise Conflict(f"目标数据库已有数据（{shown}{' 等' if len(held) > 6 else ''}）：只能恢复到空的安装中。"
                           "未做任何更改。")  # fmt: skip
        conninfo, env = _libpq(url)
        toc, extensions = _toc(pg_restore, tmp / DUMP, tmp)
        prelude = "SET client_min_messages = warning;\n" + "".join(
            f'CREATE EXTENSION IF NOT EXISTS "{name}";\n' for name in extensions
        ) + _DROP_PUBLIC  # fmt: skip
        expected = json.dumps(manifest["tables"], ensure_ascii=False).replace("'", "''")
        check = _CHECK_COUNTS % (f"'{expected}'", TABLE_COUNTS)
        _run_restore(pg_restore, psql, tmp / DUMP, toc, conninfo, env, prelude, check, tmp / "restore.err")
        files = sorted(name for name in manifest["members"] if name.startswith(f"{FILES}/"))
        for name in files:
            target = home / PurePosixPath(name).relative_to(FILES)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / name, target)
    engine.dispose()  # pooled connections may still see the dropped schema's cached plans and types
    migrated = upgrade(engine) if revision != head() else current(engine)
    return RestoreResult(archive, time.monotonic() - started, str(manifest.get("street") or ""),
                         str(manifest.get("created_at") or ""), revision, migrated, dict(manifest["tables"]),
                         [str(PurePosixPath(n).relative_to(FILES)) for n in files])  # fmt: skip
