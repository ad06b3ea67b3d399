# The image the examples in pipelines/k8s/ and pipelines/cloud-run/ name:
#
#   docker build -t registry.example.com/session-etl:0.1.0 .
#
# Two stages: the build has the Rust toolchain, the image only the binary, CA certificates
# (TLS to storage.googleapis.com and S3) and an unprivileged user. Credentials are never baked
# in: on GKE and Cloud Run the metadata server gives them (Workload Identity, the job's service
# account); elsewhere mount a key file and point GOOGLE_APPLICATION_CREDENTIALS at it, or set
# the AWS_* variables.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin session-etl \
 && cp target/release/session-etl /usr/local/bin/session-etl

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/session-etl /usr/local/bin/session-etl
# The local staging folder of a bucket output (the run's Parquet before upload) is in $TMPDIR:
# give the container an emptyDir or enough ephemeral storage for one output.
ENV TMPDIR=/tmp
USER 65532:65532
ENTRYPOINT ["session-etl"]
