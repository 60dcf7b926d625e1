// SPDX-License-Identifier: GPL-2.0
/*
 * Remote processor driver for a Cortex-A55 core that Linux leaves offline
 * (CPU3 of the Realtek RTD1619B) and that runs a bare-metal firmware.
 *
 * The firmware ELF is loaded into reserved-memory carveouts with the
 * rproc_elf_* helpers; the core is started with PSCI CPU_ON and stopped by
 * asking the firmware to call PSCI CPU_OFF itself (PSCI cannot power off
 * another core), then polling AFFINITY_INFO. Doorbells go through the
 * rtd-amp mailbox. A control page shared with the firmware carries the stop
 * request and, after a fault, the firmware's crash record.
 */

#include <linux/arm-smccc.h>
#include <linux/cpuhotplug.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/elf.h>
#include <linux/io.h>
#include <linux/ktime.h>
#include <linux/mailbox_client.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>
#include <linux/platform_device.h>
#include <linux/psci.h>
#include <uapi/linux/psci.h>
#include <linux/remoteproc.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "remoteproc_internal.h"
#include "rtd_amp.h"

#define RTD_AMP_FW_DEFAULT	"rtd-amp/rtd-amp-fw.elf"
/* The remoteproc `name` attribute tools look for, whatever the DT node is called. */
#define RTD_AMP_RPROC_NAME	"rtd-amp"
#define RTD_AMP_STOP_TIMEOUT_MS	1000
#define RTD_AMP_BOOT_TIMEOUT_MS	500
#define RTD_AMP_CTRL_VERSION	1

/* Control page layout, shared with the firmware (docs/kernel.md). */
#define CTRL_MAGIC		0x00
#define CTRL_VERSION		0x04
#define CTRL_FW_STATE		0x08
#define CTRL_STOP_REQ		0x0c
#define CTRL_CRASH_SEQ		0x10
#define CTRL_CRASH		0x40
#define CTRL_CRASH_KIND		(CTRL_CRASH + 0x00)
#define CTRL_CRASH_ESR		(CTRL_CRASH + 0x08)
#define CTRL_CRASH_ELR		(CTRL_CRASH + 0x10)
#define CTRL_CRASH_FAR		(CTRL_CRASH + 0x18)
#define CTRL_CRASH_SPSR		(CTRL_CRASH + 0x20)
#define CTRL_CRASH_SP		(CTRL_CRASH + 0x28)
#define CTRL_CRASH_X0		(CTRL_CRASH + 0x30)
#define CTRL_CRASH_NR_X		8
#define CTRL_CRASH_MSG		(CTRL_CRASH + 0x70)
#define CTRL_CRASH_MSG_LEN	128
#define CTRL_SIZE		0x1000

#define CTRL_MAGIC_VALUE	0x504d4152	/* "RAMP" */
#define CTRL_STOP_VALUE		0x53544f50	/* "STOP" */

enum rtd_amp_fw_state {
	FW_OFF = 0,
	FW_BOOTING = 1,
	FW_RUNNING = 2,
	FW_CRASHED = 3,
	FW_STOPPING = 4,
};

struct rtd_amp_rproc {
	struct device *dev;
	struct rproc *rproc;
	struct mbox_client cl;
	struct mbox_chan *tx;
	struct mbox_chan *rx;
	void __iomem *ctrl;
	phys_addr_t ctrl_pa;
	u64 mpidr;
	int cpu;
	bool hvc;
	u32 stop_timeout_ms;
	u32 crash_seq;
	struct hlist_node cpuhp;
};

/* Dynamic CPU hotplug state that keeps Linux off a core running firmware. */
static enum cpuhp_state rtd_amp_cpuhp_state;

static unsigned long rtd_amp_psci(struct rtd_amp_rproc *ddata, u32 fn,
				  u64 a1, u64 a2, u64 a3)
{
	struct arm_smccc_res res;

	/*
	 * The conduit comes from the DT /psci method: firmware that reports
	 * SMCCC 1.0 (QEMU) leaves the SMCCC 1.1 conduit helpers unusable.
	 */
	if (ddata->hvc)
		arm_smccc_hvc(fn, a1, a2, a3, 0, 0, 0, 0, &res);
	else
		arm_smccc_smc(fn, a1, a2, a3, 0, 0, 0, 0, &res);
	return res.a0;
}

