/*
 * account.c - stack an image's layers and account for every path; see analyze.h.
 *
 * The layers are stacked by the layer model (formats/layerfs.h): what each
 * entry replaces, and every entry a whiteout, an opaque directory or a
 * non-directory over a directory removes, is reported to us; overwritten or
 * removed bytes are charged as wasted to the layer that wrote them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "common/buf.h"
#include "common/pages.h"
#include "common/strmap.h"
#include "formats/layerfs.h"
#include "formats/json.h"

/* dive's efficiency figures of a path seen more than once.  A path seen
 * once keeps only its size: a struct seen by the stack's node of the path
 * (lfs_node), in pages of the stack's pool (so out of memory past its
 * bound), no map of paths; the few seen again get one of these. */
struct eff {
	uint64_t cum, min, last;
	uint32_t count, node;
};

/* SEEN_BIG: seen once, with a size of 4 GiB or more (in acct.big) */
enum { SEEN_NONE, SEEN_ONCE, SEEN_BIG, SEEN_MORE };

/* A node's: SEEN_*, and by it its size, its index in big, or its eff's. */
struct seen {
	uint32_t once;
	uint8_t how;
};

struct acct {
	struct image_report *r;
	struct layer_report *lr;  /* the layer being stacked */
	struct lfs *v;            /* the stack, whose nodes index once and seen */
	struct page_arr seen;     /* struct seen by node; past its size all SEEN_NONE (zeros) */
	uint64_t *big;            /* the sizes of SEEN_BIG paths */
	size_t nbig, abig;
	struct eff *effs;         /* the paths seen more than once, in the order they were */
	size_t neffs, aeffs;
	struct strmap hitmap;     /* node -> 1 + index of the last risk_hit at it (the others: risk_hit.at) */
	const struct finding *fnext, *fend;  /* the layer's findings not yet passed (by entry index, increasing) */
	uint64_t gone;            /* bytes the current entry removed */
	int rc;                   /* first failure inside an event */
	struct strata_err *e;
};

static struct seen *seen_at(const struct acct *a, uint32_t i)
{
	return page_at((struct page_arr *)&a->seen, (uint64_t)i * sizeof(struct seen));
}

/* The nodes seen holds: past them, SEEN_NONE. */
static size_t nseen(const struct acct *a)
{
	return (size_t)(page_arr_size(&a->seen) / sizeof(struct seen));
}

/* The node of an entry the stack was given: where it reached, or (a
 * whiteout refused above its path, which still counts) made here. */
static uint32_t node_of(struct acct *a, const struct fentry *f, const struct lfs_prev *prev, struct strata_err *e)
{
	return prev->node != NTREE_NONE ? prev->node : lfs_node(a->v, f->path, true, e);
}

/* The size of a path seen once (SEEN_ONCE or SEEN_BIG). */
static uint64_t once_size(const struct acct *a, uint32_t i)
{
	struct seen sn = *seen_at(a, i);

	return sn.how == SEEN_ONCE ? sn.once : a->big[sn.once];
}

/* One more occurrence of the path of node i (NTREE_NONE: a failure in e), of size bytes. */
static int occur(struct acct *a, uint32_t i, uint64_t size, struct strata_err *e)
{
	struct eff *f;
	struct seen *sn;

	if (i == NTREE_NONE)
		return -e->code;
	if (page_arr_reserve(&a->seen, ((uint64_t)i + 1) * sizeof(struct seen), e) < 0)
		return -e->code;
	sn = seen_at(a, i);
	switch (sn->how) {
	case SEEN_NONE:
		if (size <= UINT32_MAX) {
			sn->how = SEEN_ONCE;
			sn->once = (uint32_t)size;
			return 0;
		}
		if (a->nbig >= UINT32_MAX || array_grow(&a->big, a->nbig, &a->abig, sizeof(*a->big), 16) < 0)
			return err_nomem(e, "efficiency");
		a->big[a->nbig] = size;
		sn = seen_at(a, i);
		sn->how = SEEN_BIG;
		sn->once = (uint32_t)a->nbig++;
		return 0;
	case SEEN_ONCE:
	case SEEN_BIG: {
		uint64_t was = once_size(a, i);

		if (a->neffs >= UINT32_MAX || array_grow(&a->effs, a->neffs, &a->aeffs, sizeof(*a->effs), 64) < 0)
			return err_nomem(e, "efficiency");
		a->effs[a->neffs] = (struct eff){ was, was, was, 1, i };
		sn = seen_at(a, i);
		sn->how = SEEN_MORE;
		sn->once = (uint32_t)a->neffs++;
		break;
	}
	}
	f = &a->effs[seen_at(a, i)->once];
	f->cum += size;
	if (size < f->min)
		f->min = size;
	f->last = size;
	f->count++;
	return 0;
}

