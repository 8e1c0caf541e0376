# syntax=docker/dockerfile:1
# Images pinned by version: Rust 1.95.0 (what Cargo.lock needs, see rust-version) on Debian 13
# "trixie", the current stable, and the runtime on the same Debian. Where a registry is
# reachable, pin their digests too (`FROM rust:1.95.0-slim-trixie@sha256:...`).
FROM rust:1.95.0-slim-trixie AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# What the build reads: the workspace (the load generator's manifest is part of it, but it is
# not built), the service's sources, its migrations and config/default.toml (compiled in).
COPY Cargo.toml Cargo.lock ./
COPY bench/loadgen ./bench/loadgen
COPY src ./src
COPY migrations ./migrations
COPY config ./config
# Only the service's binary. The registry and the target folder are cache mounts, so a rebuild
# compiles only what changed. tests/readme/run runs this same cargo line in a folder holding
# only what is copied above.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin stockpile \
    && install -m 0755 target/release/stockpile /usr/local/bin/stockpile

FROM debian:trixie-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app stockpile \
    && mkdir -p /app/data && chown stockpile /app/data
WORKDIR /app
COPY --from=build /usr/local/bin/stockpile /usr/local/bin/stockpile
# Only the defaults and production's settings: config/test.toml holds a published secret.
COPY config/default.toml config/production.toml ./config/
# Production refuses to start without STOCKPILE__DATABASE__URL, STOCKPILE__WEBHOOKS__SECRET_KEYS
# and a secret, key or key set (STOCKPILE__AUTH__HS256_SECRET / __PUBLIC_KEY_PEM / __JWKS_URL,
# whose https fetch trusts the image's ca-certificates); compose.yaml sets them.
ENV STOCKPILE_ENV=production \
    STOCKPILE__SERVER__HOST=0.0.0.0 \
    STOCKPILE__SERVER__PORT=8080
USER stockpile
# SQLite files (STOCKPILE__DATABASE__URL=sqlite://data/stockpile.db) and backups.
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["stockpile", "healthcheck"]
ENTRYPOINT ["stockpile"]
CMD ["serve"]