static const char *rtd_amp_psci_err(long ret)
{
	switch (ret) {
	case PSCI_RET_NOT_SUPPORTED:
		return "not supported";
	case PSCI_RET_INVALID_PARAMS:
		return "invalid parameters";
	case PSCI_RET_DENIED:
		return "denied";
	case PSCI_RET_ALREADY_ON:
		return "core already on";
	case PSCI_RET_ON_PENDING:
		return "power-on already pending";
	case PSCI_RET_INTERNAL_FAILURE:
		return "internal failure";
	case PSCI_RET_INVALID_ADDRESS:
		return "invalid entry address";
	default:
		return "unknown error";
	}
}

static long rtd_amp_affinity(struct rtd_amp_rproc *ddata)
{
	return (long)rtd_amp_psci(ddata, PSCI_0_2_FN64_AFFINITY_INFO,
				  ddata->mpidr, 0, 0);
}

/*
 * Runs on a Linux cpu before it brings @cpu up. Refuse while our firmware
 * owns the core: PSCI would fail the CPU_ON anyway, with a less clear
 * message, and the firmware keeps running either way. Not -EBUSY: the
 * sysfs online path retries that for over half a second.
 */
static int rtd_amp_cpu_prepare(unsigned int cpu, struct hlist_node *node)
{
	struct rtd_amp_rproc *ddata = hlist_entry(node, struct rtd_amp_rproc,
						  cpuhp);
	long aff;

	if (cpu != ddata->cpu)
		return 0;
	aff = rtd_amp_affinity(ddata);
	if (aff == PSCI_0_2_AFFINITY_LEVEL_OFF)
		return 0;
	dev_err(ddata->dev, "cpu%u runs the firmware of %s (AFFINITY_INFO %ld): stop it before bringing the cpu online\n",
		cpu, dev_name(&ddata->rproc->dev), aff);
	return -EPERM;
}

static void rtd_amp_cpuhp_remove(void *data)
{
	struct rtd_amp_rproc *ddata = data;

	cpuhp_state_remove_instance_nocalls(rtd_amp_cpuhp_state, &ddata->cpuhp);
}

static int rtd_amp_mem_alloc(struct rproc *rproc, struct rproc_mem_entry *mem)
{
	void __iomem *va;

	/* Normal non-cacheable, matching the firmware's view of the rings. */
	va = ioremap_wc(mem->dma, mem->len);
	if (!va) {
		dev_err(&rproc->dev, "cannot map carveout %s at %pad (%zu bytes)\n",
			mem->name, &mem->dma, mem->len);
		return -ENOMEM;
	}
	/* The ELF loader and the coredump then use the _io accessors. */
	mem->va = (__force void *)va;
	mem->is_iomem = true;
	return 0;
}

static int rtd_amp_mem_release(struct rproc *rproc, struct rproc_mem_entry *mem)
{
	iounmap((__force void __iomem *)mem->va);
	return 0;
}

/* The control page (with the crash record) goes into the coredump too. */
static void rtd_amp_dump_ctrl(struct rproc *rproc,
			      struct rproc_dump_segment *segment,
			      void *dest, size_t offset, size_t size)
{
	struct rtd_amp_rproc *ddata = rproc->priv;

	if (offset >= CTRL_SIZE)
		return;
	memcpy_fromio(dest, ddata->ctrl + offset,
		      min_t(size_t, size, CTRL_SIZE - offset));
}

/* Undo a partial prepare: nothing is mapped yet, entries are only listed. */
static void rtd_amp_drop_regions(struct rproc *rproc)
{
	struct rproc_dump_segment *seg, *stmp;
	struct rproc_mem_entry *mem, *mtmp;

	list_for_each_entry_safe(mem, mtmp, &rproc->carveouts, node) {
		list_del(&mem->node);
		kfree(mem);
	}
	list_for_each_entry_safe(seg, stmp, &rproc->dump_segments, node) {
		list_del(&seg->node);
		kfree(seg);
	}
}

