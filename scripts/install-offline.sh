#!/usr/bin/env bash
# 离线安装 gridgov（在解压后的离线安装包目录中以 root 运行，全程不联网；可重复运行）：
#   1. 按 SHA256SUMS 校验安装包中的每个文件；
#   2. 从安装包自带的本地软件源（debs/）安装 Debian 软件包：PostgreSQL、PostGIS、中文字体、WeasyPrint 所需的 pango、python3-venv；
#   3. 在安装目录（默认 /opt/gridgov）中创建 .venv，只用安装包里的 wheel 安装 gridgov 及其依赖；
#   4. 放置前端资源 node_modules/；
#   5. 检查：软件包已安装、gridgov version、gridgov db up、gridgov db migrate、gridgov db status。
# 用法：sudo ./install-offline.sh [--prefix 安装目录] [--simulate-debs | --skip-debs]
#   --simulate-debs  第 2 步只演练（apt-get --simulate），不改动系统软件包（测试用）
#   --skip-debs      跳过第 2 步（系统软件包已由管理员装好时）
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=/opt/gridgov
debs=install

die() { echo "离线安装失败：$*" >&2; exit 1; }
step() { echo; echo "== $* =="; }

while (($#)); do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix 需要一个目录"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --simulate-debs) debs=simulate; shift ;;
    --skip-debs) debs=skip; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "未知参数：$1（用法：sudo ./install-offline.sh [--prefix 安装目录]）" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "请以 root 身份运行：sudo ./install-offline.sh"
os=$(. /etc/os-release 2>/dev/null && echo "${ID:-}-${VERSION_ID:-}")
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
[ "$os" = debian-12 ] && [ "$arch" = amd64 ] \
  || die "本安装包只适用于 Debian 12 (bookworm) amd64，本机是 $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-未知系统}")（$arch）。"
for f in SHA256SUMS debian-packages.txt wheels debs assets/node_modules; do
  [ -e "$here/$f" ] || die "安装包不完整：缺少 $f。请重新解压完整的 gridgov-offline-*.tar.gz。"
done
mapfile -t pkgs < "$here/debian-packages.txt"
wheel=$(cd "$here/wheels" && ls gridgov-*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || die "安装包不完整：wheels/ 中没有 gridgov 的 wheel。"
version=$(echo "$wheel" | cut -d- -f2)
prefix=$(mkdir -p "$prefix" && cd "$prefix" && pwd)
echo "gridgov $version 离线安装 → $prefix"

step "1/5 校验安装包文件（SHA256SUMS）"
(cd "$here" && sha256sum --quiet --strict -c SHA256SUMS) \
  || die "文件校验失败：安装包在复制过程中损坏或被改动。请重新复制 gridgov-offline-*.tar.gz 并解压。"
echo "全部文件校验通过。"

step "2/5 安装系统软件包（本地软件源 debs/，不联网）"
if [ "$debs" = skip ]; then
  echo "已跳过（--skip-debs）。"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  # The bundle's folder is the only source; its own lists and cache keep the system's apt state untouched.
  echo "deb [trusted=yes] file:$here/debs ./" > "$work/sources.list"
  APT=(apt-get -q -o Dir::Etc::sourcelist="$work/sources.list" -o Dir::Etc::sourceparts=-
       -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o APT::Sandbox::User=root
       -o Acquire::Languages=none -o APT::Install-Recommends=false)
  "${APT[@]}" -qq update || die "无法读取本地软件源 $here/debs。"
  sim=()
  [ "$debs" = simulate ] && sim=(--simulate)
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y "${sim[@]}" "${pkgs[@]}" \
    || die "系统软件包安装失败（见上方 apt-get 的信息）。"
fi

step "3/5 Python 虚拟环境 $prefix/.venv（只用安装包中的 wheel）"
[ -x /usr/bin/python3 ] || die "缺少 /usr/bin/python3（应由第 2 步安装）。"
/usr/bin/python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "安装包中的 wheel 是为 Python 3.11 构建的，本机 /usr/bin/python3 是 $(/usr/bin/python3 --version 2>&1)。"
if [ ! -x "$prefix/.venv/bin/python" ]; then
  /usr/bin/python3 -m venv "$prefix/.venv"
fi
# Only the bundle's wheels: no pip configuration (mirrors, find-links, constraints) of this machine applies.
for v in $(compgen -e); do case "$v" in PIP_*) unset "$v" ;; esac; done
PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
  "$prefix/.venv/bin/python" -m pip install -q --no-index --find-links "$here/wheels" "$here"/wheels/*.whl \
  || die "安装 Python 依赖失败（见上方 pip 的信息）。"
echo "已安装 gridgov $version 及其依赖。"

step "4/5 前端资源 $prefix/node_modules"
rm -rf "$prefix/node_modules.new" "$prefix/node_modules.old"
cp -a "$here/assets/node_modules" "$prefix/node_modules.new"
[ ! -d "$prefix/node_modules" ] || mv "$prefix/node_modules" "$prefix/node_modules.old"
mv "$prefix/node_modules.new" "$prefix/node_modules"
rm -rf "$prefix/node_modules.old"
echo "已放置前端资源（$(du -sh "$prefix/node_modules" | cut -f1)）。"

step "5/5 检查"
cd "$prefix"
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) || die "以下系统软件包未安装：${missing[*]}"
echo "系统软件包：${#pkgs[@]} 个均已安装。"
gg=("$prefix/.venv/bin/gridgov")
"${gg[@]}" version
"${gg[@]}" db up
"${gg[@]}" db migrate
"${gg[@]}" db status
"$prefix/.venv/bin/python" -c 'from gridgov.maps.vendor import vendor_files; print(f"前端资源：{len(vendor_files())} 个文件可用。")'

cat <<EOF

gridgov $version 已安装在 $prefix，数据库已启动并迁移到最新版本。
以下命令都在 $prefix 目录中执行（配置文件 .env、数据库目录 .gridgov/ 和 node_modules/ 都按当前目录查找）：

  cd $prefix
  .venv/bin/gridgov init --street 街道代码                           # 建立本街道
  .venv/bin/gridgov user add admin --role admin --password-stdin     # 第一个系统管理员（从标准输入读入密码）
  .venv/bin/gridgov deploy systemd --enable                          # 开机自动启动服务、定时备份

然后在浏览器中打开 http://本机地址:8000/ 登录。
EOF
