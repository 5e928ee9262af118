#!/bin/bash
# make-archives.sh OUTDIR — build small images offline with the real tools (buildah, podman, skopeo,
# umoci, containerd/ctr, tar/xz) and write the archives that run.sh compares strata against.
#
# All tool state lives in a private temp dir. Because some tools write outside their --root anyway
# (c/image's blob-info cache in /var/lib/containers/cache, netavark's /run/containers/networks),
# the work runs in a private mount namespace with tmpfs over /run, /var/lib and /var/tmp, so nothing
# reaches the host. Needs root (or CAP_SYS_ADMIN) for `unshare -m`; STRATA_INTEROP_NO_NS=1 runs
# without the namespace (those two host paths may then be created).
set -euo pipefail

die() { echo "make-archives: $*" >&2; exit 1; }
note() { echo "make-archives: $*" >&2; }

# ---------------------------------------------------------------- outer: set up, enter namespace
if [ -z "${STRATA_INTEROP_INNER:-}" ]; then
	[ $# -eq 1 ] || die "usage: $0 OUTDIR"
	for t in buildah podman skopeo tar xz gzip jq unshare; do
		command -v "$t" >/dev/null 2>&1 || die "missing tool: $t"
	done
	mkdir -p "$1"
	OUT=$(cd "$1" && pwd -P)
	base=${STRATA_INTEROP_TMP:-/tmp}
	case "$OUT/" in /run/*|/var/run/*|/var/lib/*|/var/tmp/*) die "OUTDIR may not be under /run, /var/lib or /var/tmp (hidden in the namespace)";; esac
	case "$base/" in /run/*|/var/run/*|/var/lib/*|/var/tmp/*) die "STRATA_INTEROP_TMP may not be under /run, /var/lib or /var/tmp";; esac
	T=$(mktemp -d "$base/strata-interop.XXXXXX")
	trap 'rm -rf "$T"' EXIT
	start=$(date +%s)
	rc=0
	if unshare -m --propagation private true 2>/dev/null; then
		STRATA_INTEROP_INNER=ns STRATA_INTEROP_T=$T unshare -m --propagation private bash "$0" "$OUT" || rc=$?
	elif [ "${STRATA_INTEROP_NO_NS:-}" = 1 ]; then
		note "WARNING: no mount namespace; /var/lib/containers/cache and /run/containers may be created on the host"
		STRATA_INTEROP_INNER=host STRATA_INTEROP_T=$T bash "$0" "$OUT" || rc=$?
	else
		die "cannot create a private mount namespace (unshare -m needs root/CAP_SYS_ADMIN); set STRATA_INTEROP_NO_NS=1 to run without it"
	fi
	[ $rc -eq 0 ] || die "failed (rc=$rc)"
	echo "made in $(( $(date +%s) - start ))s: $OUT"
	exit 0
fi

# ---------------------------------------------------------------- inner: private state only
OUT=$1
T=$STRATA_INTEROP_T
if [ "$STRATA_INTEROP_INNER" = ns ]; then
	mount -t tmpfs -o mode=0755 strata-run /run
	mount -t tmpfs -o mode=0755 strata-varlib /var/lib
	mount -t tmpfs -o mode=1777 strata-vartmp /var/tmp
	# host configuration must not matter either: everything below comes from files in $T
	if [ -d /etc/containers ]; then mount -t tmpfs -o mode=0755 strata-etc /etc/containers; fi
fi
mkdir -p "$T"/{home,tmp,xdg,cfg,data,ctx,libpod-tmp,netconf,ctd}
cat > "$T/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$T/root"
runroot = "$T/runroot"
EOF
cat > "$T/containers.conf" <<EOF
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
export HOME=$T/home TMPDIR=$T/tmp XDG_RUNTIME_DIR=$T/xdg XDG_CONFIG_HOME=$T/cfg XDG_DATA_HOME=$T/data
export CONTAINERS_CONF=$T/containers.conf CONTAINERS_STORAGE_CONF=$T/storage.conf
export CONTAINERS_REGISTRIES_CONF=$T/registries.conf
unset CONTAINER_HOST CONTAINER_CONNECTION DOCKER_HOST

ST=(--root "$T/root" --runroot "$T/runroot" --storage-driver vfs)
B() { buildah "${ST[@]}" "$@"; }
P() { podman "${ST[@]}" --cgroup-manager cgroupfs --events-backend file --tmpdir "$T/libpod-tmp" "$@"; }
SP=(--signature-policy "$T/policy.json")   # hidden flag of buildah/podman; no /etc/containers/policy.json needed
SK() { skopeo --policy "$T/policy.json" --registries-conf "$T/registries.conf" --tmpdir "$T/tmp" "$@"; }
CS="containers-storage:[vfs@$T/root+$T/runroot]"

CTD_PID=
cleanup() {
	if [ -n "$CTD_PID" ]; then kill "$CTD_PID" 2>/dev/null || true; wait "$CTD_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM

NAMES=(podman-docker.tar podman-docker.tar.gz podman-multi.tar podman-oci.tar skopeo-oci-gzip skopeo-oci-zstd
	umoci-layout ctr-export.tar ctr-export-multi.tar multi multi-oci.tar rootfs.tar.xz podman-import.tar podman-import-xz-bad.tar)
for n in "${NAMES[@]}"; do rm -rf "${OUT:?}/$n"; done
MADE=()
made() { MADE+=("$1|$2"); }

# ---------------------------------------------------------------- images (buildah from scratch)
C=$T/ctx
mkdir -p "$C/base/etc" "$C/base/bin" "$C/app"
echo hello > "$C/base/etc/hello.txt"
echo "root:x:0:0:root:/root:/bin/sh" > "$C/base/etc/passwd"
printf '#!/bin/sh\necho hi\n' > "$C/base/bin/run.sh"; chmod 755 "$C/base/bin/run.sh"
echo two > "$C/app/two.txt"
head -c 3000 /dev/zero | tr '\0' 'x' > "$C/app/filler.txt"

TS=(--timestamp 0)   # deterministic created times and layer mtimes
w=$(B from "${SP[@]}" --name strata-w1 scratch)
B copy "$w" "$C/base/etc" /etc >/dev/null
B copy "$w" "$C/base/bin" /bin >/dev/null
B config --cmd '["/bin/run.sh"]' --env FOO=bar --env PATH=/bin --label org.example.a=b --author "strata interop" "$w"
B commit "${SP[@]}" -q "${TS[@]}" --rm "$w" localhost/strata-base:1 >/dev/null
w=$(B from "${SP[@]}" --name strata-w2 localhost/strata-base:1)
B copy "$w" "$C/app" /opt/app >/dev/null
B config --entrypoint '["/bin/run.sh"]' --cmd '["x","y z"]' --env BAR=baz --workingdir /opt/app \
	--user 1000:1000 --label org.example.c=d "$w" 2> >(grep -v 'will be passed to entrypoint' >&2)
B commit "${SP[@]}" -q "${TS[@]}" --rm "$w" localhost/strata-app:2 >/dev/null

# ---------------------------------------------------------------- podman save
P save "${SP[@]}" -q -o "$OUT/podman-docker.tar" localhost/strata-base:1
made podman-docker.tar "podman save (docker-archive, 1 image, 1 layer, legacy <v1id>/layer.tar symlinks)"
gzip -n -c "$OUT/podman-docker.tar" > "$OUT/podman-docker.tar.gz"
made podman-docker.tar.gz "gzip -n of podman-docker.tar (docker load accepts it; skopeo 1.9 does not)"
P save "${SP[@]}" -q -m -o "$OUT/podman-multi.tar" localhost/strata-base:1 localhost/strata-app:2
made podman-multi.tar "podman save -m (docker-archive, 2 images sharing the base layer)"
P save "${SP[@]}" -q --format oci-archive -o "$OUT/podman-oci.tar" localhost/strata-app:2
made podman-oci.tar "podman save --format oci-archive (gzip layers, ref.name = full name)"

# ---------------------------------------------------------------- skopeo copy -> oci:
SK copy -q "${CS}localhost/strata-app:2" "oci:$OUT/skopeo-oci-gzip:app"
made skopeo-oci-gzip "skopeo copy containers-storage -> oci:DIR:app (gzip layers)"
SK copy -q --dest-compress-format zstd "${CS}localhost/strata-app:2" "oci:$OUT/skopeo-oci-zstd:app"
made skopeo-oci-zstd "skopeo copy --dest-compress-format zstd -> oci:DIR:app (zstd layers)"

# ---------------------------------------------------------------- umoci
if command -v umoci >/dev/null 2>&1; then
	U=$OUT/umoci-layout
	umoci init --layout "$U"
	umoci new --image "$U:base"
	echo umoci > "$C/u.txt"
	umoci insert --image "$U:base" "$C/u.txt" /u.txt
	umoci config --image "$U:base" --config.cmd /bin/true --config.env A=1 --config.workingdir /srv \
		--config.label org.example.u=1 --author strata-interop
	umoci insert --image "$U:base" "$C/base/etc" /etc
	made umoci-layout "umoci init/new/insert/config (oci:DIR:base; 2 gzip layers, 1 empty_layer history entry, orphan blobs left by umoci)"
else
	note "umoci not installed: umoci-layout not made"
fi

# ---------------------------------------------------------------- multi-platform index
for a in amd64 arm64; do
	w=$(B from "${SP[@]}" --name "strata-m-$a" --arch "$a" --os linux scratch)
	echo "arch=$a" > "$C/arch-$a.txt"
	B copy "$w" "$C/arch-$a.txt" /arch.txt >/dev/null
	B config --arch "$a" --os linux --cmd '["/arch.txt"]' "$w"
	[ "$a" = arm64 ] && B config --variant v8 "$w"
	B commit "${SP[@]}" -q "${TS[@]}" --rm "$w" "localhost/strata-multi:$a" >/dev/null
done
B manifest create localhost/strata-multi:latest >/dev/null
B manifest add localhost/strata-multi:latest "containers-storage:localhost/strata-multi:amd64" >/dev/null
B manifest add --variant v8 localhost/strata-multi:latest "containers-storage:localhost/strata-multi:arm64" >/dev/null
B manifest push "${SP[@]}" -q --all localhost/strata-multi:latest "oci:$OUT/multi:latest"
made multi "buildah manifest push --all -> oci:DIR:latest (index: linux/amd64 + linux/arm64/v8)"
SK copy -q --all "oci:$OUT/multi:latest" "oci-archive:$OUT/multi-oci.tar:latest"
made multi-oci.tar "skopeo copy --all -> oci-archive (same index, as a tar)"

# ---------------------------------------------------------------- rootfs tarball (xz) + podman import
R=$C/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/usr/share/doc" "$R/tmp"
echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"
echo strata-rootfs > "$R/etc/hostname"
printf '#!/bin/sh\nexit 0\n' > "$R/bin/true"; chmod 755 "$R/bin/true"; chmod 1777 "$R/tmp"
ln -s ../../etc/hostname "$R/usr/share/doc/hostname"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=pax \
	--pax-option=delete=atime,delete=ctime -C "$R" -cJf "$OUT/rootfs.tar.xz" .
made rootfs.tar.xz "tar --sort=name -cJ of a small tree (entries ./...)"
# podman import of a gzip tarball is consistent: diff_id = sha256 of the tar inside rootfs.tar.xz
xz -dc "$OUT/rootfs.tar.xz" | gzip -n > "$C/rootfs.tar.gz"
P import "${SP[@]}" -q "$C/rootfs.tar.gz" localhost/strata-rootfs:1 >/dev/null
P save "${SP[@]}" -q -o "$OUT/podman-import.tar" localhost/strata-rootfs:1
made podman-import.tar "podman import (gzip of the rootfs tar) + podman save"
# podman 4.3 (c/image tarball transport) takes an .xz file as an UNCOMPRESSED layer: the config's diff_id is
# sha256 of the .xz bytes, while storage unpacks it and podman save writes the plain tar -> a real-tool
# archive whose diff_id does not match its layer (docker load rejects it). strata verify must say so.
P import "${SP[@]}" -q "$OUT/rootfs.tar.xz" localhost/strata-rootfs:xz >/dev/null
P save "${SP[@]}" -q -o "$OUT/podman-import-xz-bad.tar" localhost/strata-rootfs:xz
made podman-import-xz-bad.tar "podman import rootfs.tar.xz + podman save: config diff_id = sha256(xz file) != layer (known-bad)"

# ---------------------------------------------------------------- containerd export (Docker 25+/containerd-store shape)
if command -v containerd >/dev/null 2>&1 && command -v ctr >/dev/null 2>&1; then
	D=$T/ctd
	cat > "$D/config.toml" <<EOF
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
	CTR() { ctr --address "$D/sock" -n strata "$@"; }
	up=
	for _ in $(seq 100); do
		if ctr --address "$D/sock" version >/dev/null 2>&1; then up=1; break; fi
		kill -0 "$CTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$up" ] || { cat "$D/log" >&2; die "containerd did not start"; }
	# docker-archive import: --compress-blobs gzips the layers, as a registry pull into containerd would have them
	CTR images import --no-unpack --compress-blobs "$OUT/podman-multi.tar" >/dev/null
	CTR images export --platform linux/amd64 "$OUT/ctr-export.tar" localhost/strata-app:2
	made ctr-export.tar "ctr import podman-multi.tar + ctr export (oci-layout+index.json+manifest.json, gzip blobs, schema2 manifest)"
	CTR images import --no-unpack --all-platforms --base-name localhost/strata-multi "$OUT/multi-oci.tar" >/dev/null
	CTR images export --platform linux/amd64 "$OUT/ctr-export-multi.tar" localhost/strata-multi:latest
	made ctr-export-multi.tar "ctr export --platform linux/amd64 of the index (index kept, arm64 manifest+blobs ABSENT)"
	cleanup; CTD_PID=
else
	note "containerd/ctr not installed: ctr-export*.tar not made"
fi

# ---------------------------------------------------------------- report
for m in "${MADE[@]}"; do
	n=${m%%|*}
	printf '%-22s %8s  %s\n' "$n" "$(du -sb "$OUT/$n" | cut -f1)" "${m#*|}"
done