/* The size of the entry present at node i: the size its path last occurred
 * with, which is the present entry's (every non-directory applied occurs,
 * and a directory's size is 0). */
static uint64_t cur_size(const struct acct *a, uint32_t i, uint8_t type)
{
	struct seen sn;

	if (type != TAR_FILE || i >= nseen(a) || (sn = *seen_at(a, i)).how == SEEN_NONE)
		return 0;
	return sn.how == SEEN_MORE ? a->effs[sn.once].last : once_size(a, (uint32_t)i);
}

static int list_add(struct list *l, const struct fentry *f, struct strata_err *e)
{
	char *p;

	l->total++;
	if (l->len >= REPORT_LIST_MAX)
		return 0;
	if (array_grow(&l->v, l->len, &l->alloc, sizeof(*l->v), 8) < 0 || !(p = strdup(f->path)))
		return err_nomem(e, "list");
	l->v[l->len].path = p;
	l->v[l->len].size = f->size;
	l->v[l->len].mode = f->mode;
	l->len++;
	return 0;
}

static void node_key(uint32_t node, char key[16])
{
	snprintf(key, 16, "%u", node);
}

/* A hit on entry `entry` of `layer` at path (its node): live when the entry
 * is in the view already (permissions, seen as it is applied), not yet when
 * it is a layer's finding added before the layer is stacked. */
static int hit_add(struct acct *a, enum risk_rule rule, size_t layer, size_t entry, uint32_t node, const char *path,
		   const char *detail, bool live, struct strata_err *e)
{
	struct image_report *r = a->r;
	struct risk_hit *h;
	char key[16];
	long at, same;
	void *last;

	r->risk_count[rule]++;
	if (r->nhits >= RISK_IMAGE_MAX) {
		r->hits_dropped++;
		return 0;
	}
	if (array_grow(&r->hits, r->nhits, &r->ahits, sizeof(*r->hits), 16) < 0)
		return err_nomem(e, "findings");
	node_key(node, key);
	last = strmap_get(&a->hitmap, key);
	at = last ? (long)(uintptr_t)last - 1 : -1;
	for (same = at; same >= 0; same = r->hits[same].at)
		if (r->hits[same].layer == layer && r->hits[same].entry == entry)
			break;
	h = &r->hits[r->nhits];
	memset(h, 0, sizeof(*h));
	if (!(h->path = strdup(path)))
		return err_nomem(e, "findings");
	if (strmap_put(&a->hitmap, key, (void *)(uintptr_t)(r->nhits + 1), e) < 0) {
		free(h->path);
		return -e->code;
	}
	r->nhits++;
	h->rule = (uint8_t)rule;
	h->layer = layer;
	h->entry = entry;
	h->node = node;
	h->live = live;
	h->detail = detail ? detail : "";
	h->removed_by = -1;
	h->same = same;
	h->at = at;
	return 0;
}

/* The first hit at node i, or -1. */
static long hits_at(const struct acct *a, uint32_t i)
{
	char key[16];
	void *v;

	if (!a->r->nhits)
		return -1;
	node_key(i, key);
	v = strmap_get(&a->hitmap, key);
	return v ? (long)(uintptr_t)v - 1 : -1;
}

/* The entry present at node i left the view (removed or replaced by the
 * current layer): the hits at i that are live and not yet removed are its. */