static int rtd_amp_add_region(struct rproc *rproc, struct device_node *np,
			      struct reserved_mem *rmem, int index)
{
	struct rtd_amp_rproc *ddata = rproc->priv;
	struct rproc_mem_entry *mem;

	if (of_node_name_eq(np, "ctrl"))
		return rproc_coredump_add_custom_segment(rproc, rmem->base,
							 CTRL_SIZE,
							 rtd_amp_dump_ctrl, NULL);

	if (of_node_name_eq(np, "vdev0buffer")) {
		/* Used as a DMA pool by the virtio device, not mapped here. */
		mem = rproc_of_resm_mem_entry_init(ddata->dev, index, rmem->size,
						   rmem->base, np->name);
		if (!mem)
			return -ENOMEM;
		rproc_add_carveout(rproc, mem);
		return 0;
	}

	mem = rproc_mem_entry_init(ddata->dev, NULL, (dma_addr_t)rmem->base,
				   rmem->size, rmem->base, rtd_amp_mem_alloc,
				   rtd_amp_mem_release, np->name);
	if (!mem)
		return -ENOMEM;
	rproc_add_carveout(rproc, mem);
	return rproc_coredump_add_segment(rproc, rmem->base, rmem->size);
}

/*
 * Carveouts are registered on every start, as the core frees them when the
 * processor stops. The device address equals the physical address: the
 * firmware runs with an identity map.
 */
static int rtd_amp_rproc_prepare(struct rproc *rproc)
{
	struct rtd_amp_rproc *ddata = rproc->priv;
	struct device *dev = ddata->dev;
	struct of_phandle_iterator it;
	struct reserved_mem *rmem;
	int index = 0;
	int err;

	of_phandle_iterator_init(&it, dev->of_node, "memory-region", NULL, 0);
	while (of_phandle_iterator_next(&it) == 0) {
		rmem = of_reserved_mem_lookup(it.node);
		if (!rmem) {
			dev_err(dev, "memory-region %d (%pOFn) is not reserved memory\n",
				index, it.node);
			err = -EINVAL;
		} else {
			err = rtd_amp_add_region(rproc, it.node, rmem, index);
		}
		if (err) {
			of_node_put(it.node);
			rtd_amp_drop_regions(rproc);
			return err;
		}
		index++;
	}
	return 0;
}

/*
 * The firmware stamps the control page as its first act. Waiting for that
 * turns a firmware that never runs (wrong entry point, ELF for another
 * board) into a clear dmesg line. Not an error: the core is on and only the
 * firmware can switch it off, so a failed start could not be undone.
 */
static void rtd_amp_wait_boot(struct rtd_amp_rproc *ddata, u64 entry,
			      ktime_t t0)
{
	ktime_t deadline = ktime_add_ms(ktime_get(), RTD_AMP_BOOT_TIMEOUT_MS);
	u32 magic, version, state;

	for (;;) {
		magic = readl(ddata->ctrl + CTRL_MAGIC);
		state = readl(ddata->ctrl + CTRL_FW_STATE);
		if (magic == CTRL_MAGIC_VALUE && state != FW_OFF)
			break;
		if (ktime_after(ktime_get(), deadline)) {
			dev_warn(ddata->dev, "started MPIDR %#llx at %#llx, but no sign of life from the firmware after %d ms (magic %#x, state %u): wrong entry point, or an ELF for another board?\n",
				 ddata->mpidr, entry, RTD_AMP_BOOT_TIMEOUT_MS,
				 magic, state);
			return;
		}
		usleep_range(50, 100);
	}

	version = readl(ddata->ctrl + CTRL_VERSION);
	if (version != RTD_AMP_CTRL_VERSION)
		dev_warn(ddata->dev, "firmware speaks control page version %u, this driver %d\n",
			 version, RTD_AMP_CTRL_VERSION);
	dev_info(ddata->dev, "started MPIDR %#llx at %#llx, firmware up %lld us after CPU_ON\n",
		 ddata->mpidr, entry, ktime_us_delta(ktime_get(), t0));
}

