#!/usr/bin/env bash
# The project's test command (README, .ci/run): every Rust test, including the BI
# compatibility suite, which needs DuckDB, pyarrow and Polars from PyPI in ./.venv.
# The venv is reused between local runs and rebuilt when tests/compat/requirements.txt changes.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/compat/requirements.txt "$stamp"; then
  echo "scripts/test.sh: installing the BI readers into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/compat/requirements.txt
  cp tests/compat/requirements.txt "$stamp"
fi

export SESSION_ETL_PYTHON="$PWD/$venv/bin/python"
export SESSION_ETL_REQUIRE_COMPAT=1
cargo test --all-targets "$@"
