#!/usr/bin/env bash
# One-step set-up and run on a fresh Debian 12 machine, as root or as a user
# with sudo:  bash scripts/run.sh demo   |   bash scripts/run.sh test
# Installs what is missing (Debian packages, npm dependencies, the builder
# user with its subuid/subgid ranges), builds, then runs the demo or the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-demo}"
shift || true
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(buildah docker-registry uidmap busybox-static git apache2-utils curl ca-certificates openjdk-17-jre-headless)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "cascade: installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's docker-registry package may start a system registry on :5000; Cascade runs its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

# Builds run as an unprivileged user with its own subuid/subgid range.
if [ "$(id -u)" -eq 0 ]; then
  id cascade-builder >/dev/null 2>&1 || useradd --create-home --shell /usr/sbin/nologin --comment "Cascade rootless builder" cascade-builder
  user=cascade-builder
else
  user="$(id -un)"
fi
if ! grep -q "^${user}:" /etc/subuid || ! grep -q "^${user}:" /etc/subgid; then
  $SUDO usermod --add-subuids 200000-265535 --add-subgids 200000-265535 "$user"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "cascade: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
case "$what" in
  demo) npm run --silent build && exec ./bin/cascade demo "$@" ;;
  test) exec npm test --silent -- "$@" ;; # pretest builds
  setup) exec npm run --silent build ;;
  *) echo "usage: bash scripts/run.sh demo|test|setup" >&2; exit 2 ;;
esac