/*
 * The core starts wherever the ELF says: outside our carveout that would be
 * Linux's memory, so refuse such an image before it runs.
 */
static bool rtd_amp_entry_ok(struct rproc *rproc, u64 entry)
{
	struct rproc_mem_entry *mem;

	list_for_each_entry(mem, &rproc->carveouts, node)
		if (!strcmp(mem->name, "firmware"))
			return entry >= mem->da && entry - mem->da < mem->len;
	return false;
}

static int rtd_amp_rproc_start(struct rproc *rproc)
{
	struct rtd_amp_rproc *ddata = rproc->priv;
	struct device *dev = ddata->dev;
	ktime_t t0;
	long ret;

	if (ddata->cpu >= 0 && cpu_online(ddata->cpu)) {
		dev_err(dev, "cpu%d (MPIDR %#llx) is online in Linux: take it offline (echo 0 > /sys/devices/system/cpu/cpu%d/online) or boot with maxcpus=%d\n",
			ddata->cpu, ddata->mpidr, ddata->cpu, ddata->cpu);
		return -EBUSY;
	}

	if (!rtd_amp_entry_ok(rproc, rproc->bootaddr)) {
		dev_err(dev, "entry point %#llx is outside the firmware carveout: not starting the core there\n",
			rproc->bootaddr);
		return -EINVAL;
	}

	ret = rtd_amp_affinity(ddata);
	if (ret != PSCI_0_2_AFFINITY_LEVEL_OFF) {
		dev_err(dev, "MPIDR %#llx is not powered off (AFFINITY_INFO %ld); stop whatever runs there first\n",
			ddata->mpidr, ret);
		return -EBUSY;
	}

	memset_io(ddata->ctrl, 0, CTRL_SIZE);
	ddata->crash_seq = 0;
	/* The firmware reads a clean page as soon as it runs. */
	wmb();

	t0 = ktime_get();
	ret = (long)rtd_amp_psci(ddata, PSCI_0_2_FN64_CPU_ON, ddata->mpidr,
				 rproc->bootaddr, ddata->ctrl_pa);
	if (ret != PSCI_RET_SUCCESS) {
		dev_err(dev, "PSCI CPU_ON(MPIDR %#llx, entry %#llx) failed: %ld (%s)\n",
			ddata->mpidr, rproc->bootaddr, ret, rtd_amp_psci_err(ret));
		return -EIO;
	}
	rtd_amp_wait_boot(ddata, rproc->bootaddr, t0);
	return 0;
}

static void rtd_amp_ring(struct rtd_amp_rproc *ddata)
{
	int err = mbox_send_message(ddata->tx, NULL);

	if (err < 0)
		dev_err(ddata->dev, "doorbell failed: %d\n", err);
	else
		mbox_client_txdone(ddata->tx, 0);
}

static int rtd_amp_rproc_stop(struct rproc *rproc)
{
	struct rtd_amp_rproc *ddata = rproc->priv;
	unsigned long delay_us = 50;
	ktime_t t0, deadline;
	long aff;

	t0 = ktime_get();
	writel(CTRL_STOP_VALUE, ddata->ctrl + CTRL_STOP_REQ);
	rtd_amp_ring(ddata);

	deadline = ktime_add_ms(t0, ddata->stop_timeout_ms);
	for (;;) {
		aff = rtd_amp_affinity(ddata);
		if (aff == PSCI_0_2_AFFINITY_LEVEL_OFF)
			break;
		if (ktime_after(ktime_get(), deadline)) {
			dev_err(ddata->dev, "MPIDR %#llx did not power off within %u ms (AFFINITY_INFO %ld, firmware state %u); the core is left as it is\n",
				ddata->mpidr, ddata->stop_timeout_ms, aff,
				readl(ddata->ctrl + CTRL_FW_STATE));
			return -ETIMEDOUT;
		}
		/* Short first: a healthy firmware is off within microseconds. */
		usleep_range(delay_us, 2 * delay_us);
		delay_us = min(2 * delay_us, 1000UL);
	}
	dev_info(ddata->dev, "stopped MPIDR %#llx, powered off %lld us after the request\n",
		 ddata->mpidr, ktime_us_delta(ktime_get(), t0));
	return 0;
}

