# shellcheck shell=bash
# Needs of tools/ (shoal-benchmark) tests, sourced by scripts/setup.sh:
# - chromium: the HTML report is opened in headless Chromium (tools/tests/report.rs);
# - python3-jsonschema: report.json is validated against tools/schema/report.schema.json;
# - redis-server / redis-tools (redis-benchmark, redis-cli) come from setup.sh itself.
# Idempotent: apt_install skips installed packages; the Python check skips a
# jsonschema that pip already provides.
apt_install chromium
if ! python3 -c 'import jsonschema' >/dev/null 2>&1; then
  apt_install python3-jsonschema
fi
