#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite: trust auth on 127.0.0.1, no fsync, gone after the run.
set -euo pipefail
action=$1 dir=$2 port=$3 bin=$4
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi; }
case "$action" in
  start)
    if [ -f "$dir/data/postmaster.pid" ] && as_pg "$bin/pg_ctl -D $dir/data status" >/dev/null 2>&1; then
      echo "PostgreSQL already running on $port"; exit 0
    fi
    rm -rf "$dir"
    if [ "$(id -u)" = 0 ]; then install -d -o postgres "$dir"; else mkdir -p "$dir"; fi
    as_pg "$bin/initdb -D $dir/data -U postgres --auth=trust -E UTF8 >$dir/initdb.log"
    as_pg "$bin/pg_ctl -D $dir/data -l $dir/log -w -o '-p $port -k $dir -c listen_addresses=127.0.0.1 \
      -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200' start >/dev/null"
    psql -q -h 127.0.0.1 -p "$port" -U postgres -c "create role cx login password 'cx' createdb" \
      -c "create database cx owner cx" >/dev/null
    echo "PostgreSQL ready on 127.0.0.1:$port"
    ;;
  stop)
    if [ -d "$dir/data" ]; then as_pg "$bin/pg_ctl -D $dir/data -m fast stop >/dev/null" || true; rm -rf "$dir"; fi
    ;;
  *) echo "usage: $0 start|stop DIR PORT BIN" >&2; exit 2 ;;
esac