static void rtd_amp_rproc_kick(struct rproc *rproc, int vqid)
{
	rtd_amp_ring(rproc->priv);
}

static const char *rtd_amp_crash_kind(u32 kind)
{
	static const char * const kinds[] = {
		[1] = "synchronous exception",
		[2] = "unexpected IRQ",
		[3] = "unexpected FIQ",
		[4] = "SError",
		[5] = "panic",
	};

	if (kind < ARRAY_SIZE(kinds) && kinds[kind])
		return kinds[kind];
	return "unknown";
}

static void rtd_amp_crash_msg(struct rtd_amp_rproc *ddata, char *msg)
{
	memcpy_fromio(msg, ddata->ctrl + CTRL_CRASH_MSG, CTRL_CRASH_MSG_LEN);
	msg[CTRL_CRASH_MSG_LEN - 1] = '\0';
}

static void rtd_amp_report_crash(struct rtd_amp_rproc *ddata)
{
	char msg[CTRL_CRASH_MSG_LEN];
	u32 kind = readl(ddata->ctrl + CTRL_CRASH_KIND);

	rtd_amp_crash_msg(ddata, msg);
	dev_err(ddata->dev, "firmware crashed: kind %u ESR %#llx ELR %#llx FAR %#llx: %s (%s, record %u)\n",
		kind, readq(ddata->ctrl + CTRL_CRASH_ESR),
		readq(ddata->ctrl + CTRL_CRASH_ELR),
		readq(ddata->ctrl + CTRL_CRASH_FAR), msg,
		rtd_amp_crash_kind(kind), ddata->crash_seq);
	rproc_report_crash(ddata->rproc, RPROC_FATAL_ERROR);
}

/* A doorbell from the firmware: a crash report or ring activity. */
static void rtd_amp_rproc_rx(struct mbox_client *cl, void *msg)
{
	struct rtd_amp_rproc *ddata = container_of(cl, struct rtd_amp_rproc, cl);
	u32 seq;

	if (readl(ddata->ctrl + CTRL_FW_STATE) == FW_CRASHED) {
		seq = readl(ddata->ctrl + CTRL_CRASH_SEQ);
		if (seq == ddata->crash_seq)
			return;
		ddata->crash_seq = seq;
		/*
		 * The doorbell for messages the firmware published just
		 * before crashing may be this one: deliver them before the
		 * crash report tears the rings down.
		 */
		rproc_vq_interrupt(ddata->rproc, 0);
		rproc_vq_interrupt(ddata->rproc, 1);
		rtd_amp_report_crash(ddata);
		return;
	}
	/* Notify ids 0 and 1 are the vdev's two vrings. */
	rproc_vq_interrupt(ddata->rproc, 0);
	rproc_vq_interrupt(ddata->rproc, 1);
}

/* The generic ELF checks, plus: this core only runs 64-bit aarch64 code. */
static int rtd_amp_rproc_sanity_check(struct rproc *rproc,
				      const struct firmware *fw)
{
	const struct elf64_hdr *ehdr;
	int ret;

	ret = rproc_elf_sanity_check(rproc, fw);
	if (ret)
		return ret;

	ehdr = (const struct elf64_hdr *)fw->data;
	if (ehdr->e_ident[EI_CLASS] != ELFCLASS64) {
		dev_err(&rproc->dev, "firmware %s is a 32-bit ELF; this core runs ELF64 aarch64 code\n",
			rproc->firmware);
		return -EINVAL;
	}
	if (ehdr->e_machine != EM_AARCH64) {
		dev_err(&rproc->dev, "firmware %s is for machine %u, not aarch64 (EM_AARCH64 = %u)\n",
			rproc->firmware, ehdr->e_machine, EM_AARCH64);
		return -EINVAL;
	}
	return 0;
}

