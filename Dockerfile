FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev make curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/tinyforge
COPY pyproject.toml README.md alembic.ini ./
COPY app app
COPY workers workers
COPY migrations migrations
COPY templates templates
RUN pip install --no-cache-dir -e .
ENV TINYFORGE_DATA_DIR=/data
EXPOSE 8000
CMD ["tinyforge", "serve", "--host", "0.0.0.0", "--port", "8000"]
