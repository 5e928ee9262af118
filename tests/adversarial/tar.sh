#!/usr/bin/env bash
# tests/adversarial/tar.sh STRATA OUTDIR - hostile tar shapes inside layers (issue 11).
#
# tests/adversarial/tar.py writes each shape into OUTDIR/adversarial-tar/ as a classic
# docker-archive (NAME.tar) and as a rootfs tarball (NAME.rootfs.tar); cases.tsv says what
# Go's archive/tar (containerd, Docker, podman, umoci) makes of it.  For each source this
# runs `strata verify`, `strata analyze --format json`, `strata flatten SRC FILE` and
# `strata convert SRC oci:DIR` (`strata import` for a rootfs), each under `timeout` and
# `ulimit -v`, in an empty work directory, and checks:
#   go      exit 0, the setuid file bin/su that hides in the shape is seen: in analyze's
#           setuid list and in the flattened tar (so every command reads what Go reads);
#   data    exit 0, bin/su is a file's data for Go: neither analyze nor flatten lists it;
#   refuse  exit 4 with the expected words on the one line of stderr;
# and always: no crash, no timeout, at most one line of stderr, nothing left in the work
# directory but the output a successful run names (convert and import may add their one
# "did not verify ... nothing was written" summary line to a refusal).
# Then `strata verify|analyze|flatten -` on endless zeros, alone and after a valid tar,
# must end (exit 4) within the time limit.
#
# Prints "ok - adversarial-tar NAME", "not ok - adversarial-tar NAME: reason" or
# "skip - adversarial-tar NAME: reason" lines; exits 0 (2 on usage).
#
# Environment (as tests/malformed/run.sh):
#   STRATA_TEST_VLIMIT_KB  virtual-memory limit in KiB (default 1048576); "unlimited" under ASan
#   STRATA_TEST_TIMEOUT    seconds per run (default 60)

