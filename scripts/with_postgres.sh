#!/usr/bin/env bash
# Runs a command beside a private PostgreSQL server: a throw-away cluster in a temp dir on a
# free loopback port, with a database and a user for nntune. Always stops the server and removes
# the dir, however the command ends. Installs Debian's postgresql first if it is missing.
#
#   scripts/with_postgres.sh COMMAND [ARGS...]
#
# The command sees:
#   NNTUNE_TEST_POSTGRES_URL      postgresql://nntune:PASSWORD@127.0.0.1:PORT/nntune
#   NNTUNE_TEST_POSTGRES_DATADIR  the cluster's data dir   (for the restart test)
#   NNTUNE_TEST_PG_CTL            a command that runs pg_ctl as the cluster's owner: append
#                                 pg_ctl's arguments, e.g. "$NNTUNE_TEST_PG_CTL" restart -m fast
# initdb and the server refuse to run as root, so as root they run as the `postgres` system user
# (created by Debian's package) with a temp dir it owns.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/with_postgres.sh COMMAND [ARGS...]" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
"$here/deps.sh" postgres

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$bindir/initdb" ] || { echo "with_postgres.sh: no initdb under /usr/lib/postgresql/*/bin" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  as_owner() { runuser -u postgres -- "$@"; }
else
  owner="$(id -un)"
  as_owner() { "$@"; }
fi

dir="$(mktemp -d /tmp/nntune-pg.XXXXXX)"
chown "$owner" "$dir"
chmod 700 "$dir"
data="$dir/data"
started=0
cleanup() {
  if [ "$started" = 1 ]; then as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port: ask the kernel for one (it is free now; the server takes it a moment later).
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
password="nntune-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
# Loopback only, sockets in the private dir, no fsync (a test server: speed over durability),
# and password authentication over TCP so the URL's password is really used.
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
cat >"$data/pg_hba.conf" <<EOF
local all postgres trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
EOF
as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }
started=1

psql_admin() { as_owner psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"; }
psql_admin -d postgres -c "CREATE USER nntune CREATEDB PASSWORD '$password'" -c "CREATE DATABASE nntune OWNER nntune" >/dev/null

export NNTUNE_TEST_POSTGRES_URL="postgresql://nntune:$password@127.0.0.1:$port/nntune"
export NNTUNE_TEST_POSTGRES_DATADIR="$data"
if [ "$(id -u)" -eq 0 ]; then
  export NNTUNE_TEST_PG_CTL="runuser -u postgres -- $bindir/pg_ctl -D $data -l $dir/server.log"
else
  export NNTUNE_TEST_PG_CTL="$bindir/pg_ctl -D $data -l $dir/server.log"
fi
echo "with_postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (database nntune, user nntune)" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
