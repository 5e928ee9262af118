/*
 * cancel.h - cooperative cancellation.  The CLI's SIGINT/SIGTERM handler
 * sets strata_cancel; reads and writes check it and fail with "interrupted",
 * so every run unwinds through its normal error path (temp files removed,
 * destination untouched).
 */
#ifndef STRATA_CANCEL_H
#define STRATA_CANCEL_H

#include <signal.h>

extern volatile sig_atomic_t strata_cancel;

#endif
