#!/usr/bin/env bash
# Installs what the integration tests need and the machine lacks. Runs before every `npm test`
# and does nothing when everything is present, so it costs nothing on a prepared machine.
set -euo pipefail

# Debian's own interpreter: the `python3` on PATH may be another install (pyenv, venv) that does
# not see Debian's python3-* packages, so Python probes and the interop tests always use this one.
DEBIAN_PYTHON=/usr/bin/python3

# Debian packages the tests use, as "package:probe", where the probe proves it is installed:
#   a command name   found on PATH                       (e.g. "jq:jq")
#   an absolute path that exists                         (e.g. "libfoo1:/usr/lib/x86_64-linux-gnu/libfoo.so.1")
#   py:MODULE        importable by /usr/bin/python3      (e.g. "python3-zmq:py:zmq")
REQUIRED=(
  "python3-zmq:py:zmq"                 # test/interop/late_join.py and curve_certs.py, run by test/integration/interop-python.test.ts and interop-curve-python.test.ts
  "python3-websockets:py:websockets"   # test/interop/ws_resume.py, run by test/integration/interop-ws-python.test.ts
  "openssl:openssl"                    # the wss certificate of test/gateway/tls.test.ts
  "prometheus:promtool"                # a real Prometheus and promtool for test/observability/
  "chromium:/usr/bin/chromium"         # the live ticker page's tests (test/browser/), driven by playwright-core
  "iproute2:ip"                        # the fault matrix's hosts: network namespaces, veth pairs, a bridge (test/fleet/net.ts)
  "nftables:/usr/sbin/nft"             # the fault matrix's partitions: drop rules inside a host's namespace (test/fleet/net.ts); a path, since `nft` on npm's PATH is @vercel/nft
  "haproxy:haproxy"                    # deploy/haproxy.cfg in front of the gateways of test/integration/rolling-deploy.test.ts
  "nats-server:nats-server"            # the NATS peer of bench/fanout (its WebSocket listener), npm run bench:fanout
)

# Succeeds when the probe shows its package is there.
probe_ok() {
  local probe=$1
  case $probe in
    py:*) [[ -x $DEBIAN_PYTHON ]] && "$DEBIAN_PYTHON" -c "import ${probe#py:}" >/dev/null 2>&1 ;;
    /*) [[ -e $probe ]] ;;
    *) command -v "$probe" >/dev/null 2>&1 ;;
  esac
}

# Packages of REQUIRED whose probe fails, one a line.
missing_packages() {
  local entry
  for entry in "${REQUIRED[@]+"${REQUIRED[@]}"}"; do
    probe_ok "${entry#*:}" || echo "${entry%%:*}"
  done
}

mapfile -t missing < <(missing_packages)
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
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# The install can succeed and the probe still fail (e.g. a package that no longer ships the
# command): say so here rather than as a puzzling test failure later.
mapfile -t still < <(missing_packages)
if [[ ${#still[@]} -ne 0 ]]; then
  echo "test-setup: installed, but still not usable: ${still[*]} (see the probes in scripts/test-setup.sh)" >&2
  exit 1
fi
