# The Debian packages gridgov needs, in one place. Sourced (not run) by scripts/bootstrap.sh, which installs the
# runtime and dev sets, and by scripts/bundle.sh, which puts the runtime set and its dependency closure into the
# offline bundle. PostGIS is named after the PostgreSQL major version: see postgis_debs.

# What a production server needs at run time.
RUNTIME_DEBS=(
  postgresql postgresql-contrib              # server (the major version follows the distro)
  fonts-noto-cjk                             # CJK font for maps and print
  libpango-1.0-0 libpangoft2-1.0-0           # WeasyPrint
  python3-venv
)

# Only for the tests and development.
DEV_DEBS=(
  chromium                                   # headless browser tests
  poppler-utils                              # pdfinfo / pdffonts / pdftotext in print tests
  nodejs npm                                 # front-end assets from the npm registry
  iproute2                                   # ip: the offline-install test brings up loopback in a network namespace
  systemd                                    # systemd-analyze: the deploy tests verify the unit files (a container may lack it)
)

# GRIDGOV_BENCH=1 (bootstrap.sh): ogr2ogr, the manual-import baseline of bench/import_bench.py.
BENCH_DEBS=(gdal-bin)

# Only for building the offline bundle: apt-ftparchive writes the Packages index of its local repository.
BUNDLE_BUILD_DEBS=(apt-utils)

# The PostGIS packages matching PostgreSQL major version $1 (Debian 12: 15, Ubuntu 22.04: 14, 24.04: 16).
postgis_debs() {
  echo "postgresql-$1-postgis-3" "postgresql-$1-postgis-3-scripts"
}

# Whether package $1 is already usable; a few are checked by what they provide rather than by their name, so
# that e.g. a nodejs from another source than Debian's is accepted.
deb_present() {
  case "$1" in
    nodejs|npm) command -v "$1" >/dev/null 2>&1 && return 0 ;;
    iproute2) command -v ip >/dev/null 2>&1 && return 0 ;;
    systemd) command -v systemd-analyze >/dev/null 2>&1 && return 0 ;;
    python3-venv) python3 -c 'import ensurepip' >/dev/null 2>&1 && return 0 ;;
  esac
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
