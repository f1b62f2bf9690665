# schema_exporter container image.
#
#   docker build -t schema_exporter --build-arg REVISION="$(git rev-parse --short=12 HEAD)" .
#   docker run --rm -p 9713:9713 schema_exporter demo
#   docker run --rm -p 9713:9713 -v "$PWD/config:/etc/schema_exporter:ro" schema_exporter
#
# The runtime image is distroless: no shell, no package manager, no curl. The health check therefore runs
# the exporter's own `healthcheck` command.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when Cargo.toml or Cargo.lock change, not on
# every source edit. Empty targets stand in for the real sources while the dependencies compile.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/catalog.rs \
    && cargo build --release --locked \
    && rm -rf src benches

COPY src ./src
COPY benches ./benches
# The demo's expectation is compiled into the binary.
COPY config/demo ./config/demo
# There is no .git in the build context, so the revision for schema_exporter_build_info comes in here.
ARG REVISION=unknown
ENV SCHEMA_EXPORTER_REVISION=${REVISION}
# touch: the stand-ins above are newer than the copied sources, which cargo would otherwise skip.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && install -m 0755 target/release/schema_exporter /usr/local/bin/schema_exporter

FROM gcr.io/distroless/cc-debian12:nonroot

ARG REVISION=unknown
LABEL org.opencontainers.image.title="schema_exporter" \
      org.opencontainers.image.description="Prometheus exporter that watches PostgreSQL, MySQL/MariaDB and SQLite databases for schema drift" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/schema-exporter/schema_exporter" \
      org.opencontainers.image.documentation="https://github.com/schema-exporter/schema_exporter#readme"

COPY --from=build /usr/local/bin/schema_exporter /usr/local/bin/schema_exporter

# distroless' nonroot user; numeric so Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 9713
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/schema_exporter", "healthcheck", "--web.listen-address=:9713"]
ENTRYPOINT ["/usr/local/bin/schema_exporter"]
CMD ["--config.file=/etc/schema_exporter/schema_exporter.yaml"]
