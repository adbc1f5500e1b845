# TorchServe with GoClassify's model archive, built inside the image from the repo's sources with
# the same pinned requirements and the same scripts/build_mar.py as `make mar`.
FROM python:3.11-slim-bookworm

# TorchServe's frontend is Java.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 serve
WORKDIR /srv/goclassify

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY model/ model/
COPY handler/ handler/
COPY scripts/__init__.py scripts/build_mar.py scripts/
COPY model-store/SHA256SUMS model-store/
COPY config.properties .
# Verifies the weights and the built archive against the recorded SHA-256 checksums.
RUN python -m scripts.build_mar --export-path model-store && chown -R serve:serve /srv/goclassify

# TorchServe writes its token keys (key_file.json, mode 0600) into its working directory: a volume
# that the proxy container mounts read-only. Same uid in both images, so the proxy can read it.
RUN mkdir -p keys logs && chown serve:serve keys logs
COPY docker/torchserve_healthcheck.py docker/
USER serve
ENV LOG_LOCATION=/srv/goclassify/logs METRICS_LOCATION=/srv/goclassify/logs
WORKDIR /srv/goclassify/keys
# The image's addresses come from config.properties; docker-compose.yml overrides the inference and
# management addresses through TS_* variables (enable_envvars_config) so the proxy can reach them.
EXPOSE 8080 8081
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "/srv/goclassify/docker/torchserve_healthcheck.py"]
CMD ["torchserve", "--start", "--foreground", "--ncs", "--ts-config", "/srv/goclassify/config.properties", \
     "--model-store", "/srv/goclassify/model-store"]
