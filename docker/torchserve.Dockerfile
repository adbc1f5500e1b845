# TorchServe with GoClassify's model archive, built inside the image from the repo's sources with
# the same pinned requirements and the same scripts/build_mar.py as `make mar`.
# Layers run from the slowest-changing to the fastest: a change to the code rebuilds only the last few.
FROM python:3.11-slim-bookworm

# TorchServe's frontend is Java. tini is PID 1: `torchserve --foreground` ignores SIGTERM, so tini
# (-g) sends it to the whole process group (launcher, frontend, workers) and a stop takes no 10 s.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless tini \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 goclassify
WORKDIR /srv/goclassify

# Where torch comes from: the CPU-only index, or PyPI's CUDA build where that index does not answer
# (docker/install-serve-requirements.sh says which, in the build log and in torch-build.txt).
# --build-arg TORCH_INDEX_URL= (empty) asks for PyPI's build without trying.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements-serve.txt docker/install-serve-requirements.sh ./
RUN sh install-serve-requirements.sh

COPY config.properties docker/log4j2.xml ./
COPY scripts/__init__.py scripts/build_mar.py scripts/
COPY model-store/SHA256SUMS model-store/
COPY handler/ handler/
COPY model/ model/
# Verifies the weights and the built archive against the recorded SHA-256 checksums.
RUN python -m scripts.build_mar --export-path model-store

# TorchServe writes its token keys (key_file.json, mode 0600) into its working directory: a volume
# that the proxy container mounts read-only. Same uid in both images, so the proxy can read it.
RUN mkdir keys && chown goclassify:goclassify keys
USER 10001
WORKDIR /srv/goclassify/keys
# All APIs on loopback (config.properties): the proxy shares this network namespace (docker-compose.yml,
# or one Kubernetes pod) and is their only client. Nothing is exposed.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["torchserve", "--start", "--foreground", "--ncs", "--ts-config", "/srv/goclassify/config.properties", \
     "--model-store", "/srv/goclassify/model-store", "--log-config", "/srv/goclassify/log4j2.xml"]
