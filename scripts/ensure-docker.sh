#!/usr/bin/env bash
# Makes sure a Docker engine answers and the locally built test images exist. No registry is reachable on CI
# machines, so the test image is a busybox-static root filesystem imported with `docker import`.
# Idempotent: when the engine answers and the image exists it only runs two quick docker commands.
set -euo pipefail

log=/var/log/ocelot-dockerd.log
test_image="ocelot-test/busybox:latest"

engine_answers() { docker version >/dev/null 2>&1; }
# No pgrep on minimal images (procps is not installed there): look at /proc directly.
dockerd_running() { grep -qx dockerd /proc/[0-9]*/comm 2>/dev/null; }

if ! engine_answers; then
  # Install what is missing (only possible as root on Debian; elsewhere tell the user what to do).
  missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker >/dev/null 2>&1 || missing+=(docker.io)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      echo "ensure-docker: need ${missing[*]} but cannot install them (not root or no apt-get)" >&2
      exit 1
    fi
    echo "ensure-docker: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi

  if ! dockerd_running; then
    echo "ensure-docker: starting dockerd (log: $log)"
    # A stale pid file from a killed daemon makes dockerd refuse to start.
    rm -f /var/run/docker.pid
    nohup dockerd >"$log" 2>&1 </dev/null &
  fi

  for _ in $(seq 1 60); do engine_answers && break; sleep 1; done
  if ! engine_answers; then
    echo "ensure-docker: Docker engine did not answer within 60 s; last lines of $log:" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
  fi
fi

# --- test images ----------------------------------------------------------------------------------------------
if ! docker image inspect "$test_image" >/dev/null 2>&1; then
  if [ ! -x /bin/busybox ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq busybox-static >/dev/null
    else
      echo "ensure-docker: /bin/busybox (busybox-static) is needed to build $test_image" >&2
      exit 1
    fi
  fi
  echo "ensure-docker: building $test_image"
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/workspace"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  # Every applet the busybox binary knows becomes a symlink, so the image has sh, seq, sleep, kill, ps, ...
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/bin' \
    --change 'CMD ["/bin/sh"]' \
    - "$test_image" >/dev/null
fi
echo "ensure-docker: engine up, test images present"
