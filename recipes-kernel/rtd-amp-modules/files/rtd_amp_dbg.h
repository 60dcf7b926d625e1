/* SPDX-License-Identifier: GPL-2.0 */
/*
 * State of the debug build's doorbell ping (rtd_amp_dbg.c), part of
 * struct rtd_amp_rproc only with RTD_AMP_DEBUG.
 */
#ifndef __RTD_AMP_DBG_H
#define __RTD_AMP_DBG_H

#include <linux/completion.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct rtd_amp_ping {
	struct mutex lock;	/* one run at a time; guards the results */
	struct completion done;	/* the firmware acknowledged expect */
	u32 seq;		/* last sequence number sent */
	u32 expect;		/* awaited sequence number, 0: none */
	/* The last run: pings, lost ones, round trips in ns. */
	u32 n, lost;
	u64 min, p50, p99, max;
};

#endif /* __RTD_AMP_DBG_H */
