#!/usr/bin/env bash
# Installs what the integration tests need and the machine lacks. Runs before every `npm test`
# and does nothing when everything is present, so it costs nothing on a prepared machine.
set -euo pipefail

# Debian packages the tests use, as "package:command-or-path-that-proves-it-is-installed".
REQUIRED=(
)

missing=()
for entry in "${REQUIRED[@]+"${REQUIRED[@]}"}"; do
  package=${entry%%:*}
  probe=${entry#*:}
  if [[ $probe == /* ]]; then [[ -e $probe ]] && continue; else command -v "$probe" >/dev/null && continue; fi
  missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "test-setup: the integration tests need these Debian packages: ${missing[*]}" >&2
  echo "test-setup: install them as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "test-setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
