# tests/docker/engine.sh — a real Docker engine for the tests, as a plain process under a temp dir.
# Sourced (bash). Two functions:
#   start_dockerd T [DRIVER]
#                     start containerd and dockerd with all their state under T (data root T/root, exec root
#                     T/exec, pid T/pid, socket T/sock, containerd in T/ctd); wait until `docker info`
#                     answers. Returns 0 when the engine is up, 1 otherwise with the reason (one line) in
#                     DOCKERD_WHY. On success sets: DOCKER_HOST (exported), DOCKER_CONFIG (exported, T/cli),
#                     DOCKER (the client: Debian's /usr/bin/docker when present, else `docker`),
#                     DOCKERD_DRIVER (DRIVER, else $STRATA_DOCKER_DRIVER, else overlay2; vfs when that
#                     cannot work here), DOCKERD_VERSION.
#   stop_dockerd T [keep-root]
#                     stop dockerd and containerd (TERM, then KILL: dockerd shuts down cleanly on TERM),
#                     unmount whatever is still mounted under T, remove T/exec T/ctd and, unless
#                     keep-root is given, T/root. keep-root leaves the stopped engine's data root
#                     (T/root/image/DRIVER/..., T/root/DRIVER/...) for tests that read it offline.
#                     Safe to call twice and when start failed.
# The caller owns T and its trap: `trap 'stop_dockerd "$T"; rm -rf "$T"' EXIT`.
# No network: --iptables=false --ip6tables=false --bridge=none; only the unix socket T/sock listens.
# dockerd runs in its own mount namespace (unshare -m) when it can, so its overlay mounts vanish with it.
# STRATA_DOCKER_DRIVER=vfs (or start_dockerd T vfs) starts with vfs. Needs root (dockerd does). Paths of T must stay short (unix sockets).

DOCKERD_PID=
DOCKERD_CTD_PID=
DOCKERD_WHY=

_dockerd_umount_under() {  # unmount every mount point under $1, deepest first
	local d=$1 m
	[ -r /proc/self/mountinfo ] || return 0
	awk -v d="$d/" '{ p = $5; gsub(/\\040/, " ", p); if (index(p "/", d) == 1) print p }' /proc/self/mountinfo |
		sort -r | while IFS= read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
}

_dockerd_kill() {  # _dockerd_kill PID: TERM, wait up to 15 s, then KILL
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; sleep 0.2; fi
	wait "$pid" 2>/dev/null
	return 0
}

_dockerd_try() {  # _dockerd_try T DRIVER: one dockerd start; 0 when `docker info` answers
	local T=$1 drv=$2 ns=()
	rm -rf "$T/root" "$T/exec"
	mkdir -p "$T/root" "$T/exec"
	if unshare -m --propagation private true 2>/dev/null; then ns=(unshare -m --propagation private); fi
	"${ns[@]}" dockerd --config-file "$T/daemon.json" --data-root "$T/root" --exec-root "$T/exec" \
		--pidfile "$T/pid" -H "unix://$T/sock" --containerd "$T/ctd/sock" \
		--iptables=false --ip6tables=false --bridge=none --storage-driver="$drv" \
		> "$T/dockerd-$drv.log" 2>&1 &
	DOCKERD_PID=$!
	for _ in $(seq 600); do
		if "$DOCKER" info > "$T/info.txt" 2>/dev/null; then
			DOCKERD_DRIVER=$(sed -n 's/^ *Storage Driver: *//p' "$T/info.txt")
			DOCKERD_VERSION=$("$DOCKER" version -f '{{.Server.Version}}' 2>/dev/null)
			return 0
		fi
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	_dockerd_kill "$DOCKERD_PID"; DOCKERD_PID=
	DOCKERD_WHY="dockerd --storage-driver=$drv did not start: $(grep -iE 'level=(fatal|error)|failed' "$T/dockerd-$drv.log" | tail -1 | cut -c1-300)"
	return 1
}

start_dockerd() {
	local T=${1:?start_dockerd T [DRIVER]}
	# shellcheck disable=SC2034  # set for the caller
	DOCKERD_WHY='' DOCKERD_DRIVER='' DOCKERD_VERSION=
	if [ "$(id -u)" != 0 ]; then DOCKERD_WHY="dockerd needs root (running as uid $(id -u))"; return 1; fi
	local b
	for b in dockerd containerd unshare; do
		command -v "$b" >/dev/null 2>&1 || { DOCKERD_WHY="$b not installed (apt-get install docker.io)"; return 1; }
	done
	DOCKER=docker
	[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker  # Debian's client matches Debian's dockerd (20.10)
	command -v "$DOCKER" >/dev/null 2>&1 || { DOCKERD_WHY="docker client not installed"; return 1; }
	mkdir -p "$T/ctd" "$T/cli"
	echo '{}' > "$T/daemon.json"
	echo '{}' > "$T/cli/config.json"
	export DOCKER_HOST="unix://$T/sock" DOCKER_CONFIG="$T/cli"
	# containerd: started here (not by dockerd) so that its root, state and sockets are under T, whatever
	# runs at /run/containerd on the host. dockerd only needs it to be there; no container is ever run.
	cat > "$T/ctd/config.toml" <<EOF
version = 2
root = "$T/ctd/root"
state = "$T/ctd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.overlayfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$T/ctd/sock"
[ttrpc]
  address = "$T/ctd/sock.ttrpc"
[debug]
  address = "$T/ctd/debug.sock"
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$T/ctd/opt"
EOF
	containerd --config "$T/ctd/config.toml" > "$T/containerd.log" 2>&1 &
	DOCKERD_CTD_PID=$!
	for _ in $(seq 100); do
		[ -S "$T/ctd/sock" ] && break
		kill -0 "$DOCKERD_CTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -S "$T/ctd/sock" ]; then
		DOCKERD_WHY="containerd did not start: $(tail -1 "$T/containerd.log" | cut -c1-300)"
		_dockerd_kill "$DOCKERD_CTD_PID"; DOCKERD_CTD_PID=
		return 1
	fi
	local first=${2:-${STRATA_DOCKER_DRIVER:-overlay2}} why1
	if _dockerd_try "$T" "$first"; then return 0; fi
	why1=$DOCKERD_WHY
	if [ "$first" != vfs ] && _dockerd_try "$T" vfs; then return 0; fi
	[ "$first" != vfs ] && DOCKERD_WHY="$why1; vfs: $DOCKERD_WHY"
	_dockerd_kill "$DOCKERD_CTD_PID"; DOCKERD_CTD_PID=
	return 1
}

stop_dockerd() {
	local T=${1:?stop_dockerd T [keep-root]}
	_dockerd_kill "$DOCKERD_PID"; DOCKERD_PID=
	_dockerd_kill "$DOCKERD_CTD_PID"; DOCKERD_CTD_PID=
	_dockerd_umount_under "$T"
	rm -rf "$T/exec" "$T/ctd" 2>/dev/null
	[ "${2:-}" = keep-root ] || rm -rf "$T/root" 2>/dev/null
	return 0
}
