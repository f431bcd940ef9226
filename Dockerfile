# ngshare as a container: an external JupyterHub service (see docs/deployment.md).
#
#   docker build -t ngshare .
#   docker run -p 10101:10101 -v ngshare-data:/srv/ngshare \
#     -e JUPYTERHUB_API_URL=http://hub:8081/hub/api -e JUPYTERHUB_API_TOKEN=... \
#     -e JUPYTERHUB_SERVICE_PREFIX=/services/ngshare/ -e JUPYTERHUB_CLIENT_ID=service-ngshare \
#     ngshare --admins=admin_user

# Build the wheel (server and bundled plugins) in a throw-away stage.
FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
# A fixed numeric id, so Kubernetes' runAsNonRoot can check it and volumes can be chowned to it.
RUN useradd --system --uid 10101 --user-group --home-dir /srv/ngshare --create-home ngshare
COPY --from=build /wheels /wheels
# [postgresql]: the psycopg driver, for --database=postgresql+psycopg://...
RUN pip install --no-cache-dir "$(ls /wheels/ngshare-*.whl)[postgresql]" && rm -rf /wheels
USER 10101:10101
WORKDIR /srv/ngshare
# The SQLite database, blob storage and cookie secret (the server's default data_dir).
VOLUME /srv/ngshare
# ngshare binds the host and port of the service URL a hub gives it: every interface of
# the container, so that arguments (`docker run ngshare --admins=x`) and sub-commands
# (`docker run ngshare db upgrade`) need no --host. A hub-set value overrides it.
ENV JUPYTERHUB_SERVICE_URL=http://0.0.0.0:10101
EXPOSE 10101
# /healthz: liveness, without authentication (200 while the server answers).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:10101/healthz', timeout=4)"]
ENTRYPOINT ["ngshare"]
CMD []
