#!/usr/bin/env bash
# make bench: build (once) a database of 100,000 customers and 500,000 posted invoice lines
# (bench/build.py), then, on fresh copies of it, time the full segment + RFM recompute
# against one hand-written SQL computing the same facts (the floor), and the phone lookup
# (bench/measure.py); bench/report.py prints the figures against the targets.
#   BENCH_TRIALS (default 3) trials, each on its own copy. The database is keyed by a hash
#   of the generator, its sizes and the addon version; when the addon's code changed since,
#   it is updated (-u crm_retail) and its derived fields filled again instead of rebuilt.
#   BENCH_CUSTOMERS, BENCH_SEED_CUSTOMERS, BENCH_INVOICE_LINES: smaller sizes, for trying.
# Then cashiers posting at once for the same customers, vanilla beside crm_retail
# (bench/contention.py; BENCH_CONTENTION=0 skips it, BENCH_CONTENTION_* set its sizes).
# Then posting invoices, vanilla beside crm_retail, on the same two templates: 1,000 invoices
# in batches of 100, each for a new customer or over 100 customers, time and queries of
# action_post() and what commit runs, and one invoice at a time over HTTP, p50/p95
# (bench/posting.py; BENCH_POSTING=0 skips it, BENCH_POSTING_* set its sizes, see there).
# Then installing crm_retail on the benchmark database without it, timed and audited
# (bench/install_on_history.sh; BENCH_INSTALL=0 skips it). BENCH_TRIALS=0 with the three
# switches at 0 only builds (or updates) the benchmark database.
# Exits non-zero only when the benchmark itself breaks; missed targets are printed as FAIL.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"
export BENCH_CUSTOMERS="${BENCH_CUSTOMERS:-100000}"
export BENCH_SEED_CUSTOMERS="${BENCH_SEED_CUSTOMERS:-1000}"
export BENCH_INVOICE_LINES="${BENCH_INVOICE_LINES:-500000}"
trials="${BENCH_TRIALS:-3}"

log() { printf '[bench] %s\n' "$*"; }
quiet_drop() { drop_db "$1" 2>/dev/null; }
odoo_shell() {  # database, script; the script's own lines on stdout, all in the log
    "$ODOO" shell -c "$ODOO_CONF" -d "$1" --no-http --log-level=warn < "$2"
}

version=$(python3 -c 'import ast, sys; print(ast.literal_eval(open(sys.argv[1]).read())["version"])' \
    crm_retail/__manifest__.py)
key=$( { cat bench/build.py; echo "$version $BENCH_CUSTOMERS $BENCH_SEED_CUSTOMERS $BENCH_INVOICE_LINES"; } \
    | sha1sum | cut -c1-10)
db="crm_retail_bench_${BENCH_CUSTOMERS}_$key"
# What an update would change: the addon's code and data, not its tests or translations.
addon_hash=$(find crm_retail -type f \( -name '*.py' -o -name '*.xml' -o -name '*.csv' \) \
    -not -path '*/tests/*' -not -path '*/i18n/*' | LC_ALL=C sort | xargs cat | sha1sum | cut -c1-12)
logdir="$LOCAL_DIR/bench"
mkdir -p "$logdir"
set_addon_hash() {
    psql -X -qd "$1" -c "INSERT INTO ir_config_parameter (key, value, create_date, write_date)
        VALUES ('crm_retail_bench.addon', '$addon_hash', now(), now())
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
}
run_logged() {  # log file, command...: fail with the log's tail
    local logfile=$1; shift
    "$@" >>"$logfile" 2>&1 || { tail -40 "$logfile" >&2; log "failed, see $logfile" >&2; return 1; }
}

