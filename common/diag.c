/* diag.c - problem list; see diag.h. */
#include "diag.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void add(struct diag *d, enum severity sev, int code, const char *id, const char *member, const char *fmt,
		va_list ap) __attribute__((format(printf, 6, 0)));

void diag_add(struct diag *d, enum severity sev, int code, const char *member, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, sev, code, PROBLEM_OTHER, member, fmt, ap);
	va_end(ap);
}

void diag_add_id(struct diag *d, enum severity sev, int code, const char *id, const char *member, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, sev, code, id, member, fmt, ap);
	va_end(ap);
}

static void add(struct diag *d, enum severity sev, int code, const char *id, const char *member, const char *fmt,
		va_list ap)
{
	char msg[STRATA_ERR_MAX];
	struct problem *p;
	char *s;

	if (d->len >= d->max) {
		d->dropped++;
		return;
	}
	if (array_grow(&d->v, d->len, &d->alloc, sizeof(*d->v), 16) < 0) {
		d->dropped++;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (s = msg; *s; s++)
		if ((unsigned char)*s < 0x20)
			*s = '?';
	p = &d->v[d->len];
	p->sev = sev;
	p->code = code;
	p->id = id ? id : PROBLEM_OTHER;
	p->member = strdup(member ? member : "");
	p->msg = strdup(msg);
	if (!p->member || !p->msg) {
		free(p->member);
		free(p->msg);
		d->dropped++;
		return;
	}
	for (s = p->member; *s; s++)
		if ((unsigned char)*s < 0x20)
			*s = '?';
	d->len++;
}

int diag_exit_code(const struct diag *d)
{
	bool fmt = false, io = false, ver = false;
	size_t i;

	for (i = 0; i < d->len; i++) {
		if (d->v[i].sev != SEV_ERROR)
			continue;
		fmt |= d->v[i].code == STRATA_EFORMAT;
		io |= d->v[i].code == STRATA_EIO;
		ver |= d->v[i].code == STRATA_EVERIFY;
	}
	return ver ? STRATA_EVERIFY : fmt ? STRATA_EFORMAT : io ? STRATA_EIO : 0;
}

size_t diag_count(const struct diag *d, enum severity sev)
{
	size_t i, n = 0;

	for (i = 0; i < d->len; i++)
		n += d->v[i].sev == sev;
	return n;
}

void diag_truncate(struct diag *d, size_t len, size_t dropped)
{
	while (d->len > len) {
		d->len--;
		free(d->v[d->len].member);
		free(d->v[d->len].msg);
	}
	d->dropped = dropped;
}

void diag_move(struct diag *to, struct diag *from)
{
	size_t i;

	for (i = 0; i < from->len; i++) {
		if (to->len < to->max)
			(void)array_grow(&to->v, to->len, &to->alloc, sizeof(*to->v), 16);  /* else: dropped below */
		if (to->len < to->alloc && to->len < to->max) {
			to->v[to->len++] = from->v[i];
			continue;
		}
		to->dropped++;
		free(from->v[i].member);
		free(from->v[i].msg);
	}
	to->dropped += from->dropped;
	free(from->v);
	from->v = NULL;
	from->len = from->alloc = from->dropped = 0;
}

void diag_release(struct diag *d)
{
	size_t i;

	for (i = 0; i < d->len; i++) {
		free(d->v[i].member);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->len = d->alloc = 0;
}

void diag_settle(struct diag *d, bool strict)
{
	struct problem *v;
	size_t i, n = 0;

	for (i = 0; strict && i < d->len; i++)
		d->v[i].sev = SEV_ERROR;
	if (d->len < 2 || !(v = malloc(d->len * sizeof(*v))))
		return;  /* the order is only cosmetic: keep it when memory is short */
	for (i = 0; i < d->len; i++)
		if (d->v[i].sev == SEV_ERROR && d->v[i].code == STRATA_EVERIFY)
			v[n++] = d->v[i];
	for (i = 0; i < d->len; i++)
		if (!(d->v[i].sev == SEV_ERROR && d->v[i].code == STRATA_EVERIFY))
			v[n++] = d->v[i];
	memcpy(d->v, v, d->len * sizeof(*v));
	free(v);
}
