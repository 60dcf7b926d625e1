/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the rtd-amp mailbox and remoteproc drivers.
 */
#ifndef __RTD_AMP_H
#define __RTD_AMP_H

#include <linux/of.h>

/*
 * MPIDR of a cpu node, from its reg. of_get_cpu_hwid() does the same but
 * is not exported to modules.
 */
static inline u64 rtd_amp_cpu_hwid(struct device_node *cpu)
{
	const __be32 *reg;
	int len, ac;

	reg = of_get_property(cpu, "reg", &len);
	ac = of_n_addr_cells(cpu);
	if (!reg || len < ac * (int)sizeof(*reg))
		return ~0ULL;
	return of_read_number(reg, ac);
}

#endif /* __RTD_AMP_H */
