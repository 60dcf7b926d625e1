/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What rtd_amp_rproc records for the board bring-up self-test (ampctl
 * selftest, docs/bring-up.md) and the firmware's boot stamp in the control
 * page (docs/kernel.md "Control page"; the offsets are CTRL_ST_* of the
 * generated rtd_amp_ctrl.h, rtd-amp-rt's selftest.rs writes them).
 */
#ifndef RTD_AMP_SELFTEST_H
#define RTD_AMP_SELFTEST_H

#include <linux/types.h>

/* The last start: what PSCI said and how long the firmware took. */
struct rtd_amp_boot {
	unsigned long psci_version;	/* PSCI_VERSION at probe */
	bool started;			/* a CPU_ON was issued */
	long affinity;			/* AFFINITY_INFO just before it */
	long cpu_on;			/* CPU_ON's return code */
	s64 stamp_us;			/* CPU_ON to the stamp, -1: none */
	u64 cpu_on_cnt;			/* Linux's counter at CPU_ON */
};

#endif
