#!/usr/bin/env bash
# The README's main-job command: set up, start the embedded PostGIS, load and assign the sample
# street, write the maps under maps/ (kept when neither the data nor the options changed), and serve the API and
# pages at http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
gg=.venv/bin/gridgov
$gg db up
$gg db migrate
$gg sample generate --if-outdated
$gg sample load --skip-existing
$gg assign
$gg map grid -o maps/grid.html --if-changed
$gg map coverage -o maps/coverage.html --if-changed
$gg map patrol -o maps/patrol.html --if-changed
# The workspace needs an account: on the first run, an administrator "admin" with a random password, kept in
# GRIDGOV_HOME/demo-admin-password (readable by this user only) and printed below.
home="${GRIDGOV_HOME:-.gridgov}"
if [ "$($gg user list --json)" = "[]" ]; then
  umask 077
  .venv/bin/python -c 'import secrets; print("Demo" + secrets.token_urlsafe(9) + "7")' > "$home/demo-admin-password"
  $gg user add admin --role admin --name 演示管理员 --password-stdin < "$home/demo-admin-password"
fi
echo "gridgov: http://${GRIDGOV_HOST:-127.0.0.1}:${GRIDGOV_PORT:-8000}/"
[ -f "$home/demo-admin-password" ] && echo "登录：用户名 admin，密码 $(cat "$home/demo-admin-password")（保存在 $home/demo-admin-password）"
# The sample's cases end on its last day (2026-10-31): its open cases are all overdue today, and the server's sweep
# would move every one of them up to the street on its first round, emptying the grid workers' inboxes. The demo
# keeps them where the sample left them (a real installation escalates: GRIDGOV_ESCALATE_OVERDUE defaults to true).
export GRIDGOV_ESCALATE_OVERDUE="${GRIDGOV_ESCALATE_OVERDUE:-false}"
exec $gg serve
