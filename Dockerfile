# The referral-graph service. Production runs it against Neo4j 5 (see docker-compose.yml).
# EXTRAS=spark builds the analytics batch's image: the Spark driver needs Java and pyspark.
FROM python:3.11-slim

ARG EXTRAS=""
WORKDIR /srv
RUN if [ "$EXTRAS" = "spark" ]; then \
      apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY pyproject.toml README.md ./
COPY app ./app
COPY graph ./graph
COPY schema ./schema
COPY resolvers ./resolvers
COPY seeds ./seeds
# /staging: the Spark projection's shared volume (docker-compose.yml). A new named volume takes
# this folder's mode, and the cluster's executors (another user) write their results there too.
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}" && useradd --system --uid 10001 referral \
    && mkdir -m 1777 /staging
USER referral

ENV RG_HOST=0.0.0.0 RG_PORT=8000 RG_ENV=production RG_DATA_DIR=/tmp/referral-graph
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)" || exit 1
CMD ["referral-graph", "serve"]
