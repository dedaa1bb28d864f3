#!/usr/bin/env bash
# Starts a real PostgreSQL 15 server for the tests and CI, in a data folder of its own (not a
# Debian cluster), listening on 127.0.0.1 only, with password (scram-sha-256) logins over TCP.
# Creates the role trail (password trail, LOGIN CREATEDB CREATEROLE: each test creates its own
# database, and a test creates a restricted role) and its database trail, then writes the
# settings to an env file. Idempotent: a second start while the server is up only rechecks the
# role and database and rewrites the env file; a start after a stop reuses the data folder.
#
#   bash compat/postgres.sh start [ENV_FILE]   # default ENV_FILE /tmp/modeltrail-pg.env
#   . /tmp/modeltrail-pg.env                   # TRAIL_TEST_POSTGRES, PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
#   bash compat/postgres.sh stop [ENV_FILE]    # pg_ctl stop -m fast; removes ENV_FILE if it is this server's
#
# Environment: PGPORT (default 5433), MODELTRAIL_PG_DIR (default /tmp/modeltrail-pg-PORT),
# PG_BINDIR (default /usr/lib/postgresql/15/bin). Run as root: postgres refuses to run as root,
# so initdb and pg_ctl run as the postgres system user (created if missing), who owns the data
# folder. If the server binaries are missing, postgresql-15 is installed with apt-get.
# The server's log is DATA_DIR/server.log; its unix socket is in DATA_DIR too.
set -euo pipefail
cd "$(dirname "$0")/.."
action="${1:-start}"
env_file="${2:-/tmp/modeltrail-pg.env}"
port="${PGPORT:-5433}"
data="${MODELTRAIL_PG_DIR:-/tmp/modeltrail-pg-$port}"
bindir="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
user=trail password=trail database=trail

case "$action" in start|stop) ;; *)
  echo "usage: bash compat/postgres.sh start|stop [ENV_FILE]" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "postgres: run as root (the server itself runs as the postgres user)" >&2
  exit 1
fi

# Run as the postgres user, from / (it may not be allowed into the current directory).
as_pg() { (cd / && runuser -u postgres -- "$@"); }
running() { [ -f "$data/PG_VERSION" ] && as_pg "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; }

if [ "$action" = "stop" ]; then
  if [ -x "$bindir/pg_ctl" ] && id postgres >/dev/null 2>&1 && running; then
    as_pg "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
    echo "postgres: stopped the server in $data"
  else
    echo "postgres: no server running in $data"
  fi
  # Only remove the env file if it describes this server.
  if [ -f "$env_file" ] && grep -qx "MODELTRAIL_PG_DIR=$data" "$env_file"; then
    rm -f "$env_file"
  fi
  exit 0
fi

# 1. The server binaries and the postgres system user.
if [ ! -x "$bindir/postgres" ]; then
  echo "postgres: $bindir/postgres is missing; installing postgresql-15 with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql-15 >/dev/null || apt-get install -y -qq postgresql >/dev/null
  if [ ! -x "$bindir/postgres" ] && [ -z "${PG_BINDIR:-}" ]; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  fi
  [ -x "$bindir/postgres" ] || { echo "postgres: no server binaries after installing" >&2; exit 1; }
fi
if ! id postgres >/dev/null 2>&1; then
  echo "postgres: creating the postgres system user"
  useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql \
    --shell /bin/bash --comment "PostgreSQL administrator" postgres
fi

# Something already answering on the port would be mistaken for this server.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
port_in_use() { echo "postgres: 127.0.0.1:$port is already in use (stop it, or set PGPORT)" >&2; exit 1; }
if ! running && port_open; then port_in_use; fi

# 2. The data folder: created once (initdb), reused afterwards.
if [ ! -f "$data/PG_VERSION" ]; then
  if [ -d "$data" ] && [ -n "$(ls -A "$data")" ]; then
    echo "postgres: $data exists, is not empty and holds no database; move it away or set MODELTRAIL_PG_DIR" >&2
    exit 1
  fi
  echo "postgres: creating the data folder $data"
  install -d -o postgres -g postgres -m 700 "$data"
  as_pg "$bindir/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >"/tmp/modeltrail-pg-initdb-$port.log" 2>&1 || {
    cat "/tmp/modeltrail-pg-initdb-$port.log" >&2; echo "postgres: initdb failed" >&2; exit 1; }
  rm -f "/tmp/modeltrail-pg-initdb-$port.log"
  echo "include_if_exists = 'modeltrail.conf'" >>"$data/postgresql.conf"
