/*
 * main.c - strata's command line: the command table, help, exit codes.
 * This directory is the only place that prints or exits.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "analyze/walk.h"
#include "cli/cli.h"
#include "common/fsutil.h"

struct cli cli = { "strata", false, false };

const struct command cli_commands[] = {
	{ "inspect", cmd_inspect, "inspect SRC [--json]",
	  "what is in it: images, tags, platforms, layers, digests",
	  "Reads SRC in one pass and prints its format and, per image, its tags,\n"
	  "platform, manifest and config digests, created, entrypoint, cmd, env,\n"
	  "working dir, user and labels, and per layer its digest, media type,\n"
	  "stored size and diff_id.  Stored bytes are hashed; layers are not decoded.\n"
	  "\n"
	  "  --json     machine-readable output (\"schema\": 1, stable key order)\n"
	  "  --blobs    only every blob digest SRC holds, sorted, one sha256:... a line\n"
	  "             (what convert --exclude-blobs reads on the other side of an air gap)\n",
	  true,
	  "  $ strata inspect image.tar\n"
	  "  $ strata inspect --json oci:layout | jq '.images[].config.digest'\n"
	  "  $ strata inspect docker-archive:multi.tar:app:2\n" },
	{ "verify", cmd_verify, "verify SRC [--json]",
	  "check every digest, size, diff_id and reference; report all problems",
	  "Reads SRC in one pass, hashing every blob, decoding every compressed\n"
	  "layer and walking every layer tar, and checks: blob sizes and digests\n"
	  "against their descriptors, diff_ids against the config, layer counts,\n"
	  "config and manifest digests, strict JSON (case-sensitive, no duplicate\n"
	  "keys, 4 MiB cap), references present, digest strings valid, member\n"
	  "paths safe, duplicate members, and unsafe layer entries (.. or absolute\n"
	  "paths, symlinks and hardlinks leaving the root, escaping whiteouts).\n"
	  "Every problem is printed on stderr as one line naming the member.\n"
	  "SRC named *.manifest.json is a transfer manifest (convert --manifest):\n"
	  "every file it lists is checked (missing, corrupt, and for a layout extra\n"
	  "files named), then the content is verified and every image it lists found.\n"
	  "A piece set (convert --split) is read by its manifest or its first piece\n"
	  "(OUT.000), in one pass; every bad piece is named with its expected sha256.\n"
	  "\n"
	  "A delta's output (convert --exclude-blobs) lacks the blobs its transfer\n"
	  "manifest expects: they are noted as left out on purpose, not errors.\n"
	  "\n"
	  "  --json     print the report as JSON on stdout (\"schema\": 1)\n"
	  "  --trust PUB.pem  SRC's transfer manifest (SRC.manifest.json) must carry a good\n"
	  "             signature (convert --sign) by this Ed25519 or ECDSA P-256 key; then\n"
	  "             the files it lists and the content are checked\n",
	  true,
	  "  $ strata verify image.tar\n"
	  "  $ docker save app:1 | strata verify -\n"
	  "  $ strata verify --json oci-archive:app.tar > report.json\n"
	  "  $ strata verify bundle.tar.manifest.json\n" },
	{ "analyze", cmd_analyze,
	  "analyze SRC [--format text|json|html] [-o FILE] [--files] [--all] [--image REF] [--platform P] [--fail-on RULES]",
	  "what each layer holds, wastes and changes; dive's efficiency; CI rules",
	  "Reads SRC in the same single verified pass as verify and reports, per\n"
	  "layer: stored and tar size, digest and diff_id, the history line, entries by\n"
	  "type, files added / modified / deleted (whiteouts, opaque dirs) relative to\n"
	  "the layers below, bytes added and wasted (later overwritten or deleted), the\n"
	  "largest files, setuid/setgid, world-writable and device entries, and dpkg /\n"
	  "apk packages added, removed and upgraded; per image: size, wasted bytes and\n"
	  "efficiency as dive computes them, and the paths that waste space. Every\n"
	  "report opens with the verdict of the same pass (VERIFIED, or FAILED with each\n"
	  "problem; the report is still written and the exit code says it), the input's\n"
	  "sha256 and the OCI provenance labels, and lists risky content (findings:\n"
	  "private keys, cloud credentials, credential files, empty or plain shadow\n"
	  "passwords, file capabilities, setuid/setgid, world-writable), each with a rule\n"
	  "id, layer and path, also when a layer above deleted it (still shipped).\n"
	  "\n"
	  "  --format F         text (default), json or html (one self-contained file)\n"
	  "  --json             the same as --format json\n"
	  "  -o, --output FILE  write the report to FILE (atomically) instead of stdout\n"
	  "  --files            list every entry of every layer, regular files with the\n"
	  "                     sha256 of their content (hardlinks: their target's)\n"
	  "  --all              JSON Lines: each image's report alone, one compact JSON\n"
	  "                     document a line (jq -s merges them); exit: the worst image's\n"
	  "  --image REF        only this image of SRC: @N, NAME:TAG or TAG (default: all)\n"
	  "  --platform P       only the images of this os/arch[/variant]\n"
	  "  --fail-on RULES    exit 1 when a rule fails, with dive's names, e.g.\n"
	  "                     lowestEfficiency=0.95,highestWastedBytes=20MB,highestUserWastedPercent=0.1;\n"
	  "                     and ID=N or CATEGORY=N: more than N findings fail, e.g. secrets=0,\n"
	  "                     shadow=0, perms.setuid=3, findings=10 (ids: see README, analyze)\n",
	  true,
	  "  $ strata analyze app.tar\n"
	  "  $ strata analyze --format html -o report.html app.tar\n"
	  "  $ strata analyze --fail-on lowestEfficiency=0.95 app.tar\n" },
	{ "diff", cmd_diff, "diff SRC_A SRC_B [--json] [--exit-code] [--image[-a|-b] REF] [--platform[-a|-b] P]",
	  "two images: shared layers, files added/removed/changed, packages, config",
	  "Compares one image of each source: their manifest and config digests, the\n"
	  "layers they share (same diff_id from the bottom, named by digest), files\n"
	  "added, removed and changed (type, size, mode, owner, content, link target),\n"
	  "packages added, removed and changed (version, licenses: what sbom reads),\n"
	  "risk findings (rule id, path, layer) that appear or disappear, and config\n"
	  "changes (env, cmd, entrypoint, labels, user, working dir, ports, volumes,\n"
	  "stop signal, platform).\n"
	  "\n"
	  "  --json             machine-readable output (\"schema\": 1)\n"
	  "  --exit-code        exit 1 when the images differ, 0 when identical (git diff's)\n"
	  "  --image REF        the image of each source: @N, NAME:TAG or TAG\n"
	  "  --image-a REF      the image of SRC_A only (--image-b: of SRC_B)\n"
	  "  --image-b REF      the image of SRC_B only\n"
	  "  --platform P       os/arch[/variant]: the platform of each source's index\n"
	  "  --platform-a P     the platform of SRC_A only (--platform-b: of SRC_B)\n"
	  "  --platform-b P     the platform of SRC_B only\n",
	  true,
	  "  $ strata diff app-1.tar app-2.tar\n"
	  "  $ strata diff --platform-a linux/amd64 --platform-b linux/arm64 oci:multi oci:multi\n"
	  "  $ strata diff --json --exit-code old.tar new.tar > changes.json\n" },
	{ "sbom", cmd_sbom, "sbom SRC [--format cyclonedx-json|spdx-json] [-o FILE] [--all] [--image REF] [--platform P]",
	  "the packages of an image: CycloneDX 1.6 or SPDX 2.3 JSON",
	  "Reads SRC in the same single verified pass as verify and lists every package\n"
	  "of the image's final filesystem (layers stacked: a package removed above is\n"
	  "gone) from dpkg (status, distroless status.d/), apk and rpm (rpmdb.sqlite)\n"
	  "databases, Python (dist-info, egg-info), npm (node_modules/*/package.json)\n"
	  "and Go binaries (module build info): name, version, architecture, PURL, the\n"
	  "layers that introduced and last changed it, licenses and its files with their\n"
	  "sha256.  Each ecosystem says what it found: N packages, none found, or not\n"
	  "checked and why (an rpm Berkeley DB, Go before 1.18).\n"
	  "The same input gives the same bytes: the time is SOURCE_DATE_EPOCH or the\n"
	  "image's created, the serial number comes from the config digest.  A source\n"
	  "that fails verification gets no SBOM (the exit code says why).\n"
	  "\n"
	  "  --format F         cyclonedx-json (default) or spdx-json\n"
	  "  -o, --output FILE  write the SBOM to FILE (atomically) instead of stdout\n"
	  "  --all              every image of SRC (or of --platform): JSON Lines, one\n"
	  "                     compact SBOM a line in the images' order (jq -s merges them)\n"
	  "  --image REF        the image of SRC when it holds several: @N, NAME:TAG or TAG\n"
	  "  --platform P       os/arch[/variant]: the platform to describe from an index\n",
	  true,
	  "  $ strata sbom app.tar > app.cdx.json\n"
	  "  $ strata sbom --format spdx-json -o app.spdx.json oci:layout:1\n"
	  "  $ SOURCE_DATE_EPOCH=0 strata sbom --platform linux/arm64 oci-archive:multi.tar\n" },
	{ "convert", cmd_convert, "convert SRC... DST [options]",
	  "any supported shape into an OCI layout, oci-archive or docker-archive",
	  "Converts SRC into DST in one verified streaming pass: every blob is hashed\n"
	  "and every layer decoded on the way, and any problem stops the conversion\n"
	  "with nothing written.  DST is oci:DIR[:TAG], oci-archive:FILE[:TAG],\n"
	  "docker-archive:FILE[:NAME:TAG], or - (stdout) with --format.  A\n"
	  "docker-archive is written as the hybrid every loader takes: manifest.json\n"
	  "and repositories for Docker and podman, plus oci-layout, index.json and\n"
	  "blobs/sha256/ for containerd and Docker 25+.  Writing into an existing OCI\n"
	  "layout adds images and keeps those there.  Output appears only when\n"
	  "complete; on error or SIGINT/SIGTERM the destination is left as it was.\n"
	  "Several sources (and --from) make a bundle: every image of every source\n"
	  "in one DST, each keeping its names, a blob shared by several stored once;\n"
	  "all are verified, and a problem in any writes nothing.\n"
	  "\n"
	  "  --format F         oci, oci-archive or docker-archive (for - or a bare path)\n"
	  "  --keep             layers as stored (default): every digest is preserved\n"
	  "  --gzip[=LEVEL]     gzip layers that are not gzip (reproducible, parallel)\n"
	  "  --zstd[=LEVEL]     zstd layers that are not zstd\n"
	  "  --decompress       store layers uncompressed\n"
	  "  --threads N        gzip and zstd threads (default: all cores); output is identical for any N\n"
	  "  --sync             fsync the output before renaming it (durable, not only atomic)\n"
	  "  --preserve-digests refuse any conversion that would change a digest\n"
	  "  --tag REF          name the image REF (NAME:TAG, or a bare TAG for OCI); repeatable\n"
	  "  --platform P       os/arch[/variant]: keep only that platform of an index\n"
	  "  --image REF        keep only this image of SRC: @N, NAME:TAG or TAG\n"
	  "  --from FILE        the sources, one reference a line (# comments), after any SRC\n"
	  "  --manifest         also write DST.manifest.json and DST.sha256 beside DST (a\n"
	  "                     transfer manifest: strata verify DST.manifest.json checks it)\n"
	  "  --split SIZE       an archive DST as pieces DST.000, DST.001, ... of SIZE bytes\n"
	  "                     (K, M, G, T: binary units; 4G, 700M, 25G), with --manifest;\n"
	  "                     cat DST.0* > DST joins them; every command reads the set\n"
	  "                     named by DST.manifest.json or DST.000\n"
	  "  --exclude-blobs BASE  a delta: layers BASE holds are left out (BASE: any source, or\n"
	  "                     a file of sha256:... lines, as inspect --blobs prints); the transfer\n"
	  "                     manifest is written and lists them as expected; repeatable\n"
	  "  --blobs-from BASE  complete a delta: the blobs it lacks come from BASE (an OCI layout\n"
	  "                     or archive; DST itself may be BASE), verified; repeatable\n"
	  "  --sign KEY.pem     sign DST.manifest.json (written) into DST.manifest.json.sig with\n"
	  "                     an Ed25519 or ECDSA P-256 private key (verify --trust checks it)\n"
	  "  --json             when done, a summary on stdout as JSON (images, layers, bytes,\n"
	  "                     transfer manifest; on failure the error and problems)\n"
	  "  --replace          a name already in the OCI layout moves to the new image; blobs no\n"
	  "                     image of the layout uses any more are removed\n"
	  "  --squash           one image (pick it with --image or --platform) with its layers\n"
	  "                     merged into one, as flatten writes it (gzip unless --zstd or\n"
	  "                     --decompress); diff_ids and history updated\n",
	  true,
	  "  $ strata convert app.tar oci:layout:1\n"
	  "  $ strata convert --gzip oci:layout oci-archive:app.tar\n"
	  "  $ docker save app:1 | strata convert - oci-archive:- > app-oci.tar\n"
	  "  $ strata convert base.tar app.tar oci:app:1 oci-archive:bundle.tar\n" },
	{ "flatten", cmd_flatten, "flatten SRC DST [options]",
	  "the merged root filesystem of an image as one tar (.gz, .zst, .xz)",
	  "Writes the filesystem a container of SRC's image would see (overlay's\n"
	  "merged view) as one tar: whiteouts and opaque directories applied,\n"
	  "hardlinks kept valid, mode, owner, times and xattrs (security.capability\n"
	  "too) kept.  SRC is verified first; then each layer is read once more, top\n"
	  "layer first, so entries come in that order and nothing is extracted to disk.\n"
	  "Absolute or escaping names, writes through symlinks, escaping whiteouts and\n"
	  "hardlinks outside the root stop the run.  DST is a file (written under a\n"
	  "temp name, renamed when complete) or - for stdout; its name chooses the\n"
	  "compression (.tar.gz/.tgz, .tar.zst, .tar.xz), or say it:\n"
	  "\n"
	  "  --image REF        the image to flatten when SRC holds several: @N, NAME:TAG or TAG\n"
	  "  --platform P       os/arch[/variant]: the platform to flatten from an index\n"
	  "  --gzip[=LEVEL]     gzip the output (reproducible, parallel; default levels 1-2 by content)\n"
	  "  --zstd[=LEVEL]     zstd the output\n"
	  "  --xz[=LEVEL]       xz the output (single-threaded, slow; default level 6)\n"
	  "  --no-compress      a plain tar, whatever DST's name\n"
	  "  --threads N        gzip and zstd threads (default: all cores); output is identical for any N\n"
	  "  --sync             fsync the output before renaming it\n",
	  true,
	  "  $ strata flatten app.tar rootfs.tar.gz\n"
	  "  $ strata flatten --platform linux/arm64 oci:multi - | tar -tvf -\n" },
	{ "unpack", cmd_unpack, "unpack SRC DIR [options]",
	  "extract the merged root filesystem into a directory, safely",
	  "Extracts the filesystem flatten would write into DIR, which must not exist\n"
	  "or be empty; it is built beside DIR under a temp name and renamed when\n"
	  "complete.  Nothing is written outside DIR: every parent directory is opened\n"
	  "one component at a time without following symlinks, and the refusals of\n"
	  "flatten apply.  Works without root: ownership is applied only when root,\n"
	  "device nodes that cannot be created are skipped with a warning, and\n"
	  "extended attributes that cannot be set are counted in one warning.\n"
	  "\n"
	  "  --image REF        the image to unpack when SRC holds several: @N, NAME:TAG or TAG\n"
	  "  --platform P       os/arch[/variant]: the platform to unpack from an index\n"
	  "  --no-same-owner    do not apply the owners of the image, even as root\n",
	  true,
	  "  $ strata unpack app.tar ./root\n"
	  "  $ strata unpack --image @1 docker-archive:multi.tar ./root\n" },
	{ "import", cmd_import, "import ROOTFS DST [options]",
	  "a root filesystem tarball becomes a one-layer image",
	  "Makes a one-layer image from ROOTFS (a tar, .tar.gz, .tar.xz or .tar.zst; a\n"
	  "path or - for stdin), as FROM scratch + ADD rootfs.tar.xz / does.  DST is as\n"
	  "for convert.  The layer is stored as it came (xz and bzip2, which OCI does\n"
	  "not allow for layers, are stored uncompressed) unless --gzip, --zstd or\n"
	  "--decompress says otherwise.  The same input and options give a\n"
	  "byte-identical image.\n"
	  "\n"
	  "  --tag REF          NAME:TAG (or a bare TAG for OCI); repeatable\n"
	  "  --cmd CMD          default command: a JSON array, or words split on spaces\n"
	  "  --entrypoint EP    entrypoint, in the same forms\n"
	  "  --env K=V          environment (repeatable; default PATH=/usr/local/sbin:...)\n"
	  "  --workdir DIR      working directory\n"
	  "  --user USER        user\n"
	  "  --label K=V        label (repeatable)\n"
	  "  --platform P       os/arch[/variant] (default linux/amd64)\n"
	  "  --created TIME     RFC 3339 creation time (default SOURCE_DATE_EPOCH, else 1970-01-01T00:00:00Z)\n"
	  "  --history TEXT     the history line (default \"strata import\")\n"
	  "  --format F         oci, oci-archive or docker-archive (for - or a bare path)\n"
	  "  --keep             layer as stored (default)\n"
	  "  --gzip[=LEVEL]     gzip the layer (reproducible, parallel)\n"
	  "  --zstd[=LEVEL]     zstd the layer\n"
	  "  --decompress       store the layer uncompressed\n"
	  "  --threads N        gzip and zstd threads (default: all cores)\n"
	  "  --sync             fsync the output before renaming it\n",
	  true,
	  "  $ strata import rootfs.tar.xz oci:layout:base --cmd /bin/sh\n"
	  "  $ cat rootfs.tar | strata import - docker-archive:base.tar --tag base:1\n" },
	{ "completion", cmd_completion, "completion bash|zsh|fish",
	  "print the shell completion script for bash, zsh or fish",
	  "Prints a completion script made from this command table: commands, their\n"
	  "options, the transports (docker-archive: oci: oci-archive: rootfs:\n"
	  "registry:) and file names.  make install puts them where the shells look.\n",
	  false,
	  "  $ source <(strata completion bash)\n"
	  "  $ strata completion zsh > ~/.zfunc/_strata\n"
	  "  $ strata completion fish > ~/.config/fish/completions/strata.fish\n" },
};