static void hits_removed(struct acct *a, uint32_t i)
{
	long k;

	for (k = hits_at(a, i); k >= 0; k = a->r->hits[k].at)
		if (a->r->hits[k].live && a->r->hits[k].removed_by < 0)
			a->r->hits[k].removed_by = a->lr - a->r->layers;
}

/* Entry `entry` of the current layer was applied at node i: its findings' hits are live. */
static void hits_live(struct acct *a, uint32_t i, size_t entry)
{
	size_t layer = (size_t)(a->lr - a->r->layers);
	long k;

	for (k = hits_at(a, i); k >= 0; k = a->r->hits[k].at)
		if (a->r->hits[k].layer == layer && a->r->hits[k].entry == entry)
			a->r->hits[k].live = true;
}

static int perm_hit(struct acct *a, enum risk_rule rule, const struct fentry *f, size_t entry, uint32_t node,
		    struct strata_err *e)
{
	return hit_add(a, rule, (size_t)(a->lr - a->r->layers), entry, node, f->path, rule == RISK_SETUID ? "setuid"
		       : rule == RISK_SETGID ? "setgid" : "world-writable", true, e);
}

static int top_add(struct layer_report *lr, const struct fentry *f, struct strata_err *e)
{
	size_t i = lr->n_largest < REPORT_TOP ? lr->n_largest++ : REPORT_TOP - 1;
	char *p;

	if (i == REPORT_TOP - 1 && lr->n_largest == REPORT_TOP && lr->largest[i].size >= f->size &&
	    lr->largest[i].path)
		return 0;
	if (!(p = strdup(f->path)))
		return err_nomem(e, "report");
	free(lr->largest[i].path);
	lr->largest[i].path = p;
	lr->largest[i].size = f->size;
	lr->largest[i].mode = f->mode;
	while (i > 0 && lr->largest[i - 1].size < lr->largest[i].size) {
		struct path_size t = lr->largest[i - 1];

		lr->largest[i - 1] = lr->largest[i];
		lr->largest[i] = t;
		i--;
	}
	return 0;
}

/* An entry left the view: its bytes are wasted, charged to the layer that
 * wrote it; what an opaque directory or a replaced directory removes counts
 * as deleted by the layer that removed it (dive counts each such path). */
static void gone(void *ctx, const void *data, uint32_t node, uint8_t type, int layer, enum lfs_cause why)
{
	struct acct *a = ctx;
	uint64_t size = cur_size(a, node, type);

	(void)data;
	a->r->layers[layer].bytes_wasted += size;
	a->gone += size;
	hits_removed(a, node);
	if (why == LFS_BY_WHITEOUT || type == TAR_DIR)
		return;
	a->lr->deleted++;
	if (why == LFS_BY_OPAQUE && a->rc == 0)
		a->rc = occur(a, node, size, a->e);
}

static int entry(void *ctx, const struct fentry *f, size_t i, int applied, const struct lfs_prev *prev,
		 struct strata_err *e)
{
	struct acct *a = ctx;
	struct layer_report *lr = a->lr;
	bool was = prev->present && !prev->implied;  /* an entry was there, not only a parent directory */
	uint32_t node;
	int rc = a->rc;

