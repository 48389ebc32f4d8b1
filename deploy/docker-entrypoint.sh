#!/bin/sh
# upwatch-entrypoint: how the Upwatch image (Dockerfile) starts.
#
#   admin [ARGS...]     prepare (below), then the admin app under gunicorn on :8000;
#                       ARGS go to gunicorn (GUNICORN_CMD_ARGS works too)
#   prepare             only the preparation, then exit:
#                         upwatch-admin init-db        create or upgrade the schema
#                         the first admin              when UPWATCH_ADMIN_PASSWORD is set
#                                                      and the user does not exist yet
#                         upwatch-admin regen-config   sites.yml and alertmanager.yml
#                                                      from the database
#   exporter [ARGS...]  upwatch-exporter on $UPWATCH_SITES_FILE; ARGS are added
#                       (docker-compose.yml gives --listen 0.0.0.0:9115)
#   anything else       run as given, e.g. `upwatch-admin create-user ann --role admin`
set -eu

prepare() {
    upwatch-admin init-db

    if [ -n "${UPWATCH_ADMIN_PASSWORD:-}" ]; then
        user="${UPWATCH_ADMIN_USER:-admin}"
        # The password goes on stdin, never on a command line. create-user refuses an
        # existing user and changes nothing, so this is safe on every start.
        if out=$(printf '%s\n' "$UPWATCH_ADMIN_PASSWORD" \
            | upwatch-admin create-user "$user" --role admin 2>&1); then
            echo "upwatch-entrypoint: $out"
        else
            echo "upwatch-entrypoint: first admin not created: $out" >&2
        fi
    fi

    # The exporter and Alertmanager start from these files, so they must exist. A
    # reload that fails here is expected (they are not running yet) and is not an
    # error; a generation that fails is, unless the files of an earlier run exist.
    if ! upwatch-admin regen-config; then
        if [ -f "${UPWATCH_SITES_FILE:?}" ] && [ -f "${UPWATCH_ALERTMANAGER_CONFIG:?}" ]; then
            echo "upwatch-entrypoint: regen-config failed; keeping the files of the last run" >&2
        else
            echo "upwatch-entrypoint: regen-config failed and there are no files to start from" >&2
            exit 1
        fi
    fi
}

# The admin app's counters shared by the gunicorn workers (admin_app/metrics.py):
# every upwatch-admin command needs the directory to exist; gunicorn starts on an
# empty one.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi

case "${1:-admin}" in
admin)
    [ "$#" -gt 0 ] && shift
    prepare
    if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
        rm -rf "$PROMETHEUS_MULTIPROC_DIR"
        mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    fi
    exec gunicorn admin_app.wsgi:app --access-logfile - "$@"
    ;;
prepare)
    prepare
    ;;
exporter)
    shift
    exec upwatch-exporter --config "${UPWATCH_SITES_FILE:?}" "$@"
    ;;
*)
    exec "$@"
    ;;
esac