const size_t cli_ncommands = sizeof(cli_commands) / sizeof(cli_commands[0]);

static const char references_help[] =
	"References (skopeo's syntax):\n"
	"  docker-archive:PATH[:NAME:TAG|:@N]  a `docker save` / `podman save` tarball\n"
	"  oci:DIR[:TAG]                       an OCI image layout directory\n"
	"  oci-archive:PATH[:TAG]              an OCI image layout as a tar\n"
	"  rootfs:PATH                         a root filesystem tarball (.tar, .gz, .xz, .zst)\n"
	"  registry:DIR[/NAME[:TAG]]           a registry's storage tree (docker/registry/v2)\n"
	"  docker-root:DIR[:NAME:TAG|:@ID]     Docker's data root, read with no daemon\n"
	"  containers-storage:DIR[:NAME:TAG|:@ID]  podman/buildah/CRI-O storage, no daemon\n"
	"  PATH, or - for stdin                detected by content\n";

static const char exit_help[] =
	"Exit codes:\n"
	"  0  ok\n"
	"  1  verification failed: content does not match its digest, size or diff_id;\n"
	"     analyze --fail-on: a rule failed; diff --exit-code: the images differ\n"
	"  2  usage error\n"
	"  3  I/O or system error\n"
	"  4  malformed or unsupported input\n";