/* Whether a (sanity-checked, ELF64) image has a .resource_table section. */
static bool rtd_amp_has_rsc_table(const struct firmware *fw)
{
	static const char name[] = ".resource_table";
	const struct elf64_hdr *ehdr = (const struct elf64_hdr *)fw->data;
	const struct elf64_shdr *shdr;
	u64 strtab, off;
	unsigned int i;

	if (ehdr->e_shoff > fw->size ||
	    ehdr->e_shnum > (fw->size - ehdr->e_shoff) / sizeof(*shdr) ||
	    ehdr->e_shstrndx >= ehdr->e_shnum)
		return false;
	shdr = (const struct elf64_shdr *)(fw->data + ehdr->e_shoff);
	strtab = shdr[ehdr->e_shstrndx].sh_offset;
	for (i = 0; i < ehdr->e_shnum; i++) {
		off = strtab + shdr[i].sh_name;
		if (strtab > fw->size || off > fw->size - sizeof(name))
			continue;
		if (!memcmp(fw->data + off, name, sizeof(name)))
			return true;
	}
	return false;
}

/*
 * The resource table is mandatory: it declares the vdev and its rings. The
 * generic helper fails without a word when the section is missing.
 */
static int rtd_amp_rproc_parse_fw(struct rproc *rproc, const struct firmware *fw)
{
	int ret = rproc_elf_load_rsc_table(rproc, fw);

	if (ret && !rtd_amp_has_rsc_table(fw))
		dev_err(&rproc->dev, "firmware %s has no .resource_table section (not an rtd-amp firmware?)\n",
			rproc->firmware);
	return ret;
}

static const struct rproc_ops rtd_amp_rproc_ops = {
	.prepare = rtd_amp_rproc_prepare,
	.start = rtd_amp_rproc_start,
	.stop = rtd_amp_rproc_stop,
	.kick = rtd_amp_rproc_kick,
	.load = rproc_elf_load_segments,
	.parse_fw = rtd_amp_rproc_parse_fw,
	.find_loaded_rsc_table = rproc_elf_find_loaded_rsc_table,
	.sanity_check = rtd_amp_rproc_sanity_check,
	.get_boot_addr = rproc_elf_get_boot_addr,
};

/* debugfs remoteprocN/rtd_amp_ctrl: the control page, decoded. */
static int rtd_amp_ctrl_show(struct seq_file *s, void *unused)
{
	struct rtd_amp_rproc *ddata = s->private;
	void __iomem *ctrl = ddata->ctrl;
	char msg[CTRL_CRASH_MSG_LEN];
	u32 kind;
	int i;

	seq_printf(s, "magic: %#010x%s\n", readl(ctrl + CTRL_MAGIC),
		   readl(ctrl + CTRL_MAGIC) == CTRL_MAGIC_VALUE ? " (RAMP)" : "");
	seq_printf(s, "version: %u\n", readl(ctrl + CTRL_VERSION));
	seq_printf(s, "fw_state: %u\n", readl(ctrl + CTRL_FW_STATE));
	seq_printf(s, "stop_req: %#010x\n", readl(ctrl + CTRL_STOP_REQ));
	seq_printf(s, "crash_seq: %u\n", readl(ctrl + CTRL_CRASH_SEQ));
	if (!readl(ctrl + CTRL_CRASH_SEQ))
		return 0;

	kind = readl(ctrl + CTRL_CRASH_KIND);
	seq_printf(s, "crash_kind: %u (%s)\n", kind, rtd_amp_crash_kind(kind));
	seq_printf(s, "esr: %#018llx\n", readq(ctrl + CTRL_CRASH_ESR));
	seq_printf(s, "elr: %#018llx\n", readq(ctrl + CTRL_CRASH_ELR));
	seq_printf(s, "far: %#018llx\n", readq(ctrl + CTRL_CRASH_FAR));
	seq_printf(s, "spsr: %#018llx\n", readq(ctrl + CTRL_CRASH_SPSR));
	seq_printf(s, "sp: %#018llx\n", readq(ctrl + CTRL_CRASH_SP));
	for (i = 0; i < CTRL_CRASH_NR_X; i++)
		seq_printf(s, "x%d: %#018llx\n", i,
			   readq(ctrl + CTRL_CRASH_X0 + 8 * i));
	rtd_amp_crash_msg(ddata, msg);
	seq_printf(s, "message: %s\n", msg);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rtd_amp_ctrl);

