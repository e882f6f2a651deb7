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
        # A build cut short leaves its half-installed copy: never continue from it.
        dropdb --if-exists "$name.tmp"
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

# For Odoo's test runner: a test's rows are inserted in a transaction that stays open and is
# rolled back. Autovacuum, meeting the dead rows of earlier tests, counts 0 live rows in a
# table whose pages are still in use and records reltuples = 0; the planner then expects one
# row of the current test's hundreds and picks nested loops (Odoo's reconciled-payments
# query took ~3 s per call and stalled a run for over 20 minutes). So autovacuum is off
# for every table of a test database, including the tables its installs create.
# PostgreSQL then estimates from the tables' current size, as it does before a first vacuum.
disable_autovacuum() {
    psql_admin -d "$1" -qv ON_ERROR_STOP=1 <<'SQL'
DO $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname = 'public' LOOP
        EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', t);
    END LOOP;
END $$;
CREATE FUNCTION test_db_no_autovacuum() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE t record;
BEGIN
    FOR t IN SELECT objid FROM pg_event_trigger_ddl_commands()
             WHERE object_type = 'table' AND schema_name = 'public' LOOP
        EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', t.objid::regclass);
    END LOOP;
END $$;
CREATE EVENT TRIGGER test_db_no_autovacuum ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION test_db_no_autovacuum();
SQL
}

drop_db() {
    dropdb --if-exists "$1"
    rm -rf "$LOCAL_DIR/data/filestore/$1"
}
