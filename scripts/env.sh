# Sourced by the scripts: where this project keeps its stack. Nothing here outside the repo.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR="$ROOT/.cache"            # downloads kept across `make clean`
LOCAL_DIR="$ROOT/.local"            # extracted Odoo, cluster, filestore, odoo.conf
VENV="$ROOT/.venv"
ODOO_ROOT="$LOCAL_DIR/odoo-root"
ODOO_PYLIB="$ODOO_ROOT/usr/lib/python3/dist-packages"
ODOO_CONF="${ODOO_CONF:-$LOCAL_DIR/odoo.conf}"
ODOO="$VENV/bin/odoo"
PGDATA="$LOCAL_DIR/pgdata"
PGSOCKET="$LOCAL_DIR/pgrun"
# setup.sh's wkhtmltopdf with patched Qt; first, since Odoo searches PATH before bin_path.
case ":$PATH:" in *":$LOCAL_DIR/bin:"*) ;; *) export PATH="$LOCAL_DIR/bin:$PATH" ;; esac
export PGHOST="$PGSOCKET" PGPORT=5432 PGUSER=odoo PGDATABASE=postgres

pg_bindir() {
    local d
    for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    echo "no PostgreSQL server binaries under /usr/lib/postgresql" >&2
    return 1
}

psql_admin() { psql -X -U postgres -d postgres "$@"; }

db_exists() { [ -n "$(psql -X -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A database with crm_retail's dependencies installed (no demo data) and Vietnamese loaded
# beside English (the tours run as Vietnamese staff; English stays the default, the first
# of the list), named after them, so that test databases are copies made in seconds
# instead of 60 s installs.
TEMPLATE_LANGS=en_US,vi_VN
deps_template() {
    local depends name
    depends=$(python3 -c 'import ast, sys; print(",".join(sorted(ast.literal_eval(open(sys.argv[1]).read())["depends"])))' "$ROOT/crm_retail/__manifest__.py")
    name="crm_retail_tpl_$(echo "$depends $TEMPLATE_LANGS" | sha1sum | cut -c1-10)"
    if ! db_exists "$name"; then
        echo "[template] installing $depends into $name (once)" >&2
        "$ODOO" -c "$ODOO_CONF" -d "$name.tmp" -i "$depends" --load-language="$TEMPLATE_LANGS" --stop-after-init --log-level=warn \
            --http-port="$(free_port)" >"$LOCAL_DIR/template.log" 2>&1 \
            || { tail -40 "$LOCAL_DIR/template.log" >&2; dropdb --if-exists "$name.tmp"; return 1; }
        psql -X -qc "ALTER DATABASE \"$name.tmp\" RENAME TO \"$name\""
        [ -d "$LOCAL_DIR/data/filestore/$name.tmp" ] && mv "$LOCAL_DIR/data/filestore/$name.tmp" "$LOCAL_DIR/data/filestore/$name"
    fi
    echo "$name"
}

# createdb -T, plus the filestore (attachments are files, not rows).
copy_db() {
    createdb -T "$1" "$2"
    if [ -d "$LOCAL_DIR/data/filestore/$1" ]; then
        mkdir -p "$LOCAL_DIR/data/filestore"
        cp -r "$LOCAL_DIR/data/filestore/$1" "$LOCAL_DIR/data/filestore/$2"
    fi
}

drop_db() {
    dropdb --if-exists "$1"
    rm -rf "$LOCAL_DIR/data/filestore/$1"
}