elif [ "$(stat -c %U "$data")" != postgres ]; then
  chown -R postgres:postgres "$data"
  chmod 700 "$data"
fi
version=$(cat "$data/PG_VERSION")
binversion=$("$bindir/postgres" --version | awk '{print $3}' | cut -d. -f1)
if [ "$version" != "$binversion" ]; then
  echo "postgres: $data was made by PostgreSQL $version but $bindir is $binversion; remove the folder or set PG_BINDIR" >&2
  exit 1
fi

# 3. Settings (rewritten on every start; a running server is restarted if they changed).
#    fsync stays on: durability is tested.
settings="# Written by compat/postgres.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 200
shared_buffers = 128MB
fsync = on
password_encryption = 'scram-sha-256'"
hba="# Written by compat/postgres.sh on every start.
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 peer
local   all       all                      scram-sha-256
host    all       all       127.0.0.1/32   scram-sha-256"
changed=0
if [ "$(cat "$data/modeltrail.conf" 2>/dev/null)" != "$settings" ]; then
  printf '%s\n' "$settings" >"$data/modeltrail.conf"; changed=1
fi
if [ "$(cat "$data/pg_hba.conf")" != "$hba" ]; then
  printf '%s\n' "$hba" >"$data/pg_hba.conf"; changed=1
fi
chown postgres:postgres "$data/modeltrail.conf" "$data/pg_hba.conf"
chmod 600 "$data/modeltrail.conf" "$data/pg_hba.conf"

# 4. Start, unless it is already running with these settings.
log="$data/server.log"
if running && [ "$changed" = 0 ]; then
  echo "postgres: already running in $data"
else
  if running; then
    echo "postgres: settings changed; restarting the server in $data"
    as_pg "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
  fi
  if port_open; then port_in_use; fi
  echo "postgres: starting PostgreSQL $version on 127.0.0.1:$port (data $data, log $log)"
  as_pg "$bindir/pg_ctl" start -D "$data" -l "$log" -W >/dev/null
fi
ready=0
for i in $(seq 1 60); do
  if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then ready=1; break; fi
  # Give up early if the server has already exited.
  if [ "$i" -ge 4 ] && ! running; then break; fi
  sleep 0.5
done
if [ "$ready" != 1 ]; then
  echo "postgres: the server did not become ready on 127.0.0.1:$port within 30 s; the end of $log:" >&2
  tail -n 30 "$log" >&2 || true
  exit 1
fi

# 5. The role and its database (idempotent; the password is always reset to the known value).
psql_su() { as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$data" -p "$port" -U postgres -d postgres "$@"; }
if [ "$(psql_su -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
  psql_su -c "CREATE ROLE $user LOGIN"
fi
psql_su -c "ALTER ROLE $user WITH LOGIN CREATEDB CREATEROLE PASSWORD '$password'"
if [ "$(psql_su -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
  psql_su -c "CREATE DATABASE $database OWNER $user"
fi

# 6. Check a password login over TCP, as the tests will make it, then write the env file.
server_version=$(PGPASSWORD="$password" PGSSLMODE=disable "$bindir/psql" -X -q -h 127.0.0.1 -p "$port" \
  -U "$user" -d "$database" -v ON_ERROR_STOP=1 -tAc "SHOW server_version")
tmp="$env_file.tmp.$$"
cat >"$tmp" <<EOF
export TRAIL_TEST_POSTGRES=postgres://$user:$password@127.0.0.1:$port/$database
export PGHOST=127.0.0.1
export PGPORT=$port
export PGUSER=$user
export PGPASSWORD=$password
export PGDATABASE=$database
MODELTRAIL_PG_DIR=$data
EOF
mv "$tmp" "$env_file"
echo "postgres: PostgreSQL $server_version on postgres://$user:$password@127.0.0.1:$port/$database; settings in $env_file"