	if (rc < 0)
		return rc;
	if (f->flags & FE_WHITEOUT) {
		lr->deleted++;
		rc = occur(a, node_of(a, f, prev, e), a->gone, e);
		a->gone = 0;
		return rc;
	}
	a->gone = 0;
	if ((f->flags & FE_OPAQUE) || !applied)
		return 0;
	if ((node = node_of(a, f, prev, e)) == NTREE_NONE)
		return -e->code;
	if (was) {
		/* what was there leaves: its bytes are wasted */
		a->r->layers[prev->layer].bytes_wasted += cur_size(a, node, prev->type);
		hits_removed(a, node);
	}
	while (a->fnext < a->fend && a->fnext->entry < i)
		a->fnext++;
	if (a->fnext < a->fend && a->fnext->entry == i)
		hits_live(a, node, i);  /* the entry's findings are in the view now */
	if (f->type == TAR_DIR) {
		if ((f->mode & 0002) && !(f->mode & 01000)) {
			if ((rc = perm_hit(a, RISK_WORLD_WRITABLE, f, i, node, e)) < 0)
				return rc;
			return list_add(&lr->world_writable, f, e);
		}
		return 0;
	}
	if (was)
		lr->modified++;
	else
		lr->added++;
	lr->bytes_added += f->size;
	if ((rc = occur(a, node, f->size, e)) < 0)
		return rc;
	if (f->type == TAR_FILE) {
		rc = top_add(lr, f, e);
		if (rc == 0 && (f->mode & 04000))
			rc = perm_hit(a, RISK_SETUID, f, i, node, e) < 0 ? -e->code : list_add(&lr->setuid, f, e);
		if (rc == 0 && (f->mode & 02000))
			rc = perm_hit(a, RISK_SETGID, f, i, node, e) < 0 ? -e->code : list_add(&lr->setgid, f, e);
	}
	if (rc == 0 && f->type != TAR_SYMLINK && (f->mode & 0002))
		rc = perm_hit(a, RISK_WORLD_WRITABLE, f, i, node, e) < 0 ? -e->code : list_add(&lr->world_writable, f, e);
	if (rc == 0 && (f->type == TAR_CHAR || f->type == TAR_BLOCK))
		rc = list_add(&lr->devices, f, e);
	return rc;
}

static void count_file(void *ctx, const void *data, uint8_t type, int layer)
{
	(void)data;
	(void)layer;
	((struct image_report *)ctx)->files += type != TAR_DIR;
}

static int cmp_ineff(const void *x, const void *y)
{
	const struct inefficiency *a = x, *b = y;

	if (a->cumulative != b->cumulative)
		return a->cumulative < b->cumulative ? 1 : -1;
	return strcmp(a->path, b->path);
}

/* Attach config history lines to layers: empty_layer entries go before the next layer. */
static int align_history(struct image_report *r, struct strata_err *e)
{
	const cJSON *h = json_get(r->im->config_json, "history"), *it;
	size_t li = 0, n = (size_t)cJSON_GetArraySize(h);
	const char **pending = n ? calloc(n, sizeof(*pending)) : NULL;
	size_t np = 0;

	if (n && !pending)
		return err_nomem(e, "history");
	cJSON_ArrayForEach(it, h) {
		const char *cb = json_str(it, "created_by");
		const cJSON *empty = json_get(it, "empty_layer");

		if (cJSON_IsTrue(empty) || li >= r->nlayers) {
			pending[np++] = cb ? cb : "";
			continue;
		}
		r->layers[li].created_by = cb ? cb : "";
		if (np) {
			r->layers[li].empty_before = malloc(np * sizeof(char *));
			if (!r->layers[li].empty_before) {
				free(pending);
				return err_nomem(e, "history");
			}
			memcpy(r->layers[li].empty_before, pending, np * sizeof(char *));
			r->layers[li].n_empty_before = np;
			np = 0;
		}
		li++;
	}
	if (np) {
		r->trailing_history = pending;
		r->n_trailing = np;
	} else {
		free(pending);
	}
	return 0;
}

