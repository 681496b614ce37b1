#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite: initdb into a temporary directory, listen on a
# loopback port, trust local connections (the cluster lives as long as the run and is deleted after).
#   scripts/pg-test-cluster.sh start   prints export HAFNIUM_TEST_POSTGRES_URL=postgres://… and
#                                      export HAFNIUM_PG_DIR=… (eval "$(…)" sets them for child processes too)
#   scripts/pg-test-cluster.sh stop DIR
#   scripts/pg-test-cluster.sh check   exits 1, saying why, when no PostgreSQL is installed
# test/support/engine.ts (startTestPostgres) runs it too, for the tests that need a cluster of their own.
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user. fsync stays on,
# so the cluster is never corrupt, but synchronous_commit is off: a commit returns before its WAL record
# is flushed. Only a crash of PostgreSQL itself (or the machine) could then lose the last ~0.6 s of
# commits, which no test does — the tests kill Hafnium nodes, and a committed transaction is in
# PostgreSQL's memory whatever happens to the node. With it on, each commit waited for an fsync
# (~15 ms here under load) and bounds such as device:authorized within 100 ms of the approval (two
# commits) failed on the loaded 2-core CI machine. Production keeps the default (on): README > Several nodes.
set -euo pipefail

# PG_BINDIR, else initdb on PATH, else Debian's newest /usr/lib/postgresql/<major>/bin.
onpath=$(command -v initdb || true)
bindir=${PG_BINDIR:-${onpath:+$(dirname "$onpath")}}
bindir=${bindir:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bindir/initdb" ] || { echo "PostgreSQL is not installed (no initdb in PG_BINDIR, on PATH or in /usr/lib/postgresql/*/bin; apt-get install -y postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/hafnium-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    # process.stdout.write, not console.log: under FORCE_COLOR (uvu sets it) console.log colours the number.
    port=${PG_PORT:-$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { process.stdout.write(String(s.address().port)); s.close() })")}
    as_pg "$bindir/initdb" -D "$dir/data" -U hafnium --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # Each test server gets its own database: a few hundred connections across parallel test files.
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=400 -c synchronous_commit=off" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "export HAFNIUM_TEST_POSTGRES_URL=postgres://hafnium@127.0.0.1:$port/postgres"
    echo "export HAFNIUM_PG_DIR=$dir"
    ;;
  check) ;;
  stop)
    dir=${2:?usage: $0 stop DIR}
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR | check" >&2
    exit 2
    ;;
esac
