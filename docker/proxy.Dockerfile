# The GoClassify proxy: only aiohttp, uvloop and prometheus-client, at the versions pinned in requirements.txt.
FROM python:3.11-slim-bookworm

RUN useradd --create-home --uid 10001 proxy
WORKDIR /srv/goclassify
COPY requirements.txt .
RUN pip install --no-cache-dir $(grep -E '^(aiohttp|uvloop|prometheus-client)==' requirements.txt)
COPY proxy/ proxy/
# The packed-batch format the handler reads (pure Python, shared with the model archive).
COPY model/__init__.py model/image_batch.py model/

USER proxy
ENV GOCLASSIFY_HOST=0.0.0.0 GOCLASSIFY_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["python", "-m", "proxy"]