set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 STRATA OUTDIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd -P)
strata=$1
case $strata in /*) ;; *) strata=$(pwd -P)/$strata ;; esac
W=${2%/}/adversarial-tar
vlimit=${STRATA_TEST_VLIMIT_KB:-1048576}
limit_s=${STRATA_TEST_TIMEOUT:-60}

ok()   { echo "ok - adversarial-tar $1"; }
nok()  { echo "not ok - adversarial-tar $1: $2"; }
skip() { echo "skip - adversarial-tar $1: $2"; }

rm -rf "$W" && mkdir -p "$W/src" "$W/run" || { nok setup "cannot create $W"; exit 0; }
W=$(cd "$W" && pwd -P)
if ! python3 "$here/tar.py" "$W/src" > "$W/make.log" 2>&1; then
	nok setup "tar.py failed: $(tail -n 1 "$W/make.log")"
	exit 0
fi

# run INPUT CMD...: runs strata CMD... in the empty work dir $W/run under the limits, stdin
# from INPUT; sets rc, leaves stdout in $W/out and stderr in $W/err
run() {
	local input=$1
	shift
	rm -rf "$W/run" && mkdir "$W/run" || return 1
	{
		(
			cd "$W/run" || exit 125
			ulimit -c 0
			if [ "$vlimit" != unlimited ]; then
				ulimit -v "$vlimit" || exit 125
			fi
			exec timeout -k 5 "$limit_s" "$strata" "$@"
		) <"$input" >"$W/out" 2>"$W/err"
	} 2>/dev/null	# keeps bash's "Segmentation fault" job notice out of the report
	rc=$?
}

first_err_line() {
	local l
	l=$(head -n 1 "$W/err" | tr '\t\r' '  ' | cut -c 1-200)
	printf '%s' "${l:-<empty>}"
}

# common_reason ALLOWED...: what is wrong whatever the shape: a crash, a timeout, more
# than one line of stderr, or something left in the work dir but the names ALLOWED
common_reason() {
	local left n
	if [ "$rc" -eq 124 ]; then
		echo "timed out after ${limit_s}s"; return
	elif [ "$rc" -eq 137 ]; then
		echo "killed (out of memory, or still running after SIGTERM)"; return
	elif [ "$rc" -eq 125 ]; then
		echo "could not apply limits (timeout/ulimit failed)"; return
	elif [ "$rc" -ge 126 ] && [ "$rc" -le 127 ]; then
		echo "cannot execute $strata"; return
	elif [ "$rc" -ge 128 ]; then
		echo "crashed (signal $((rc - 128)))"; return
	fi
	# convert and import close a refusal with one summary line ("did not verify ... nothing was written")
	n=$(grep -v -e 'did not verify (' -e 'is not a usable root filesystem (' "$W/err" | grep -c .)
	if [ "$n" -gt 1 ]; then
		echo "$n lines on stderr"; return
	fi
	left=$(cd "$W/run" && for f in * .[!.]*; do
		[ -e "$f" ] || continue
		case " $* " in *" $f "*) ;; *) printf '%s ' "$f" ;; esac
	done)
	if [ -n "$left" ]; then
		echo "left behind in the output dir: $left"
	fi
}

# Does analyze's JSON ($W/out) list bin/su as setuid (seen), or name it at all (named)?
su_in_json() {
	python3 - "$W/out" "$1" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(2)
found = {"seen": False, "named": False}
def walk(o, setuid=False):
    if isinstance(o, dict):
        for k, v in o.items():
            walk(v, setuid or k == "setuid")
    elif isinstance(o, list):
        for v in o:
            walk(v, setuid)
    elif o == "bin/su":
        found["named"] = True
        found["seen"] = found["seen"] or setuid
walk(doc)
sys.exit(0 if found[sys.argv[2]] else 1)
PY
}

# What the flattened tar holds: "bin/su 4755" when bin/su is there (any mode), else nothing;
# plus "etc/data SIZE" lines.
flat_list() {
	python3 - "$1" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        if m.name.lstrip("./") == "bin/su":
            print("bin/su %o" % (m.mode & 0o7777))
        if m.name.lstrip("./") == "etc/data":
            print("etc/data %d" % m.size)
PY
}

# check_one NAME EXPECT MUST CMD SRC: one command on one source
check_one() {
	local name=$1 expect=$2 must=$3 cmd=$4 src=$5 label reason="" out=""
	label="$name $cmd"
	case $cmd in
	verify) run /dev/null verify "$src" ;;
	analyze) run /dev/null analyze --format json "$src" ;;
	flatten) out=flat.tar; run /dev/null flatten "$src" "$W/run/flat.tar" ;;
	convert) out=oci; run /dev/null convert "$src" "oci:$W/run/oci" ;;
	import) out=oci; run /dev/null import "$src" "oci:$W/run/oci" ;;
	esac
	if [ "$rc" -eq 0 ]; then
		reason=$(common_reason $out)
	else
		reason=$(common_reason)
	fi
	if [ -z "$reason" ]; then
		case $expect in
		refuse)
			if [ "$rc" -ne 4 ]; then
				reason="expected exit 4"
			elif ! grep -qF -e "$must" "$W/err"; then
				reason="stderr does not say '$must'"
			fi
			;;
		go | data)
			if [ "$rc" -ne 0 ]; then
				reason="expected exit 0"
			elif [ "$cmd" = analyze ]; then
				if [ "$expect" = go ] && ! su_in_json seen; then
					reason="bin/su (setuid, read by Go as an entry) is not in analyze's setuid list"
				elif [ "$expect" = data ] && su_in_json named; then
					reason="analyze lists bin/su, which Go reads as the data of etc/data"
				fi
			elif [ "$cmd" = flatten ]; then
				local l
				l=$(flat_list "$W/run/flat.tar" 2>&1)
				if [ "$expect" = go ] && [ "$l" != "bin/su 4755" ]; then
					reason="the flattened tar does not hold bin/su mode 4755 (${l:-nothing})"
				elif [ "$expect" = data ] && [ "$l" != "etc/data 1024" ]; then
					reason="the flattened tar should hold etc/data (1024 bytes) and no bin/su, holds: ${l:-nothing}"
				fi
			elif [ "$out" = oci ] && [ ! -f "$W/run/oci/index.json" ]; then
				reason="no oci/index.json written"
			fi
			;;
		esac
	fi
	if [ -z "$reason" ]; then
		ok "$label"
	else
		nok "$label" "$reason (exit $rc, stderr: $(first_err_line))"
	fi
}

tab=$(printf '\t')
while IFS=$tab read -r name expect must why; do
	case $name in '' | '#'*) continue ;; esac
	for cmd in verify analyze flatten convert; do
		check_one "$name" "$expect" "$must" "$cmd" "$W/src/$name.tar"
	done
	for cmd in verify analyze flatten import; do
		check_one "$name.rootfs" "$expect" "$must" "$cmd" "$W/src/$name.rootfs.tar"
	done
done <"$W/src/cases.tsv"

# Endless zeros on stdin, alone and after a valid tar: must end, exit 4, one line.
mkfifo "$W/fifo" 2>/dev/null || true
for shape in zeros tar-then-zeros; do
	for cmd in verify analyze flatten; do
		label="stdin-$shape $cmd"
		if [ "$shape" = zeros ]; then
			(cat /dev/zero >"$W/fifo" 2>/dev/null &)
		else
			( (cat "$W/src/hardlink-size.rootfs.tar" && cat /dev/zero) >"$W/fifo" 2>/dev/null &)
		fi
		case $cmd in
		verify) run "$W/fifo" verify - ;;
		analyze) run "$W/fifo" analyze --format json - ;;
		flatten) run "$W/fifo" flatten - "$W/run/flat.tar" ;;
		esac
		# let the writer see its reader gone (SIGPIPE) whatever happened
		exec 9<>"$W/fifo"; exec 9<&-
		reason=$(common_reason)
		if [ -z "$reason" ] && [ "$rc" -ne 4 ]; then
			reason="expected exit 4"
		elif [ -z "$reason" ] && ! grep -qE 'zero bytes and no header|follow the end of the archive' "$W/err"; then
			reason="stderr does not say why"
		fi
		if [ -z "$reason" ]; then
			ok "$label"
		else
			nok "$label" "$reason (exit $rc, stderr: $(first_err_line))"
		fi
	done
done
rm -f "$W/fifo"
exit 0