static int rtd_amp_psci_conduit(struct device *dev, bool *hvc)
{
	struct device_node *np;
	const char *method;
	int ret;

	np = of_find_compatible_node(NULL, NULL, "arm,psci-1.0");
	if (!np)
		np = of_find_compatible_node(NULL, NULL, "arm,psci-0.2");
	if (!np)
		return dev_err_probe(dev, -ENODEV, "no PSCI 0.2+ node in the device tree\n");
	ret = of_property_read_string(np, "method", &method);
	of_node_put(np);
	if (ret)
		return dev_err_probe(dev, ret, "PSCI node has no method\n");
	if (!strcmp(method, "hvc"))
		*hvc = true;
	else if (!strcmp(method, "smc"))
		*hvc = false;
	else
		return dev_err_probe(dev, -EINVAL, "unknown PSCI method '%s'\n", method);
	return 0;
}

static int rtd_amp_map_ctrl(struct rtd_amp_rproc *ddata)
{
	struct device *dev = ddata->dev;
	struct of_phandle_iterator it;
	struct reserved_mem *rmem;

	of_phandle_iterator_init(&it, dev->of_node, "memory-region", NULL, 0);
	while (of_phandle_iterator_next(&it) == 0) {
		if (!of_node_name_eq(it.node, "ctrl"))
			continue;
		rmem = of_reserved_mem_lookup(it.node);
		of_node_put(it.node);
		if (!rmem || rmem->size < CTRL_SIZE)
			return dev_err_probe(dev, -EINVAL,
					     "ctrl region missing or smaller than %d bytes\n",
					     CTRL_SIZE);
		ddata->ctrl_pa = rmem->base;
		ddata->ctrl = devm_ioremap_wc(dev, rmem->base, CTRL_SIZE);
		if (!ddata->ctrl)
			return dev_err_probe(dev, -ENOMEM, "cannot map the ctrl page\n");
		return 0;
	}
	return dev_err_probe(dev, -EINVAL, "no memory-region named ctrl\n");
}

static void rtd_amp_free_mbox(void *data)
{
	struct rtd_amp_rproc *ddata = data;

	mbox_free_channel(ddata->tx);
	mbox_free_channel(ddata->rx);
}

static int rtd_amp_request_mbox(struct rtd_amp_rproc *ddata)
{
	struct device *dev = ddata->dev;

	ddata->cl.dev = dev;
	ddata->cl.rx_callback = rtd_amp_rproc_rx;
	ddata->cl.knows_txdone = true;

	ddata->tx = mbox_request_channel_byname(&ddata->cl, "tx");
	if (IS_ERR(ddata->tx))
		return dev_err_probe(dev, PTR_ERR(ddata->tx), "no tx mailbox\n");
	ddata->rx = mbox_request_channel_byname(&ddata->cl, "rx");
	if (IS_ERR(ddata->rx)) {
		mbox_free_channel(ddata->tx);
		return dev_err_probe(dev, PTR_ERR(ddata->rx), "no rx mailbox\n");
	}
	return devm_add_action_or_reset(dev, rtd_amp_free_mbox, ddata);
}

