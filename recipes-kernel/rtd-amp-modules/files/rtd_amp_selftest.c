// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs remoteprocN/rtd_amp_boot (root only): what the board bring-up
 * self-test (ampctl selftest, docs/bring-up.md) needs from the kernel side:
 * PSCI version and conduit, AFFINITY_INFO before the last CPU_ON, its
 * return code, the time from CPU_ON to the firmware's control-page stamp,
 * Linux's counter at CPU_ON and CNTFRQ, and the stamp itself. Included by
 * rtd_amp_rproc.c.
 */

static int rtd_amp_boot_show(struct seq_file *s, void *unused)
{
	struct rtd_amp_rproc *ddata = s->private;
	struct rtd_amp_boot *b = &ddata->boot;
	void __iomem *ctrl = ddata->ctrl;

	seq_printf(s, "psci_version: %lu.%lu\n",
		   PSCI_VERSION_MAJOR(b->psci_version),
		   PSCI_VERSION_MINOR(b->psci_version));
	seq_printf(s, "conduit: %s\n", ddata->hvc ? "hvc" : "smc");
	seq_printf(s, "mpidr: %#llx\n", ddata->mpidr);
	seq_printf(s, "started: %d\n", b->started);
	seq_printf(s, "affinity_before_cpu_on: %ld\n", b->affinity);
	seq_printf(s, "cpu_on_ret: %ld\n", b->cpu_on);
	seq_printf(s, "cpu_on_to_stamp_us: %lld\n", b->stamp_us);
	seq_printf(s, "cpu_on_counter: %llu\n", b->cpu_on_cnt);
	seq_printf(s, "linux_cntfrq: %u\n", arch_timer_get_cntfrq());
	seq_printf(s, "linux_counter: %llu\n", arch_timer_read_counter());
	if (readl(ctrl + CTRL_ST_MAGIC) != CTRL_ST_MAGIC_VALUE) {
		seq_puts(s, "stamp: none\n");
		return 0;
	}
	seq_puts(s, "stamp: STMP\n");
	seq_printf(s, "fw_entry_el: %u\n", readl(ctrl + CTRL_ST_ENTRY_EL));
	seq_printf(s, "fw_sgi: %u\n", readl(ctrl + CTRL_ST_SGI));
	seq_printf(s, "fw_spi_intid: %u\n", readl(ctrl + CTRL_ST_SPI));
	seq_printf(s, "fw_cntfrq: %llu\n", readq(ctrl + CTRL_ST_CNTFRQ));
	seq_printf(s, "fw_entry_counter: %llu\n", readq(ctrl + CTRL_ST_ENTRY_CNT));
	seq_printf(s, "fw_window: %#llx\n", readq(ctrl + CTRL_ST_WINDOW));
	seq_printf(s, "fw_mpidr: %#llx\n", readq(ctrl + CTRL_ST_MPIDR));
	seq_printf(s, "fw_sgis_received: %llu\n", readq(ctrl + CTRL_ST_SGIS));
	seq_printf(s, "fw_spis_raised: %llu\n", readq(ctrl + CTRL_ST_SPIS));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rtd_amp_boot);
