# syntax=docker/dockerfile:1
# One image for the Python parts of Upwatch: the exporter and the admin app.
# docker-compose.yml runs it twice: `admin` (gunicorn, after init-db and
# regen-config) and `exporter`. See deploy/docker-entrypoint.sh.

# amtool, to validate the generated alertmanager.yml before it is written: the
# same version as the Alertmanager of docker-compose.yml.
FROM prom/alertmanager:v0.27.0 AS alertmanager

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UPWATCH_DATA_DIR=/data \
    UPWATCH_SITES_FILE=/config/sites.yml \
    UPWATCH_ALERTMANAGER_CONFIG=/config/alertmanager.yml \
    UPWATCH_ALERTMANAGER_BASE_CONFIG=/etc/upwatch/alertmanager/base.yml

# A fixed uid/gid, so that Alertmanager (another image) can be given the group to
# read the generated files (mode 0640) on the shared volume.
RUN groupadd --system --gid 10001 upwatch \
    && useradd --system --uid 10001 --gid upwatch --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin upwatch

WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter ./exporter
COPY admin_app ./admin_app
RUN pip install . && rm -rf /src

# What the admin app generates alertmanager.yml from (docker-compose.yml mounts the
# repository's copy over it, so edits need no rebuild).
COPY alertmanager /etc/upwatch/alertmanager
COPY --from=alertmanager /bin/amtool /usr/local/bin/amtool
COPY deploy/docker-entrypoint.sh /usr/local/bin/upwatch-entrypoint
RUN chmod 0755 /usr/local/bin/upwatch-entrypoint \
    && install -d -o upwatch -g upwatch -m 0750 /data /config

WORKDIR /data
USER upwatch:upwatch
EXPOSE 8000 9115
ENTRYPOINT ["upwatch-entrypoint"]
CMD ["admin"]
