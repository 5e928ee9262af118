# tests/convert/env.sh — sourced by tests/convert/run.sh (bash). Private tool state for skopeo, umoci,
# oci-image-tool, podman and containerd, after the approach of tests/interop/make-archives.sh:
#
# - run.sh re-executes itself as root inside `unshare -m`; ns_enter (below) then mounts a tmpfs over /run,
#   /var/lib, /var/tmp and /etc/containers for that namespace only, because c/image and podman write
#   /var/lib/containers/cache and /run/containers even with --root/--runroot. /etc/containers gets a
#   policy.json and nothing else, so host configuration does not matter.
# - Everything else lives under $T (one temp dir, deleted on exit): vfs storage.conf, containers.conf,
#   an empty registries.conf, policy.json, HOME/TMPDIR/XDG_*. containerd runs as a plain child process
#   with its own config.toml, root, state and socket, and is killed on exit.
#
# Defines: ns_enter, env_setup T, have, SK (skopeo), P (podman), ctd_start/ctd_stop, CTR (ctr), U (umoci).

have() { command -v "$1" >/dev/null 2>&1; }

# ns_enter — inside the private mount namespace: hide host state that the tools would write or read
ns_enter() {
	mount -t tmpfs -o mode=0755 strata-run /run &&
	mount -t tmpfs -o mode=0755 strata-varlib /var/lib &&
	mount -t tmpfs -o mode=1777 strata-vartmp /var/tmp &&
	{ [ ! -d /etc/containers ] || mount -t tmpfs -o mode=0755 strata-etc /etc/containers; }
}

# env_setup T — write the tool configuration into T and export the environment that points at it
env_setup() {
	T=$1
	mkdir -p "$T"/{home,tmp,xdg,cfg,data,libpod-tmp,netconf,ctd}
	cat > "$T/storage.conf" <<-EOF
	[storage]
	driver = "vfs"
	graphroot = "$T/root"
	runroot = "$T/runroot"
	EOF
	cat > "$T/containers.conf" <<-EOF
	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	lock_type = "file"
	tmp_dir = "$T/libpod-tmp"
	static_dir = "$T/root/libpod"
	volume_path = "$T/root/volumes"
	[network]
	network_config_dir = "$T/netconf"
	EOF
	: > "$T/registries.conf"
	echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/policy.json"
	# podman load has no --signature-policy: in the namespace, /etc/containers is our tmpfs
	if [ "${STRATA_CONVERT_INNER:-}" = ns ] && [ -d /etc/containers ]; then
		cp "$T/policy.json" /etc/containers/policy.json
	fi
	export HOME=$T/home TMPDIR=$T/tmp XDG_RUNTIME_DIR=$T/xdg XDG_CONFIG_HOME=$T/cfg XDG_DATA_HOME=$T/data
	export CONTAINERS_CONF=$T/containers.conf CONTAINERS_STORAGE_CONF=$T/storage.conf
	export CONTAINERS_REGISTRIES_CONF=$T/registries.conf
	unset CONTAINER_HOST CONTAINER_CONNECTION DOCKER_HOST
	CTD_PID=
}

TO=(timeout 120)
SK() { "${TO[@]}" skopeo --policy "$T/policy.json" --registries-conf "$T/registries.conf" --tmpdir "$T/tmp" "$@"; }
U()  { "${TO[@]}" umoci "$@"; }
# podman with its own store; P_ROOT selects a store (each load check starts from an empty one)
P() {
	local r=${P_ROOT:-$T/podman}
	"${TO[@]}" podman --root "$r/root" --runroot "$r/runroot" --storage-driver vfs \
		--cgroup-manager cgroupfs --events-backend file --tmpdir "$T/libpod-tmp" "$@"
}

# ctd_start — start containerd as a child process; 0 when it answers
ctd_start() {
	local D=$T/ctd i
	cat > "$D/config.toml" <<-EOF
	version = 2
	root = "$D/root"
	state = "$D/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
	  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.overlayfs",
	  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
	[grpc]
	  address = "$D/sock"
	[ttrpc]
	  address = "$D/sock.ttrpc"
	[plugins]
	  [plugins."io.containerd.internal.v1.opt"]
	    path = "$D/opt"
	EOF
	containerd --config "$D/config.toml" --root "$D/root" --state "$D/state" --address "$D/sock" > "$D/log" 2>&1 &
	CTD_PID=$!
	for i in $(seq 100); do
		ctr --address "$D/sock" version >/dev/null 2>&1 && return 0
		kill -0 "$CTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
ctd_stop() {
	if [ -n "${CTD_PID:-}" ]; then kill "$CTD_PID" 2>/dev/null; wait "$CTD_PID" 2>/dev/null; fi
	CTD_PID=
}
CTR() { "${TO[@]}" ctr --address "$T/ctd/sock" -n strata "$@"; }