int analyze_image(const struct image *im, struct image_report *r, struct strata_err *e)
{
	struct acct a = { 0 };
	struct lfs_events ev = { &a, gone, NULL, true };
	struct lfs *v = NULL;
	size_t li, i;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->im = im;
	a.r = r;
	a.e = e;
	if (im->nlayers && !(r->layers = calloc(im->nlayers, sizeof(*r->layers))))
		return err_nomem(e, "report");
	r->nlayers = im->nlayers;  /* only now: image_report_release() walks them */
	if ((rc = lfs_new(&v, &ev, e)) < 0)
		return rc;
	a.v = v;
	page_arr_init(&a.seen, lfs_pool(v));
	for (li = 0; li < im->nlayers && rc == 0; li++) {
		struct layer_report *lr = &r->layers[li];
		const struct layer_files *lf = im->layers[li].m ? im->layers[li].m->walk : NULL;

		lr->layer = &im->layers[li];
		lr->lf = lf;
		if (!lf || !lf->risk_scanned)
			r->risk_unscanned++;
		if (!lf)
			continue;
		/* the layer's own findings, before stacking it: what it replaces of itself is seen */
		for (i = 0; i < lf->nfindings && rc == 0; i++) {
			const char *path = layer_files_name(lf, lf->findings[i].entry);
			uint32_t node = lfs_node(v, path ? path : ".", true, e);

			rc = node == NTREE_NONE ? -e->code
			     : hit_add(&a, (enum risk_rule)lf->findings[i].rule, li, lf->findings[i].entry, node,
				       path ? path : "", lf->findings[i].detail, false, e);
		}
		a.fnext = a.fend = lf->findings;
		if (lf->nfindings)  /* NULL + 0 is undefined */
			a.fend += lf->nfindings;
		r->hits_dropped += lf->findings_dropped;
		if (rc < 0)
			break;
		r->size += lf->file_bytes;
		if (li > 0)
			r->user_size += lf->file_bytes;
		a.lr = lr;
		if ((rc = layer_files_apply(v, lf, (int)li, NULL, entry, &a, e)) < 0)
			break;
	}
	/* final filesystem and dive's numbers */
	lfs_each(v, count_file, r);
	if (rc == 0)
		rc = lfs_check(v, e);
	if (rc == 0) {
		uint64_t min = 0, cum = 0;

		for (i = 0; i < nseen(&a); i++)
			if (seen_at(&a, (uint32_t)i)->how == SEEN_ONCE || seen_at(&a, (uint32_t)i)->how == SEEN_BIG) {
				min += once_size(&a, (uint32_t)i);
				cum += once_size(&a, (uint32_t)i);
			}
		for (i = 0; i < a.neffs; i++) {
			min += a.effs[i].min;
			cum += a.effs[i].cum;
		}
		r->efficiency = cum ? (double)min / (double)cum : 1.0;
		if (a.neffs && !(r->ineff = calloc(a.neffs, sizeof(*r->ineff))))
			rc = err_nomem(e, "report");
		for (i = 0; rc == 0 && i < a.neffs; i++) {
			const struct eff *f = &a.effs[i];
			char buf[LFS_PATH_MAX], *p;
			size_t n;

			if ((n = lfs_pathname(v, f->node, buf, sizeof(buf))) < sizeof(buf)) {
				p = strdup(buf);
			} else if ((p = malloc(n + 1)) && lfs_pathname(v, f->node, p, n + 1) > n) {
				free(p);  /* n is at least the length: it fits in n + 1 */
				p = NULL;
			}
			if (!p) {
				rc = err_nomem(e, "report");
				break;
			}
			r->ineff[r->nineff].path = p;
			r->ineff[r->nineff].count = f->count;
			r->ineff[r->nineff].cumulative = f->cum;
			r->wasted += f->cum;
			r->nineff++;
		}
		if (r->nineff > 1)
			qsort(r->ineff, r->nineff, sizeof(*r->ineff), cmp_ineff);
		r->user_wasted_percent = r->user_size ? (double)r->wasted / (double)r->user_size : 0.0;
	}
	free(a.effs);
	free(a.big);
	page_arr_release(&a.seen);
	strmap_release(&a.hitmap);
	lfs_free(v);
	if (rc == 0)
		rc = align_history(r, e);
	if (rc == 0)
		rc = analyze_packages(r, e);
	return rc;
}

static void free_list(struct list *l)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		free(l->v[i].path);
	free(l->v);
}

void image_report_release(struct image_report *r)
{
	size_t i, k;

	for (i = 0; i < r->nlayers; i++) {
		struct layer_report *lr = &r->layers[i];

		free_list(&lr->setuid);
		free_list(&lr->setgid);
		free_list(&lr->world_writable);
		free_list(&lr->devices);
		for (k = 0; k < lr->n_largest; k++)
			free(lr->largest[k].path);
		free(lr->pkgs);
		free(lr->empty_before);
	}
	for (i = 0; i < r->nineff; i++)
		free(r->ineff[i].path);
	for (i = 0; i < r->nhits; i++)
		free(r->hits[i].path);
	free(r->layers);
	free(r->hits);
	free(r->ineff);
	free(r->trailing_history);
	memset(r, 0, sizeof(*r));
}
