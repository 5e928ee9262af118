/* ref.c - reference parsing; see ref.h. */
#include "ref.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
	const char *prefix;
	enum ref_transport t;
} transports[] = {
	{ "docker-archive:", REF_DOCKER_ARCHIVE },
	{ "oci-archive:", REF_OCI_ARCHIVE },
	{ "oci:", REF_OCI },
	{ "rootfs:", REF_ROOTFS },
	{ "registry:", REF_REGISTRY },
	{ "docker-root:", REF_DOCKER_ROOT },
	{ "containers-storage:", REF_CSTORAGE },
};

const char *ref_transport_name(enum ref_transport t)
{
	switch (t) {
	case REF_DOCKER_ARCHIVE: return "docker-archive";
	case REF_OCI: return "oci";
	case REF_OCI_ARCHIVE: return "oci-archive";
	case REF_ROOTFS: return "rootfs";
	case REF_REGISTRY: return "registry";
	case REF_DOCKER_ROOT: return "docker-root";
	case REF_CSTORAGE: return "containers-storage";
	default: return "auto";
	}
}

size_t ref_transport_word(const char *s)
{
	size_t n = 0;

	if (!(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-')
		n++;
	return s[n] == ':' ? n + 1 : 0;
}

/* Transports of skopeo that strata does not read, and what does. */
static int foreign_transport(const char *s, size_t n, struct strata_err *e)
{
	const char *rest = s + n;

	if (n == 7 && !strncmp(s, "docker:", 7))
		return err_set(e, STRATA_EUSAGE,
			       "strata reads files offline and does not pull from a registry; "
			       "`skopeo copy %.300s oci-archive:image.tar` fetches it into a file strata reads", s);
	if (n == 14 && !strncmp(s, "docker-daemon:", 14))
		return err_set(e, STRATA_EUSAGE,
			       "strata does not talk to a Docker daemon; `docker save -o image.tar %.300s` "
			       "writes a file strata reads", rest);
	if (n == 4 && !strncmp(s, "dir:", 4))
		return err_set(e, STRATA_EUSAGE,
			       "strata does not read skopeo's dir: format; `skopeo copy %.300s oci:layout` "
			       "turns it into an OCI layout strata reads", s);
	return err_set(e, STRATA_EUSAGE, "unknown transport '%.*s' (known: docker-archive, oci, oci-archive, rootfs, registry, docker-root, containers-storage)",
		       (int)(n > 64 ? 64 : n), s);
}

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* An empty directory (a registry's volume, made before anything is in it). */
static bool is_empty_dir(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *de;
	bool empty = d != NULL;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	if (d)
		closedir(d);
	return empty;
}

/*
 * registry:DIR[/NAME[:TAG|@DIGEST]]: DIR is the shortest prefix (at a '/')
 * that is a registry storage tree (holds docker/registry/v2); else the
 * shortest that does not exist (a new tree), or that is an empty directory
 * when the last component has a tag or digest (a volume made beforehand,
 * with NAME:TAG below it: without one, DIR/x may as well be a new tree x);
 * else the whole path.  What follows is the repository name, checked by the
 * reader or the writer.
 */
static int registry_split(const char *s, const char *rest, struct ref *r, struct strata_err *e)
{
	size_t n = strlen(rest), i, cut = n, missing = 0;
	const char *base = strrchr(rest, '/');
	bool tagged = strpbrk(base ? base + 1 : rest, ":@") != NULL;
	char *buf = malloc(n + sizeof("/docker/registry/v2"));

	if (!buf)
		return err_nomem(e, "reference");
	for (i = 1; i <= n; i++) {
		if (i < n && rest[i] != '/')
			continue;
		memcpy(buf, rest, i);
		memcpy(buf + i, "/docker/registry/v2", sizeof("/docker/registry/v2"));
		if (is_dir(buf)) {
			cut = i;
			break;
		}
		buf[i] = '\0';
		if (!missing && (!is_dir(buf) || (tagged && is_empty_dir(buf))))
			missing = i;
	}
	if (i > n && missing)
		cut = missing;
	free(buf);
	while (cut > 1 && rest[cut - 1] == '/')
		cut--;
	if (!(r->path = strndup(rest, cut)))
		return err_nomem(e, "reference");
	while (rest[cut] == '/')
		cut++;
	if (rest[cut] && !(r->name = strdup(rest + cut))) {
		ref_release(r);
		return err_nomem(e, "reference");
	}
	(void)s;
	return 0;
}

/* Stores: DIR[:NAME[:TAG] | :@ID], or containers-storage:[DRIVER@ROOT+RUNROOT]NAME[:TAG]. */
static int store_ref_parse(const char *s, const char *rest, struct ref *r, struct strata_err *e)
{
	const char *sel = NULL;

	if (r->transport == REF_CSTORAGE && rest[0] == '[') {
		const char *close = strchr(rest, ']'), *at = strchr(rest, '@'), *plus = strchr(rest, '+'), *root;

		if (!close || !plus || plus > close)
			return err_set(e, STRATA_EUSAGE, "reference '%s': [DRIVER@ROOT+RUNROOT] expected", s);
		root = at && at < plus ? at + 1 : rest + 1;
		if (at && at < plus && !(r->driver = strndup(rest + 1, (size_t)(at - rest - 1))))
			return err_nomem(e, "reference");
		if (!(r->path = strndup(root, (size_t)(plus - root))))
			return err_nomem(e, "reference");
		if (close[1])
			sel = close + 1;
	} else {
		const char *colon = strchr(rest, ':');

		if (!(r->path = colon ? strndup(rest, (size_t)(colon - rest)) : strdup(rest)))
			return err_nomem(e, "reference");
		if (colon)
			sel = colon + 1;
	}
	if (!*r->path || (sel && !*sel)) {
		ref_release(r);
		return err_set(e, STRATA_EUSAGE, "reference '%s': empty path or name", s);
	}
	if (sel && sel[0] == '@') {
		if (!sel[1] || strspn(sel + 1 + (strncmp(sel + 1, "sha256:", 7) ? 0 : 7), "0123456789abcdef") !=
				       strlen(sel + 1 + (strncmp(sel + 1, "sha256:", 7) ? 0 : 7))) {
			ref_release(r);
			return err_set(e, STRATA_EUSAGE, "reference '%s': @ID takes hex digits of an image ID", s);
		}
		if (!(r->id = strdup(sel + 1)))
			return ref_release(r), err_nomem(e, "reference");
	} else if (sel) {
		const char *slash = strrchr(sel, '/');
		size_t n = strlen(sel);

		/* a NAME alone means NAME:latest, as docker and podman take it */
		if (!(r->name = malloc(n + 8)))
			return ref_release(r), err_nomem(e, "reference");
		memcpy(r->name, sel, n + 1);
		if (!strchr(slash ? slash : sel, ':'))
			memcpy(r->name + n, ":latest", 8);
	}
	return 0;
}

int ref_parse(const char *s, struct ref *r, struct strata_err *e)
{
	const char *rest = s, *colon;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->index = -1;
	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		size_t n = strlen(transports[i].prefix);

		if (!strncmp(s, transports[i].prefix, n)) {
			r->transport = transports[i].t;
			rest = s + n;
			break;
		}
	}
	/* a word and a colon that is no transport we know: a mistyped or
	 * foreign transport, unless the whole string is an existing path
	 * ("./a:b.tar" never looks like one) */
	if (r->transport == REF_AUTO && ref_transport_word(s)) {
		struct stat st;

		if (lstat(s, &st) < 0)
			return foreign_transport(s, ref_transport_word(s), e);
	}
	if (!*rest)
		return err_set(e, STRATA_EUSAGE, "reference '%s' has no path", s);
	if (r->transport == REF_REGISTRY)
		return registry_split(s, rest, r, e);
	if (r->transport == REF_DOCKER_ROOT || r->transport == REF_CSTORAGE)
		return store_ref_parse(s, rest, r, e);
	colon = r->transport == REF_AUTO || r->transport == REF_ROOTFS ? NULL : strchr(rest, ':');
	r->path = colon ? strndup(rest, (size_t)(colon - rest)) : strdup(rest);
	if (!r->path)
		return err_nomem(e, "reference");
	if (colon) {
		const char *sel = colon + 1;

		if (!*sel || !*r->path) {
			ref_release(r);
			return err_set(e, STRATA_EUSAGE, "reference '%s': empty path or name", s);
		}
		if (sel[0] == '@') {
			char *end;

			r->index = strtol(sel + 1, &end, 10);
			if (r->transport != REF_DOCKER_ARCHIVE || end == sel + 1 || *end || r->index < 0) {
				ref_release(r);
				return err_set(e, STRATA_EUSAGE, "reference '%s': bad image index", s);
			}
		} else {
			if (r->transport == REF_DOCKER_ARCHIVE && !strchr(sel, ':')) {
				ref_release(r);
				return err_set(e, STRATA_EUSAGE,
					       "reference '%s': docker-archive names need NAME:TAG", s);
			}
			if (!(r->name = strdup(sel))) {
				ref_release(r);
				return err_nomem(e, "reference");
			}
		}
	}
	return 0;
}

void ref_release(struct ref *r)
{
	free(r->path);
	free(r->name);
	free(r->id);
	free(r->driver);
	r->path = r->name = r->id = r->driver = NULL;
}

/* ---- names: distribution's reference grammar (reference/regexp.go) ---- */

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+ */
static bool path_component_valid(const char *p, size_t n)
{
	size_t i = 0, k;

	if (!n || !lower_alnum(p[0]) || !lower_alnum(p[n - 1]))
		return false;
	while (i < n) {
		if (lower_alnum(p[i])) {
			i++;
			continue;
		}
		for (k = i; k < n && !lower_alnum(p[k]); k++)
			;
		/* a run of separators between two alphanumerics */
		if (!((k - i == 1 && (p[i] == '.' || p[i] == '_')) || (k - i == 2 && p[i] == '_' && p[i + 1] == '_') ||
		      strspn(p + i, "-") >= k - i))
			return false;
		i = k;
	}
	return true;
}

/* domain := host [":" port]; host := domain-component ("." domain-component)* | "[" IPv6 "]";
 * domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool domain_valid(const char *p, size_t n)
{
	const char *colon = NULL;
	size_t i, start, hn;

	if (n && p[0] == '[') {
		const char *close = memchr(p, ']', n);

		if (!close || close == p + 1)
			return false;
		for (i = 1; p + i < close; i++)
			if (!(alnum(p[i]) || p[i] == ':' || p[i] == '.'))
				return false;
		hn = (size_t)(close - p) + 1;
	} else {
		for (i = 0; i < n && p[i] != ':'; i++)
			;
		hn = i;
		for (start = 0, i = 0; i <= hn; i++) {
			if (i < hn && p[i] != '.')
				continue;
			if (i == start || !alnum(p[start]) || !alnum(p[i - 1]))
				return false;
			for (size_t j = start; j < i; j++)
				if (!alnum(p[j]) && p[j] != '-')
					return false;
			start = i + 1;
		}
	}
	if (hn == n)
		return true;
	colon = p + hn;
	if (*colon != ':' || hn + 1 == n)
		return false;
	for (i = hn + 1; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

bool ref_tag_valid(const char *t)
{
	size_t i, n = strlen(t);

	if (!n || n > 128 || !(alnum(t[0]) || t[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!(alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

/* The repository name[0..n) (no NUL needed). */
static bool repo_valid(const char *name, size_t n)
{
	const char *p = name, *end = name + n, *sl;
	size_t len;
	bool first = true;

	if (!n || n > 255)
		return false;
	while (1) {
		sl = memchr(p, '/', (size_t)(end - p));
		len = sl ? (size_t)(sl - p) : (size_t)(end - p);
		/* as docker: the first of several components is a domain when it
		 * has a dot or a port, is localhost, or has capitals */
		if (first && sl &&
		    (memchr(p, '.', len) || memchr(p, ':', len) || (len == 9 && !strncmp(p, "localhost", 9)) ||
		     strcspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < len)) {
			if (!domain_valid(p, len))
				return false;
		} else if (!path_component_valid(p, len)) {
			return false;
		}
		first = false;
		if (!sl)
			return true;
		p = sl + 1;
	}
}

bool ref_repo_valid(const char *name)
{
	return repo_valid(name, strlen(name));
}

int ref_check_name(const char *s, struct strata_err *e)
{
	const char *c = strrchr(s, ':'), *sl = strrchr(s, '/');

	if (strchr(s, '@'))
		return err_set(e, STRATA_EUSAGE, "bad image name '%.300s': a digest (@) cannot name a written image", s);
	if (!c || (sl && c < sl)) {
		if (!ref_tag_valid(s))
			return err_set(e, STRATA_EUSAGE,
				       "bad image name '%.300s': a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with . or -",
				       s);
		return 0;
	}
	if (!repo_valid(s, (size_t)(c - s)))
		return err_set(e, STRATA_EUSAGE,
			       "bad image name '%.300s': a repository is lowercase [a-z0-9] components joined by '/', "
			       "with separators '.', '_', '__' or '-' inside, after an optional registry host[:port]", s);
	if (!ref_tag_valid(c + 1))
		return err_set(e, STRATA_EUSAGE,
			       "bad image name '%.300s': a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with . or -", s);
	return 0;
}