/* `strata help TOPIC`: what every command shares. */
static const struct topic {
	const char *name, *summary, *text;
} topics[] = {
	{ "limits", "the limits and judging options every command that reads a source takes",
	  "The limits and judging options below are taken by every command that reads\n"
	  "a source, before or after the command name:\n"
	  "  strata --max-size 1G verify X   is   strata verify --max-size 1G X\n" LIMIT_HELP },
	{ "references", "how sources and destinations are named", references_help },
	{ "exit-codes", "what strata's exit status means", exit_help },
};

static void print_main_help(FILE *f)
{
	size_t i;

	fprintf(f, "usage: strata [-q] [LIMITS] COMMAND [ARGS]\n"
		   "       strata help COMMAND|TOPIC | strata COMMAND --help | strata --version\n\n"
		   "Reads, verifies and inspects container image archives offline.\n\nCommands:\n");
	for (i = 0; i < cli_ncommands; i++)
		fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
	fprintf(f, "\nHelp topics (strata help TOPIC):\n");
	for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		fprintf(f, "  %-10s %s\n", topics[i].name, topics[i].summary);
	fprintf(f, "\nGlobal options (before or after the command):\n"
		   "  -q, --quiet  no progress, summaries or warnings on stderr\n"
		   "  LIMITS       the options of 'strata help limits'\n"
		   "\n%s\n%s", references_help, exit_help);
}

