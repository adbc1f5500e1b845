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
COPY scripts/build_mar.py scripts/
COPY config.properties .
RUN python scripts/build_mar.py --export-path model-store && chown -R serve:serve /srv/goclassify

USER serve
# The image's addresses come from config.properties; docker-compose.yml overrides the inference and
# management addresses through TS_* variables (enable_envvars_config) so the proxy can reach them.
EXPOSE 8080 8081
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
    CMD python -c "import json,sys,urllib.request as u; w=json.load(u.urlopen('http://127.0.0.1:8081/models/mnist',timeout=2))[0]['workers']; sys.exit(0 if any(x['status']=='READY' for x in w) else 1)"
CMD ["torchserve", "--start", "--foreground", "--ncs", "--ts-config", "config.properties"]
