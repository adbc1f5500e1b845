# The GoClassify proxy: aiohttp, uvloop and prometheus-client at the versions in requirements-proxy.txt.
FROM python:3.11-slim-bookworm

RUN useradd --create-home --uid 10001 goclassify
WORKDIR /srv/goclassify
COPY requirements-proxy.txt .
RUN pip install --no-cache-dir -r requirements-proxy.txt
# The packed-batch format the handler reads (pure Python, shared with the model archive).
COPY model/__init__.py model/errors.py model/image_batch.py model/
COPY proxy/ proxy/

USER 10001
ENV GOCLASSIFY_HOST=0.0.0.0 GOCLASSIFY_PORT=8000 PYTHONDONTWRITEBYTECODE=1
EXPOSE 8000
CMD ["python", "-m", "proxy"]