static void print_command_help(const struct command *c, FILE *f)
{
	fprintf(f, "usage: strata %s\n\n%s\n", c->usage, c->help);
	if (c->limits)
		fprintf(f, "Also: -q, and the limits of 'strata help limits'.  Sources: 'strata help references'.\n\n");
	fprintf(f, "Examples:\n%s", c->examples);
}

bool cli_want_help(const char *cmd, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			print_command_help(cli_find(cmd), stdout);
			return true;
		}
	}
	return false;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	/* a check that failed for want of memory is no usage error: main says
	 * the one line a shortage gets (exit 3) */
	if (strata_oom_seen())
		return STRATA_EIO;
	fprintf(stderr, "strata %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: strata %s\nTry 'strata %s --help'.\n", cli_find(cmd) ? cli_find(cmd)->usage : cmd, cmd);
	return STRATA_EUSAGE;
}

int cli_json_args(const char *cmd, int argc, char **argv, int nargs, bool *json, struct limits *lim)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, LIMIT_OPTIONS, { NULL, 0, NULL, 0 } };
	int c, r;

	*json = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((r = cli_limit_option(cmd, c, optarg, lim)) < 0)
			return -r;
		if (r)
			continue;
		if (c != 'j')
			return cli_usage(cmd, "bad option");
		*json = true;
	}
	if (argc - optind != nargs)
		return cli_usage(cmd, nargs == 1 ? "needs exactly one SRC" : "needs SRC_A and SRC_B");
	return 0;
}

