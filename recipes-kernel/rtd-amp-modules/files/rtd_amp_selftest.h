/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What rtd_amp_rproc records for the board bring-up self-test (ampctl
 * selftest, docs/bring-up.md) and the firmware's boot stamp in the control
 * page (docs/kernel.md "Control page"; rtd-amp-rt's selftest.rs writes it,
 * its host test pins the offsets).
 */
#ifndef RTD_AMP_SELFTEST_H
#define RTD_AMP_SELFTEST_H

#include <linux/types.h>

#define CTRL_ST_ENTRY_EL	0x200	/* u32 CurrentEL.EL at entry */
#define CTRL_ST_SGI		0x204	/* u32 doorbell SGI it takes */
#define CTRL_ST_SPI		0x208	/* u32 doorbell INTID it raises */
#define CTRL_ST_MAGIC		0x20c	/* u32 "STMP", written last */
#define CTRL_ST_CNTFRQ		0x210	/* u64 CNTFRQ_EL0 */
#define CTRL_ST_ENTRY_CNT	0x218	/* u64 CNTPCT_EL0 at entry */
#define CTRL_ST_WINDOW		0x220	/* u64 AMP window base */
#define CTRL_ST_MPIDR		0x228	/* u64 MPIDR_EL1 */
#define CTRL_ST_SGIS		0x230	/* u64 doorbell SGIs received */
#define CTRL_ST_SPIS		0x238	/* u64 doorbell SPIs raised */
#define CTRL_ST_MAGIC_VALUE	0x504d5453	/* "STMP" */

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
