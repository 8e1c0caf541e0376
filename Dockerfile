# syntax=docker/dockerfile:1
# Build: dependencies first (cached while Cargo.toml/Cargo.lock do not change), then the crate.
FROM rust:1-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked && rm -rf src
COPY src ./src
COPY migrations ./migrations
COPY config ./config
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app stockpile \
    && mkdir -p /app/data && chown stockpile /app/data
WORKDIR /app
COPY --from=build /src/target/release/stockpile /usr/local/bin/stockpile
COPY config ./config
ENV STOCKPILE_ENV=production \
    STOCKPILE__SERVER__HOST=0.0.0.0 \
    STOCKPILE__SERVER__PORT=8080
USER stockpile
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["stockpile"]
CMD ["serve"]
