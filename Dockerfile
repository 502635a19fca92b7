# instructplay server image: one server process (gunicorn, gevent worker; `--worker gthread` for threads) on port 5000.
#
#   docker build -t instructplay .
#   docker run -p 5000:5000 -v instructplay-data:/app/instance instructplay
#
# The embedded default database is a SQLite file in /app/instance (mount a volume there to keep it, and its
# deal.key). One container uses one core: to use more, run several containers of this image with
#   INSTRUCTPLAY_DATABASE_URL=postgresql+psycopg://...   (one PostgreSQL for all of them)
#   INSTRUCTPLAY_MESSAGE_QUEUE=redis://...               (one Redis for all of them)
#   INSTRUCTPLAY_SECRET_KEY=... INSTRUCTPLAY_DEAL_KEY=... (the same in every container)
# behind a load balancer with sticky sessions: deploy/haproxy.cfg, with one `server` line per container
# (deploy/README.md). deploy/scale.py does the same with processes on one machine, without Docker.
FROM python:3.11-slim

# Optional: a pip index holding CPU-only torch wheels; without it torch==2.13.0 comes with CUDA packages.
ARG TORCH_INDEX_URL=""

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    INSTRUCTPLAY_HOST=0.0.0.0 \
    INSTRUCTPLAY_PORT=5000

WORKDIR /app
COPY constraints.txt ./
RUN if [ -n "$TORCH_INDEX_URL" ]; then pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0; \
    else pip install torch==2.13.0; fi

COPY . .
RUN pip install -c constraints.txt -e . && useradd --create-home app && mkdir -p instance && chown -R app /app/instance
USER app

EXPOSE 5000
# gunicorn stops on SIGTERM (docker stop): it stops taking connections and closes open websockets within 5 s;
# the browsers reconnect and resume their games (from the database) once a server answers again.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/partners?game=hanabi' % os.environ.get('INSTRUCTPLAY_PORT', '5000'), timeout=4)"
# `serve` applies the database migrations, then serves on INSTRUCTPLAY_HOST:INSTRUCTPLAY_PORT with gunicorn.
CMD ["instructplay", "serve"]
