# shellcheck shell=bash
# Sourced by scripts/setup.sh (which defines apt_install): what the engine's
# persistence tests need beyond the reference server: prlimit (util-linux)
# for the AOF write-error test, strace for the test that slows fdatasync to
# check replies wait for it.
apt_install util-linux strace