if ! db_exists "$db"; then
    # Outdated benchmark databases of this size (another generator) are 1-2 GB each.
    for old in $(psql -X -tAc "SELECT datname FROM pg_database
                               WHERE datname LIKE 'crm\_retail\_bench\_${BENCH_CUSTOMERS}\_%'"); do
        log "dropping the outdated $old"
        quiet_drop "$old"
    done
    tmp="${db}_building"
    buildlog="$logdir/build-$key.log"
    : >"$buildlog"
    log "building $db: $BENCH_CUSTOMERS customers, $BENCH_INVOICE_LINES invoice lines (log: $buildlog)"
    start=$(date +%s)
    quiet_drop "$tmp"
    run_logged "$buildlog" "$ODOO" db -c "$ODOO_CONF" init "$tmp" --country VN --language vi_VN
    run_logged "$buildlog" "$ODOO" -c "$ODOO_CONF" -d "$tmp" -i l10n_vn,crm_retail --stop-after-init \
        --no-http --log-level=warn
    log "database with l10n_vn and crm_retail installed: $(( $(date +%s) - start )) s"
    BENCH_PHASE=build odoo_shell "$tmp" bench/build.py 2>>"$buildlog" | tee -a "$buildlog" \
        | grep --line-buffered '^\[bench' || true
    grep -q '^\[bench build\] done' "$buildlog" || { tail -40 "$buildlog" >&2; log "build failed" >&2; exit 1; }
    vacuum_start=$(date +%s)
    psql -X -qd "$tmp" -c "VACUUM ANALYZE"
    log "VACUUM ANALYZE: $(( $(date +%s) - vacuum_start )) s"
    set_addon_hash "$tmp"
    psql -X -qc "ALTER DATABASE \"$tmp\" RENAME TO \"$db\""
    [ -d "$LOCAL_DIR/data/filestore/$tmp" ] && mv "$LOCAL_DIR/data/filestore/$tmp" "$LOCAL_DIR/data/filestore/$db"
    log "build time: $(( $(date +%s) - start )) s ($db, $(psql -X -tAc "SELECT pg_size_pretty(pg_database_size('$db'))"))"
else
    log "reusing $db ($(psql -X -tAc "SELECT pg_size_pretty(pg_database_size('$db'))"))"
    if [ "$(psql -X -tAd "$db" -c "SELECT value FROM ir_config_parameter WHERE key = 'crm_retail_bench.addon'")" != "$addon_hash" ]; then
        start=$(date +%s)
        updatelog="$logdir/update-$key.log"
        : >"$updatelog"
        log "the addon changed since: updating crm_retail and filling the derived fields again (log: $updatelog)"
        run_logged "$updatelog" "$ODOO" -c "$ODOO_CONF" -d "$db" -u crm_retail --stop-after-init \
            --no-http --log-level=warn
        BENCH_PHASE=refresh odoo_shell "$db" bench/build.py 2>>"$updatelog" | tee -a "$updatelog" \
            | grep --line-buffered '^\[bench' || true
        grep -q '^\[bench build\] done' "$updatelog" || { tail -40 "$updatelog" >&2; log "update failed" >&2; exit 1; }
        psql -X -qd "$db" -c "VACUUM ANALYZE"
        set_addon_hash "$db"
        log "update time: $(( $(date +%s) - start )) s"
    fi
fi

results="$logdir/results-$key.jsonl"
: >"$results"
for trial in $(seq 1 "$trials"); do
    trial_db="${db}_trial"
    quiet_drop "$trial_db"
    copy_start=$(date +%s)
    copy_db "$db" "$trial_db"
    log "trial $trial/$trials on a fresh copy ($(( $(date +%s) - copy_start )) s to copy)"
    trial_log="$logdir/trial-$trial.log"
    : >"$trial_log"
    BENCH_TRIAL="$trial" odoo_shell "$trial_db" bench/measure.py 2>>"$trial_log" | tee -a "$trial_log" \
        | grep --line-buffered '^\[bench' || true
    grep '^BENCH_RESULT ' "$trial_log" | cut -d' ' -f2- >>"$results" \
        || { tail -40 "$trial_log" >&2; quiet_drop "$trial_db"; log "trial $trial failed" >&2; exit 1; }
    quiet_drop "$trial_db"
done
if [ "$trials" -gt 0 ]; then
    python3 bench/report.py "$results"
fi

# Installing crm_retail on a shop with history: the benchmark database without the addon
# (bench/install_on_history.sh; BENCH_INSTALL=0 skips it).
if [ "${BENCH_INSTALL:-1}" != 0 ]; then
    bash bench/install_on_history.sh "$db"
fi

# Vanilla Odoo (crm_retail's dependencies only) beside crm_retail: two templates installed
# the same way, shared by the two benchmarks below, which run each trial on fresh copies.
if [ "${BENCH_CONTENTION:-1}" != 0 ] || [ "${BENCH_POSTING:-1}" != 0 ]; then
    vanilla=$(deps_template)
    with_addon="crm_retail_contention_tpl_$$"
    quiet_drop "$with_addon"
    trap 'quiet_drop "$with_addon"' EXIT
    copy_db "$vanilla" "$with_addon"
    run_logged "$logdir/contention-install.log" "$ODOO" -c "$ODOO_CONF" -d "$with_addon" \
        -i crm_retail --stop-after-init --no-http --log-level=warn
fi

# Cashiers posting at once for the same customers, each trial on fresh copies
# (bench/contention.py).
if [ "${BENCH_CONTENTION:-1}" != 0 ]; then
    "$VENV/bin/python" bench/contention.py "$vanilla" "$with_addon"
fi

# Posting invoices, in batches in process and one at a time over HTTP (bench/posting.py).
if [ "${BENCH_POSTING:-1}" != 0 ]; then
    "$VENV/bin/python" bench/posting.py "$vanilla" "$with_addon"
fi