/* "512M" -> 512 MiB: K, M, G, T, P, E are powers of 1024 (also as KiB, MiB,
 * ...), KB, MB, ... powers of 1000, as GNU coreutils reads sizes. */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTPE";
	unsigned long long v;
	uint64_t mult = 1, base = 1024;
	const char *u;
	char *end;
	long i;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		if (!(u = strchr(units, toupper((unsigned char)*end))))
			return -1;
		if (!strcmp(end + 1, "B"))
			base = 1000;
		else if (end[1] && strcmp(end + 1, "iB"))
			return -1;
		for (i = 0; i <= u - units; i++)
			mult *= base;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static int parse_count(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int cli_limit_option(const char *cmd, int c, const char *arg, struct limits *lim)
{
	/* documents and headers are held in memory: a gigabyte is already absurd */
	const uint64_t in_memory = 1ull << 30;
	uint64_t v;

	switch (c) {
	case O_MAX_SIZE:
		if (parse_size(arg, &v) < 0 || !v)
			return -cli_usage(cmd, "--max-size takes a size such as 512M or 8G, not '%s'", arg);
		lim->max_size = v;
		return 1;
	case O_MAX_RATIO:
		if (parse_count(arg, &v) < 0 || !v)
			return -cli_usage(cmd, "--max-ratio takes a whole number of at least 1, not '%s'", arg);
		lim->max_ratio = v;
		return 1;
	case O_MAX_ENTRIES:
		if (parse_count(arg, &v) < 0 || !v)
			return -cli_usage(cmd, "--max-entries takes a whole number of at least 1, not '%s'", arg);
		lim->max_entries = v;
		return 1;
	case O_MAX_DESCRIPTORS:
	case O_MAX_LAYERS:
		if (parse_count(arg, &v) < 0 || !v)
			return -cli_usage(cmd, "%s takes a whole number of at least 1, not '%s'",
					  c == O_MAX_LAYERS ? "--max-layers" : "--max-descriptors", arg);
		if (c == O_MAX_LAYERS)
			lim->max_layers = v;
		else
			lim->max_descriptors = v;
		return 1;
	case O_MAX_JSON:
	case O_MAX_HEADER:
		if (parse_size(arg, &v) < 0 || !v || v > in_memory)
			return -cli_usage(cmd, "%s takes a size from 1 to 1G, such as 16M, not '%s'",
					  c == O_MAX_JSON ? "--max-json" : "--max-header", arg);
		if (c == O_MAX_JSON)
			lim->max_json = v;
		else
			lim->max_header = v;
		return 1;
	case O_STRICT:
		lim->strict = true;
		return 1;
	case O_ALLOW_UNSAFE:
		lim->allow_unsafe = true;
		return 1;
	case O_ALLOW_MISSING:
		lim->allow_missing = true;
		return 1;
	case O_ALLOW_REBUILT:
		lim->allow_rebuilt = true;
		return 1;
	default:
		return 0;
	}
}

void cli_walker(struct walker *w, struct layer_hooks *h, struct diag *d, const struct limits *lim)
{
	uint64_t json = lim->max_json ? lim->max_json : LIMIT_MAX_JSON;

	walker_init(w, d);
	w->pkg_max = json > UINT64_MAX / LIMIT_PKG_TOTAL ? UINT64_MAX : json * LIMIT_PKG_TOTAL;
	if (lim->allow_unsafe) {
		w->unsafe_sev = SEV_WARNING;
		if (!cli.quiet)
			fprintf(stderr, "strata: warning: --allow-unsafe-layers: unsafe layer entries are reported as "
					"warnings and kept\n");
	}
	walker_hooks(w, h);
}

int cli_out_open(struct cli_out *o, const char *path, struct strata_err *e)
{
	char *file;
	int r;

	o->path = path && strcmp(path, "-") ? path : NULL;
	o->fd = -1;
	o->f.fd = -1;
	o->f.tmp = o->f.final = NULL;
	if (!o->path)
		return 0;
	/* only a regular file is replaced; a device or FIFO is written into */
	if ((r = output_resolve(o->path, &file, &o->fd, e)) < 0 || o->fd >= 0)
		return r;
	r = atomic_open(&o->f, file, e);
	free(file);
	if (r == 0)
		o->fd = o->f.fd;
	return r;
}

int cli_out_write(void *ctx, const char *p, size_t n, struct strata_err *e)
{
	struct cli_out *o = ctx;

	if (!o->path)
		return fwrite(p, 1, n, stdout) == n ? 0 : err_set(e, STRATA_EIO, "cannot write to stdout");
	return write_all(o->fd, p, n, o->path, e);
}

int cli_out_close(struct cli_out *o, struct strata_err *e)
{
	int r = 0;

	if (!o->path)
		return fflush(stdout) == EOF ? err_set(e, STRATA_EIO, "cannot write to stdout") : 0;
	if (o->f.tmp) {
		o->fd = -1;
		return atomic_commit(&o->f, e);
	}
	if (o->fd >= 0 && close(o->fd) < 0)
		r = err_sys(e, errno, "close '%s'", o->path);
	o->fd = -1;
	return r;
}

void cli_out_abort(struct cli_out *o)
{
	if (o->f.tmp)
		atomic_abort(&o->f);
	else if (o->path && o->fd >= 0)
		close(o->fd);
	o->fd = -1;
}

int cli_write_output(const char *path, const char *p, size_t n, struct strata_err *e)
{
	struct cli_out o;
	int r;

	if ((r = cli_out_open(&o, path, e)) < 0)
		return r;
	if ((r = cli_out_write(&o, p, n, e)) < 0) {
		cli_out_abort(&o);
		return r;
	}
	return cli_out_close(&o, e);
}

int cli_fail(const char *src, const struct strata_err *e)
{
	cli.reported = true;
	if (strata_oom_seen()) {
		fprintf(stderr, "strata: error: %s: %s\n", src, strstr(e->msg, "out of memory") ? e->msg : "out of memory");
		return STRATA_EIO;
	}
	fprintf(stderr, "strata: error: %s: %s\n", src, e->msg);
	return e->code ? e->code : STRATA_EIO;
}

void cli_print_problems(const char *src, const struct diag *d)
{
	size_t i;

	if (strata_oom_seen())
		return;
	for (i = 0; i < d->len; i++) {
		const struct problem *p = &d->v[i];

		if (p->sev == SEV_WARNING && cli.quiet)
			continue;
		fprintf(stderr, "strata: %s: %s: %s%s%s\n", p->sev == SEV_ERROR ? "error" : "warning", src,
			p->member, p->member[0] ? ": " : "", p->msg);
	}
	if (d->dropped)
		fprintf(stderr, "strata: warning: %s: %zu more problems not recorded\n", src, d->dropped);
}

int cli_int_arg(const char *arg, int lo, int hi, int *out)
{
	char *end;
	long v;

	if (!arg)
		return 0;
	v = strtol(arg, &end, 10);
	if (!*arg || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int no_command(const char *word)
{
	const char *names[32];
	const char *s;
	size_t i, n = 0;

	for (i = 0; i < cli_ncommands && n < 30; i++)
		names[n++] = cli_commands[i].name;
	names[n++] = "help";
	s = cli_suggest(word, names, n);
	fprintf(stderr, "strata: no command '%s'%s%s%s; try 'strata --help'\n", word, s ? " (did you mean " : "",
		s ? s : "", s ? "?)" : "");
	return STRATA_EUSAGE;
}

static int help(const char *what)
{
	const struct command *c;
	size_t i;

	if (!what) {
		print_main_help(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (!strcmp(topics[i].name, what)) {
			fputs(topics[i].text, stdout);
			return 0;
		}
	if (!(c = cli_find(what)))
		return no_command(what);
	print_command_help(c, stdout);
	return 0;
}

/*
 * The global options before the command word: --help, --version, -q and
 * the limits, which are handed to the command as if given after it.  *pre
 * gets them; returns the index of the command word, or -1 - exit code.
 */
static int global_args(int argc, char **argv, char **pre, int *npre)
{
	struct cli_opt opts[32];
	size_t n = cli_options(NULL, opts, sizeof(opts) / sizeof(opts[0])), j;
	int i;

	*npre = 0;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		const struct cli_opt *o = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			print_main_help(stdout);
			return -1;
		}
		if (!strcmp(a, "--version")) {
			printf("strata %s\n", STRATA_VERSION);
			return -1;
		}
		if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			cli.quiet = true;
			continue;
		}
		for (j = 0; j < n && !o; j++)
			if (a[1] == '-' && !strncmp(opts[j].name, a + 2, strcspn(a + 2, "=")) &&
			    !opts[j].name[strcspn(a + 2, "=")])
				o = &opts[j];
		if (!o) {
			const char *names[32], *near;
			char word[64];
			size_t k = 0;
			int len = (int)strcspn(a, "=");

			snprintf(word, sizeof(word), "%.*s", len, a);
			for (j = 0; j < n; j++)
				names[k++] = opts[j].name;
			near = a[1] == '-' ? cli_suggest(word + 2, names, k) : NULL;
			fprintf(stderr, "strata: unknown option '%.*s'%s%s%s; try 'strata --help'\n", len, a,
				near ? " (did you mean --" : "", near ? near : "", near ? "?)" : "");
			return -1 - STRATA_EUSAGE;
		}
		pre[(*npre)++] = argv[i];
		if (o->arg == OPT_REQUIRED && !strchr(a, '=')) {
			if (i + 1 >= argc) {
				fprintf(stderr, "strata: option '%s' needs a value; try 'strata help limits'\n", a);
				return -1 - STRATA_EUSAGE;
			}
			pre[(*npre)++] = argv[++i];
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	const struct command *c;
	char **pre, **nargv;
	int i, r, npre, nargc;

	/* A write past RLIMIT_FSIZE fails with EFBIG, reported and unwound like
	 * any full disk, instead of killing the run with its temp files left. */
	signal(SIGXFSZ, SIG_IGN);
#ifdef __GLIBC__
	/* A million-path layer has arrays of tens of MiB that come and go (its
	 * name tree for the duplicate check, freed before the stack's is built).
	 * glibc's dynamic threshold would move such blocks, once freed, into the
	 * heap, whose freed memory stays in RSS: setting the trim threshold fixes
	 * the mmap one at its default (128 KiB), so big blocks keep their own
	 * mappings and go back to the system when freed (verify of a million
	 * files: 93 MiB peak without, 63 with; no change in time). */
	mallopt(M_TRIM_THRESHOLD, 128 << 10);
#endif

	if (!(pre = calloc((size_t)argc, sizeof(*pre)))) {
		fprintf(stderr, "strata: error: out of memory\n");
		return STRATA_EIO;
	}
	if ((i = global_args(argc, argv, pre, &npre)) < 0) {
		free(pre);
		return -1 - i;
	}
	if (i >= argc) {
		free(pre);
		print_main_help(stderr);
		return STRATA_EUSAGE;
	}
	if (!strcmp(argv[i], "help")) {
		free(pre);
		return help(i + 1 < argc ? argv[i + 1] : NULL);
	}
	if (!(c = cli_find(argv[i]))) {
		free(pre);
		return no_command(argv[i]);
	}
	if (npre && !c->limits) {
		r = cli_usage(c->name, "takes no limits (%s)", pre[0]);
		free(pre);
		return r;
	}
	if (cli_want_help(c->name, argc - i, argv + i)) {
		free(pre);
		return 0;
	}
	r = cli_args(c, pre, npre, argc - i, argv + i, &nargc, &nargv);
	free(pre);
	if (r)
		return r;
	opterr = 0;  /* every bad option was reported above, in one line */
	r = c->fn(nargc, nargv);
	free(nargv);
	/* Output that did not reach stdout is a failure (a full disk, a closed
	 * pipe); so is a run during which memory ran out, whatever it found. */
	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (!cli.reported)
			fprintf(stderr, "strata: error: cannot write to standard output%s%s\n", errno ? ": " : "",
				errno ? strerror(errno) : "");
		cli.reported = true;
		r = STRATA_EIO;
	}
	if (strata_oom_seen()) {
		if (!cli.reported)
			fprintf(stderr, "strata: error: out of memory\n");
		r = STRATA_EIO;
	}
	return r;
}
