/*
 * split.c - convert --split SIZE: the archive written as pieces OUT.000,
 * OUT.001, ... (common/pieces.h) with its transfer manifest (transfer.h).
 *
 * The sink writes the tar as a stream (as to stdout: a blob's header goes
 * first when its digest and size are known, else the blob is spooled), into
 * the piece writer, which cuts and hashes it; so there is never a whole
 * archive on disk, and the pieces are never read again to be hashed.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fsutil.h"
#include "common/pieces.h"
#include "convert/conv.h"
#include "convert/convert.h"
#include "convert/transfer.h"

int conv_open_split(struct conv *c, const struct ref *dref, const char *src, uint64_t size, struct pieces_writer **pw,
		    struct strata_err *e)
{
	struct ref sref;
	struct stat st;
	int fd, r;

	*pw = NULL;
	c->dst_path = dref->path;
	if (!strcmp(dref->path, "-") || (stat(dref->path, &st) == 0 && !S_ISREG(st.st_mode)))
		return err_set(e, STRATA_EUSAGE, "--split writes pieces NAME.000, NAME.001, ... beside a file name, not "
			       "into '%s'", dref->path);
	if ((r = ref_parse(src, &sref, e)) < 0)
		return r;
	r = output_not_source(sref.path, dref->path, e);
	ref_release(&sref);
	if (r < 0 || (r = pieces_writer_open(pw, dref->path, size, &fd, e)) < 0)
		return r;
	if ((r = sink_open_stream(&c->sink, fd, dref->path, e)) < 0) {
		pieces_writer_free(*pw, false);
		*pw = NULL;
	}
	return r;
}

int conv_split_done(struct pieces_writer *pw, const char *out, const char *format, const struct out_set *set,
		    const struct strmap *expected, struct strata_err *e)
{
	struct pieces pc;
	int r;

	if ((r = pieces_writer_finish(pw, &pc, e)) < 0)
		return r;
	if ((r = pieces_writer_commit(pw, e)) == 0)
		r = transfer_write_pieces(out, format, set, &pc, expected, e);
	pieces_release(&pc);
	return r;
}
