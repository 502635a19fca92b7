# instructplay server image: installs the package and starts the server on port 5000.
# The embedded default database is a SQLite file in /app/instance (mount a volume there to keep it);
# set INSTRUCTPLAY_DATABASE_URL=postgresql+psycopg://... and INSTRUCTPLAY_MESSAGE_QUEUE=redis://...
# for the scaled deployment (several containers behind a load balancer with sticky sessions).
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
# `serve` applies the database migrations, then listens on INSTRUCTPLAY_HOST:INSTRUCTPLAY_PORT.
CMD ["instructplay", "serve"]
