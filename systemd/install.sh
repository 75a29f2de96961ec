#!/usr/bin/env bash
# Install POS Line on Raspberry Pi OS / Debian, as root.
#
#   sudo systemd/install.sh                 # a shop gateway (the usual case)
#   sudo systemd/install.sh --cloud         # the cloud API on a cloud VM
#   systemd/install.sh --root /tmp/scratch  # lay everything out under a scratch root (tests)
#
# Creates the service user (systemd-sysusers), installs the posline package into a
# virtual environment under /opt/posline, installs the units and enables them.
set -euo pipefail

usage() { echo "usage: $0 [--root DIR] [--cloud] [--source DIR] [--pip-args ARGS] [--no-start]" >&2; exit 2; }

here="$(cd "$(dirname "$0")" && pwd)"
root=/
role=gateway
source="$(dirname "$here")"
pip_args=""
start=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2:?}"; shift 2 ;;
    --cloud) role=cloud; shift ;;
    --source) source="${2:?}"; shift 2 ;;
    --pip-args) pip_args="${2:-}"; shift 2 ;;
    --no-start) start=no; shift ;;
    -h|--help) usage ;;
    *) echo "install.sh: unknown option $1" >&2; usage ;;
  esac
done
root="$(mkdir -p "$root" && cd "$root" && pwd)"
[ "$root" = / ] && [ "$(id -u)" -ne 0 ] && { echo "install.sh: run as root (sudo)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "install.sh: python3 is missing (apt-get install python3-venv)" >&2; exit 1; }
[ -f "$source/pyproject.toml" ] || [ -f "$source" ] || { echo "install.sh: no posline source at $source" >&2; exit 1; }

say() { echo "install.sh: $*"; }
under() { echo "${root%/}$1"; }

# 1. The service user, declared once in sysusers.d so the OS recreates it if it ever goes.
install -d -m 0755 "$(under /usr/lib/sysusers.d)" "$(under /etc)"
install -m 0644 "$here/posline-$role.sysusers" "$(under "/usr/lib/sysusers.d/posline-$role.conf")"
systemd-sysusers --root="$root" "$(under "/usr/lib/sysusers.d/posline-$role.conf")"
say "user: $(grep -E '^posline(-cloud)?:' "$(under /etc/passwd)" | cut -d: -f1 | tr '\n' ' ')"

# 1b. A box draws Urdu receipts for its printers with Pillow's raqm layout (libfribidi) and Noto's
# Arabic-script fonts, and minifies the till it serves with esbuild at start-up (without it the till
# is served larger, never broken). Only on the real root: a scratch root (tests) has no package
# manager of its own.
if [ "$role" = gateway ] && [ "$root" = / ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-core libfribidi0 >/dev/null \
    && say "fonts: fonts-noto-core, libfribidi0" \
    || say "fonts: apt-get could not install fonts-noto-core libfribidi0; Urdu slips will not print until it does"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq esbuild >/dev/null \
    && say "esbuild: installed" \
    || say "esbuild: apt-get could not install it; the box will serve the till larger (thinned, not minified)"
fi

# 2. The package, in its own virtual environment (upgrades replace it whole).
venv="$(under /opt/posline/venv)"
install -d -m 0755 "$(under /opt/posline)"
python3 -m venv "$venv"
# shellcheck disable=SC2086  # pip_args is a list of flags
"$venv/bin/pip" install --quiet $pip_args "$source"
install -m 0644 "$here/../README.md" "$(under /opt/posline/README.md)" 2>/dev/null || true
say "package: $("$venv/bin/python" -c 'import importlib.metadata as m; print("posline", m.version("posline"))')"

# 3. Units, and a commented sample of the first-boot file and the environment files.
units="$(under /etc/systemd/system)"
install -d -m 0755 "$units" "$(under /etc/posline)"
if [ "$role" = gateway ]; then
  install -m 0644 "$here/posline-gateway.service" "$here/posline-gateway-provision.service" "$units/"
  install -m 0600 "$here/posline.toml.sample" "$(under /etc/posline/posline.toml.sample)"
  # The unit's EnvironmentFile: laid down once, all commented out; an installer's edits are never overwritten.
  [ -e "$(under /etc/posline/gateway.env)" ] || install -m 0644 "$here/gateway.env" "$(under /etc/posline/gateway.env)"
  enable="posline-gateway.service posline-gateway-provision.service"
else
  install -m 0644 "$here/posline-cloud.service" "$units/"
  [ -e "$(under /etc/posline/cloud.env)" ] || \
    printf '# POSLINE_CLOUD_DB=postgresql://posline@db.internal/posline\n' > "$(under /etc/posline/cloud.env)"
  chmod 0600 "$(under /etc/posline/cloud.env)"
  enable="posline-cloud.service"
fi

# 4. Enabled, so they start at every boot.
# shellcheck disable=SC2086
systemctl --root="$root" enable $enable
say "enabled: $enable"

if [ "$root" = / ] && [ "$start" = yes ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  # shellcheck disable=SC2086
  systemctl restart $enable
  say "started; see: systemctl status ${enable%% *}"
fi