static int rtd_amp_rproc_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct device_node *np = dev->of_node;
	const char *fw_name = RTD_AMP_FW_DEFAULT;
	struct rtd_amp_rproc *ddata;
	struct device_node *cpu;
	struct rproc *rproc;
	int ret;

	of_property_read_string(np, "firmware-name", &fw_name);
	rproc = devm_rproc_alloc(dev, RTD_AMP_RPROC_NAME, &rtd_amp_rproc_ops, fw_name,
				 sizeof(*ddata));
	if (!rproc)
		return -ENOMEM;

	ddata = rproc->priv;
	ddata->dev = dev;
	ddata->rproc = rproc;
	ddata->stop_timeout_ms = RTD_AMP_STOP_TIMEOUT_MS;
	of_property_read_u32(np, "realtek,stop-timeout-ms", &ddata->stop_timeout_ms);

	cpu = of_parse_phandle(np, "realtek,cpu", 0);
	if (!cpu)
		return dev_err_probe(dev, -EINVAL,
				     "realtek,cpu must point to the remote cpu node\n");
	ddata->mpidr = rtd_amp_cpu_hwid(cpu);
	/* -ENODEV when the cpu is not possible in Linux (nr_cpus=): fine. */
	ddata->cpu = of_cpu_node_to_id(cpu);
	of_node_put(cpu);
	if (ddata->mpidr == ~0ULL)
		return dev_err_probe(dev, -EINVAL, "remote cpu node has no reg\n");

	ret = rtd_amp_psci_conduit(dev, &ddata->hvc);
	if (ret)
		return ret;
	if (ddata->cpu >= 0) {
		ret = cpuhp_state_add_instance_nocalls(rtd_amp_cpuhp_state,
						       &ddata->cpuhp);
		if (ret)
			return dev_err_probe(dev, ret, "cannot watch cpu%d hotplug\n",
					     ddata->cpu);
		ret = devm_add_action_or_reset(dev, rtd_amp_cpuhp_remove, ddata);
		if (ret)
			return ret;
	}
	ret = rtd_amp_map_ctrl(ddata);
	if (ret)
		return ret;
	ret = rtd_amp_request_mbox(ddata);
	if (ret)
		return ret;

	/* Firmware may not be on the root file system yet at probe time. */
	rproc->auto_boot = of_property_read_bool(np, "realtek,auto-boot");
	rproc->has_iommu = false;
	ret = rproc_coredump_set_elf_info(rproc, ELFCLASS64, EM_AARCH64);
	if (ret)
		return ret;

	platform_set_drvdata(pdev, ddata);
	ret = devm_rproc_add(dev, rproc);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register the remote processor\n");
	/* Removed with the rest of remoteprocN's debugfs directory. */
	if (!IS_ERR_OR_NULL(rproc->dbg_dir))
		debugfs_create_file("rtd_amp_ctrl", 0400, rproc->dbg_dir, ddata,
				    &rtd_amp_ctrl_fops);

	dev_info(dev, "%s: MPIDR %#llx (cpu%d), PSCI over %s, firmware %s\n",
		 dev_name(&rproc->dev), ddata->mpidr, ddata->cpu,
		 ddata->hvc ? "hvc" : "smc", fw_name);
	return 0;
}

static const struct of_device_id rtd_amp_rproc_of_match[] = {
	{ .compatible = "realtek,rtd1619b-amp-rproc" },
	{ /* sentinel */ }
};
MODULE_DEVICE_TABLE(of, rtd_amp_rproc_of_match);

static struct platform_driver rtd_amp_rproc_driver = {
	.probe = rtd_amp_rproc_probe,
	.driver = {
		.name = "rtd-amp-rproc",
		.of_match_table = rtd_amp_rproc_of_match,
	},
};

static int __init rtd_amp_rproc_init(void)
{
	int ret;

	ret = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN,
				      "remoteproc/rtd-amp:prepare",
				      rtd_amp_cpu_prepare, NULL);
	if (ret < 0)
		return ret;
	rtd_amp_cpuhp_state = ret;

	ret = platform_driver_register(&rtd_amp_rproc_driver);
	if (ret)
		cpuhp_remove_multi_state(rtd_amp_cpuhp_state);
	return ret;
}
module_init(rtd_amp_rproc_init);

static void __exit rtd_amp_rproc_exit(void)
{
	platform_driver_unregister(&rtd_amp_rproc_driver);
	cpuhp_remove_multi_state(rtd_amp_cpuhp_state);
}
module_exit(rtd_amp_rproc_exit);

MODULE_SOFTDEP("pre: rtd_amp_mbox");
MODULE_DESCRIPTION("RTD1619B AMP remote processor on a spare Cortex-A55 core");
MODULE_LICENSE("GPL");
