#!/usr/bin/env bash
# The project's test command (README, .ci/run): every Rust test of the workspace (the pipeline
# and the corpus generator), including the BI compatibility suite, which needs DuckDB, pyarrow,
# Polars and PySpark from PyPI in ./.venv and a Java 17 runtime for Spark (installed from
# Debian's packages when missing), and the bucket tests, which start the S3-compatible server
# moto (from PyPI, in the same venv) on 127.0.0.1.
# The venv is reused between local runs and rebuilt when tests/compat/requirements.txt changes.
set -euo pipefail
cd "$(dirname "$0")/.."

# Spark 4 runs on Java 17 or 21; prefer a Java 17 the machine has, else install one.
java_home=""
for candidate in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/java-21-openjdk-*; do
  if [ -x "$candidate/bin/java" ]; then java_home="$candidate"; break; fi
done
if [ -z "$java_home" ]; then
  echo "scripts/test.sh: installing a Java 17 runtime for Spark (openjdk-17-jre-headless)" >&2
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  java_home=$(ls -d /usr/lib/jvm/java-17-openjdk-* | head -n 1)
fi
export JAVA_HOME="$java_home"

venv=.venv
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/compat/requirements.txt "$stamp"; then
  echo "scripts/test.sh: installing the BI readers and the local S3 server into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/compat/requirements.txt
  cp tests/compat/requirements.txt "$stamp"
fi

export SESSION_ETL_PYTHON="$PWD/$venv/bin/python"
export SESSION_ETL_REQUIRE_COMPAT=1
cargo test --workspace --all-targets "$@"
