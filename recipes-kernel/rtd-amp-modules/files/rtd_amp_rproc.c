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
 * request and, after a fault, the firmware's crash record. Every image is
 * checked before anything of it is used: its detached signature, then its
 * ELF headers and resource table.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/pkcs7.h>
#include <crypto/sha2.h>
#include <linux/arm-smccc.h>
#include <linux/cpuhotplug.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/elf.h>
#include <linux/firmware.h>
#include <linux/io.h>
#include <linux/key.h>
#include <linux/ktime.h>
#include <linux/log2.h>
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
#include <linux/suspend.h>
#include <linux/verification.h>
#include <clocksource/arm_arch_timer.h>
#include <linux/virtio_ids.h>

#include "remoteproc_internal.h"
#include "rtd_amp.h"
#include "rtd_amp_ctrl.h"
#include "rtd_amp_selftest.h"
#ifdef RTD_AMP_DEBUG
#include "rtd_amp_dbg.h"
#endif

#define RTD_AMP_FW_DEFAULT	"rtd-amp/rtd-amp-fw.elf"
/* The remoteproc `name` attribute tools look for, whatever the DT node is called. */
#define RTD_AMP_RPROC_NAME	"rtd-amp"
#define RTD_AMP_STOP_TIMEOUT_MS	1000
#define RTD_AMP_BOOT_TIMEOUT_MS	500

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
	bool sig_required_dt;
	/* rtd_amp_pm.c: the policies and the suspend notifier. */
	bool keep_running;		/* letting go leaves it running */
	bool refuse_suspend;
	bool boot_on_resume;
	struct notifier_block pm_nb;
	struct hlist_node cpuhp;
	struct rtd_amp_boot boot;
	struct rtd_amp_bulk *bulk;	/* rtd_amp_bulk.c; NULL: no bulk region */
	/* rtd_amp_attach.c: the running firmware's table, when attached. */
	phys_addr_t rsc_pa;
	void *rsc_va;
	u32 rsc_size;
	u64 run_cnt;			/* CNTPCT when it started serving */
	bool leaving;			/* unbinding: .stop leaves it running */
	/* The last stop request timed out: the core stays on until reboot. */
	bool stuck;
	u32 contract_flags;		/* CTRL_CONTRACT_F_* of the loaded image */
#ifdef RTD_AMP_DEBUG
	struct rtd_amp_ping ping;
#endif
};

/* Dynamic CPU hotplug state that keeps Linux off a core running firmware. */
static enum cpuhp_state rtd_amp_cpuhp_state;

/*
 * The firmware signing certificates built in with RTD_AMP_FW_CERTS (DER,
 * concatenated; Kbuild generates the bytes), loaded into rtd_amp_keyring at
 * init. Empty without it.
 */
static const u8 rtd_amp_fw_certs[] __initconst = {
#include "rtd_amp_fw_certs.inc"
};

static struct key *rtd_amp_keyring;

static bool sig_enforce = sizeof(rtd_amp_fw_certs) > 0;
module_param(sig_enforce, bool, 0444);
MODULE_PARM_DESC(sig_enforce,
		 "Refuse firmware without a valid signature (default: on when the module carries a certificate)");

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

	/* User space's, mapped by rtd_amp_bulk.c only: never a carveout. */
	if (of_node_name_eq(np, "bulk"))
		return 0;

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
static int rtd_amp_stop_core(struct rtd_amp_rproc *ddata);

static int rtd_amp_rproc_prepare(struct rproc *rproc)
{
	struct rtd_amp_rproc *ddata = rproc->priv;
	struct device *dev = ddata->dev;
	struct of_phandle_iterator it;
	struct reserved_mem *rmem;
	int index = 0;
	int err;

	/*
	 * Booting (not attaching) while the core is still on, after a probe
	 * that did not trust its control page: an rtd-amp firmware honours
	 * the stop request whatever else its page says, and the page is ours
	 * to write. Here, before anything is loaded over the running image:
	 * rproc_fw_boot() calls .prepare after the sanity check and before
	 * parse_fw and the load (remoteproc_core.c 6.1 line 1393, 6.12 line
	 * 1400). If the core stays on, .start refuses as before.
	 */
	if (rproc->state != RPROC_DETACHED &&
	    (ddata->cpu < 0 || !cpu_online(ddata->cpu)) &&
	    rtd_amp_affinity(ddata) == PSCI_0_2_AFFINITY_LEVEL_ON) {
		dev_info(dev, "MPIDR %#llx is still on: asking the firmware there to stop first\n",
			 ddata->mpidr);
		rtd_amp_stop_core(ddata);
	}

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
		if (magic == CTRL_MAGIC_VALUE && state != CTRL_STATE_OFF)
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
	if (version != CTRL_LAYOUT_VERSION)
		dev_warn(ddata->dev, "firmware speaks control page version %u, this driver %d\n",
			 version, CTRL_LAYOUT_VERSION);
	ddata->boot.stamp_us = ktime_us_delta(ktime_get(), t0);
	dev_info(ddata->dev, "started MPIDR %#llx at %#llx, firmware up %lld us after CPU_ON\n",
		 ddata->mpidr, entry, ddata->boot.stamp_us);
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
	ddata->boot.affinity = ret;
	if (ret != PSCI_0_2_AFFINITY_LEVEL_OFF && READ_ONCE(ddata->stuck)) {
		dev_err(dev, "MPIDR %#llx is still on: it did not power off when asked to stop, and only a reboot turns it off (reboot needed)\n",
			ddata->mpidr);
		return -EBUSY;
	}
	if (ret != PSCI_0_2_AFFINITY_LEVEL_OFF) {
		dev_err(dev, "MPIDR %#llx is not powered off (AFFINITY_INFO %ld); stop whatever runs there first\n",
			ddata->mpidr, ret);
		return -EBUSY;
	}

	memset_io(ddata->ctrl, 0, CTRL_SIZE);
	ddata->crash_seq = 0;
	/* The firmware reads a clean page as soon as it runs. */
	wmb();

	ddata->boot.started = true;
	ddata->boot.stamp_us = -1;
	ddata->boot.cpu_on_cnt = arch_timer_read_counter();
	t0 = ktime_get();
	ret = (long)rtd_amp_psci(ddata, PSCI_0_2_FN64_CPU_ON, ddata->mpidr,
				 rproc->bootaddr, ddata->ctrl_pa);
	ddata->boot.cpu_on = ret;
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

/* Asks the firmware to power its core off and waits until PSCI says so. */
static int rtd_amp_stop_core(struct rtd_amp_rproc *ddata)
{
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
			WRITE_ONCE(ddata->stuck, true);
			dev_err(ddata->dev, "MPIDR %#llx did not power off within %u ms of the stop request (AFFINITY_INFO %ld, firmware state %u, %s): it stays on until the next reboot, reboot needed\n",
				ddata->mpidr, ddata->stop_timeout_ms, aff,
				readl(ddata->ctrl + CTRL_FW_STATE),
				ddata->contract_flags & CTRL_CONTRACT_F_STOP_IRQ ?
				"its stop interrupt went unanswered" :
				"it serves the stop request from its main loop only");
			return -ETIMEDOUT;
		}
		/* Short first: a healthy firmware is off within microseconds. */
		usleep_range(delay_us, 2 * delay_us);
		delay_us = min(2 * delay_us, 1000UL);
	}
	WRITE_ONCE(ddata->stuck, false);
	dev_info(ddata->dev, "stopped MPIDR %#llx, powered off %lld us after the request\n",
		 ddata->mpidr, ktime_us_delta(ktime_get(), t0));
	return 0;
}

static void rtd_amp_unmap_rsc(struct rtd_amp_rproc *ddata);

static int rtd_amp_rproc_stop(struct rproc *rproc)
{
	struct rtd_amp_rproc *ddata = rproc->priv;

	rtd_amp_unmap_rsc(ddata);
	if (ddata->leaving) {
		/* keep_running: the vdev is reset, tell the firmware. */
		rtd_amp_ring(ddata);
		dev_info(ddata->dev, "letting go: MPIDR %#llx left running (keep_running)\n",
			 ddata->mpidr);
		return 0;
	}
	/*
	 * A core that does not power off stays on whatever Linux does. Tell
	 * the remoteproc core it stopped, so it takes the vdevs down and
	 * releases the carveouts (all reserved memory, never handed back to
	 * Linux's allocator: the image still running there cannot scribble
	 * over Linux) and stays usable; core_state reads "stuck" and .start
	 * refuses until a reboot.
	 */
	rtd_amp_stop_core(ddata);
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

#ifdef RTD_AMP_DEBUG
#include "rtd_amp_dbg.c"
#else
/* Production: no doorbell ping (debugfs rtd_amp_doorbell_rtt). */
static void rtd_amp_ping_init(struct rtd_amp_rproc *ddata) {}
static void rtd_amp_ping_rx(struct rtd_amp_rproc *ddata) {}
static void rtd_amp_dbg_add(struct rtd_amp_rproc *ddata) {}
#endif

#include "rtd_amp_bulk.c"

/* A doorbell from the firmware: a crash report or ring activity. */
/*
 * Deliver both vrings (notify ids 0 and 1 are the vdev's two vrings).
 * rproc->lock is held by boot, shutdown and recovery while they create or
 * tear down the virtio device, so taking it here keeps a doorbell that
 * races a stop from running a virtqueue that is being freed (as
 * stm32_rproc does; found by the twin's firmware fuzz: an oops in
 * virtqueue_add_split from this thread while a start-then-stop tore the
 * rings down). A processor that is no longer up has nothing to deliver.
 */
static void rtd_amp_rproc_deliver(struct rproc *rproc)
{
	mutex_lock(&rproc->lock);
	if (rproc->state == RPROC_RUNNING || rproc->state == RPROC_ATTACHED) {
		rproc_vq_interrupt(rproc, 0);
		rproc_vq_interrupt(rproc, 1);
	}
	mutex_unlock(&rproc->lock);
}

static void rtd_amp_rproc_rx(struct mbox_client *cl, void *msg)
{
	struct rtd_amp_rproc *ddata = container_of(cl, struct rtd_amp_rproc, cl);
	u32 seq;

	rtd_amp_bulk_rx(ddata);
	rtd_amp_ping_rx(ddata);
	if (readl(ddata->ctrl + CTRL_FW_STATE) == CTRL_STATE_CRASHED) {
		seq = readl(ddata->ctrl + CTRL_CRASH_SEQ);
		if (seq == ddata->crash_seq)
			return;
		ddata->crash_seq = seq;
		/*
		 * The doorbell for messages the firmware published just
		 * before crashing may be this one: deliver them before the
		 * crash report tears the rings down.
		 */
		rtd_amp_rproc_deliver(ddata->rproc);
		rtd_amp_report_crash(ddata);
		return;
	}
	rtd_amp_rproc_deliver(ddata->rproc);
}

/*
 * Firmware validation. The ELF file and its resource table come from
 * whoever may write the firmware attribute, and the generic rproc_elf_*
 * helpers and resource handlers trust them: find_table() reads the section
 * name table at an unchecked e_shstrndx, rproc_handle_carveout() uses the
 * carveout name as a format string, rproc_da_to_va() lets a wrapping
 * p_memsz through, and a carveout, vring or vdev buffer without a DT region
 * is allocated from Linux's own memory. So everything they will read is
 * checked here first, against the file size and the DT memory-regions (the
 * core runs identity mapped: any other address is Linux's memory). Each
 * refusal is one dmesg line naming the rule in brackets, the field, its
 * value and the limit. docs/kernel.md lists the rules; amp-host's fwcheck
 * applies the same ones.
 */
#define RTD_AMP_PHNUM_MAX	32	/* bounds the segment overlap check */
#define RTD_AMP_RSC_NUM_MAX	128	/* bounds the entry overlap check */
#define RTD_AMP_VRING_NUM_MAX	32768	/* the largest virtio split ring */
#define RTD_AMP_NAME_LEN	32	/* name[] of carveout and trace entries */
/* Offset of a carveout entry's name from its type word. */
#define RTD_AMP_CO_NAME	(sizeof(struct fw_rsc_hdr) + offsetof(struct fw_rsc_carveout, name))
/* Offset of num_of_vrings in a vdev entry from its type word. */
#define RTD_AMP_VD_NVRINGS	(sizeof(struct fw_rsc_hdr) + \
				 offsetof(struct fw_rsc_vdev, num_of_vrings))

static __printf(3, 4) int rtd_fwcheck_err(struct rproc *rproc, const char *rule,
					  const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	dev_err(&rproc->dev, "firmware %s refused [%s]: %pV\n",
		rproc->firmware, rule, &vaf);
	va_end(args);
	return -EINVAL;
}

/* Whether [off, off + len) lies inside [0, size), without wrapping. */
static bool rtd_amp_in(u64 off, u64 len, u64 size)
{
	return off <= size && len <= size - off;
}

/* Headers are copied out: the file gives no alignment guarantee. */
static void rtd_amp_phdr(const struct firmware *fw, const struct elf64_hdr *eh,
			 unsigned int i, struct elf64_phdr *ph)
{
	memcpy(ph, fw->data + eh->e_phoff + (size_t)i * sizeof(*ph), sizeof(*ph));
}

static void rtd_amp_shdr(const struct firmware *fw, const struct elf64_hdr *eh,
			 unsigned int i, struct elf64_shdr *sh)
{
	memcpy(sh, fw->data + eh->e_shoff + (size_t)i * sizeof(*sh), sizeof(*sh));
}

static u32 rtd_amp_u32(const u8 *p)
{
	__le32 v;

	memcpy(&v, p, sizeof(v));
	return le32_to_cpu(v);
}

/*
 * The DT region (registered carveout) holding [da, da + len), or NULL.
 * @mapped: only a region Linux maps to load into (not a vdev buffer pool).
 */
static struct rproc_mem_entry *rtd_amp_region(struct rproc *rproc, u64 da,
					      u64 len, bool mapped)
{
	struct rproc_mem_entry *mem;

	list_for_each_entry(mem, &rproc->carveouts, node) {
		if (mapped && !mem->alloc)
			continue;
		if (da >= mem->da && rtd_amp_in(da - mem->da, len, mem->len))
			return mem;
	}
	return NULL;
}

static struct rproc_mem_entry *rtd_amp_region_named(struct rproc *rproc,
						    const char *name)
{
	struct rproc_mem_entry *mem;

	list_for_each_entry(mem, &rproc->carveouts, node)
		if (!strcmp(mem->name, name))
			return mem;
	return NULL;
}

/* The ELF header and where the header tables are (rproc_elf_sanity_check). */
static int rtd_amp_check_ehdr(struct rproc *rproc, const struct firmware *fw,
			      struct elf64_hdr *eh)
{
	if (fw->size < sizeof(*eh))
		return rtd_fwcheck_err(rproc, "elf-size",
				       "file size %zu < ELF64 header size %zu",
				       fw->size, sizeof(*eh));
	memcpy(eh, fw->data, sizeof(*eh));
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return rtd_fwcheck_err(rproc, "elf-magic",
				       "e_ident starts %*ph, not 7f 45 4c 46",
				       SELFMAG, eh->e_ident);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return rtd_fwcheck_err(rproc, "elf-class",
				       "EI_CLASS %u != %u (ELFCLASS64)",
				       eh->e_ident[EI_CLASS], ELFCLASS64);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return rtd_fwcheck_err(rproc, "elf-data",
				       "EI_DATA %u != %u (ELFDATA2LSB)",
				       eh->e_ident[EI_DATA], ELFDATA2LSB);
	if (eh->e_machine != EM_AARCH64)
		return rtd_fwcheck_err(rproc, "elf-machine",
				       "e_machine %u != %u (EM_AARCH64)",
				       eh->e_machine, EM_AARCH64);
	if (eh->e_phentsize != sizeof(struct elf64_phdr) || !eh->e_phnum ||
	    eh->e_phnum > RTD_AMP_PHNUM_MAX)
		return rtd_fwcheck_err(rproc, "elf-phdrs",
				       "e_phentsize %u (must be %zu), e_phnum %u (must be 1..%d)",
				       eh->e_phentsize, sizeof(struct elf64_phdr),
				       eh->e_phnum, RTD_AMP_PHNUM_MAX);
	if (!rtd_amp_in(eh->e_phoff, (u64)eh->e_phnum * eh->e_phentsize, fw->size))
		return rtd_fwcheck_err(rproc, "elf-phdrs",
				       "e_phoff %#llx + %u program headers > file size %#zx",
				       eh->e_phoff, eh->e_phnum, fw->size);
	if (eh->e_shentsize != sizeof(struct elf64_shdr) || !eh->e_shnum)
		return rtd_fwcheck_err(rproc, "elf-shdrs",
				       "e_shentsize %u (must be %zu), e_shnum %u (must be > 0)",
				       eh->e_shentsize, sizeof(struct elf64_shdr),
				       eh->e_shnum);
	if (!rtd_amp_in(eh->e_shoff, (u64)eh->e_shnum * eh->e_shentsize, fw->size))
		return rtd_fwcheck_err(rproc, "elf-shdrs",
				       "e_shoff %#llx + %u section headers > file size %#zx",
				       eh->e_shoff, eh->e_shnum, fw->size);
	if (eh->e_shstrndx >= eh->e_shnum)
		return rtd_fwcheck_err(rproc, "elf-shstrndx",
				       "e_shstrndx %u >= e_shnum %u",
				       eh->e_shstrndx, eh->e_shnum);
	return 0;
}

/* Section names and the .resource_table section (find_table). */
static int rtd_amp_find_rsc(struct rproc *rproc, const struct firmware *fw,
			    const struct elf64_hdr *eh, struct elf64_shdr *rsc)
{
	static const char want[] = ".resource_table";
	struct elf64_shdr strtab, sh;
	const char *names;
	bool found = false;
	unsigned int i;

	rtd_amp_shdr(fw, eh, eh->e_shstrndx, &strtab);
	if (!strtab.sh_size || !rtd_amp_in(strtab.sh_offset, strtab.sh_size, fw->size))
		return rtd_fwcheck_err(rproc, "elf-shstrtab",
				       "name table (section %u) sh_offset %#llx + sh_size %#llx is empty or > file size %#zx",
				       eh->e_shstrndx, strtab.sh_offset,
				       strtab.sh_size, fw->size);
	names = (const char *)fw->data + strtab.sh_offset;
	/* A final NUL ends every name inside the table. */
	if (names[strtab.sh_size - 1])
		return rtd_fwcheck_err(rproc, "elf-shstrtab",
				       "name table (section %u) does not end with a NUL",
				       eh->e_shstrndx);
	for (i = 0; i < eh->e_shnum; i++) {
		rtd_amp_shdr(fw, eh, i, &sh);
		if (sh.sh_name >= strtab.sh_size)
			return rtd_fwcheck_err(rproc, "elf-shname",
					       "section %u: sh_name %u >= name table size %llu",
					       i, sh.sh_name, strtab.sh_size);
		if (!found && !strcmp(names + sh.sh_name, want)) {
			*rsc = sh;
			found = true;
		}
	}
	if (!found)
		return rtd_fwcheck_err(rproc, "rsc-missing",
				       "no .resource_table section among %u sections (not an rtd-amp firmware?)",
				       eh->e_shnum);
	if (!rtd_amp_in(rsc->sh_offset, rsc->sh_size, fw->size))
		return rtd_fwcheck_err(rproc, "rsc-section",
				       ".resource_table sh_offset %#llx + sh_size %#llx > file size %#zx",
				       rsc->sh_offset, rsc->sh_size, fw->size);
	return 0;
}

/* Loadable segments against the file (rproc_elf_load_segments). */
static int rtd_amp_check_segments(struct rproc *rproc, const struct firmware *fw,
				  const struct elf64_hdr *eh)
{
	struct elf64_phdr ph, o;
	unsigned int i, j, loads = 0;
	bool entry = false;

	for (i = 0; i < eh->e_phnum; i++) {
		rtd_amp_phdr(fw, eh, i, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return rtd_fwcheck_err(rproc, "seg-filesz",
					       "segment %u: p_filesz %#llx > p_memsz %#llx",
					       i, ph.p_filesz, ph.p_memsz);
		if (!rtd_amp_in(ph.p_offset, ph.p_filesz, fw->size))
			return rtd_fwcheck_err(rproc, "seg-file",
					       "segment %u: p_offset %#llx + p_filesz %#llx > file size %#zx",
					       i, ph.p_offset, ph.p_filesz, fw->size);
		if (ph.p_memsz > U64_MAX - ph.p_paddr)
			return rtd_fwcheck_err(rproc, "seg-addr",
					       "segment %u: p_paddr %#llx + p_memsz %#llx wraps",
					       i, ph.p_paddr, ph.p_memsz);
		if (!ph.p_memsz)
			continue;
		loads++;
		if (eh->e_entry >= ph.p_paddr && eh->e_entry - ph.p_paddr < ph.p_memsz)
			entry = true;
		for (j = 0; j < i; j++) {
			rtd_amp_phdr(fw, eh, j, &o);
			if (o.p_type == PT_LOAD && o.p_memsz &&
			    ph.p_paddr < o.p_paddr + o.p_memsz &&
			    o.p_paddr < ph.p_paddr + ph.p_memsz)
				return rtd_fwcheck_err(rproc, "seg-overlap",
						       "segment %u (%#llx..%#llx) overlaps segment %u (%#llx..%#llx)",
						       i, ph.p_paddr, ph.p_paddr + ph.p_memsz,
						       j, o.p_paddr, o.p_paddr + o.p_memsz);
		}
	}
	if (!loads)
		return rtd_fwcheck_err(rproc, "seg-none",
				       "no PT_LOAD segment with p_memsz > 0 among %u program headers",
				       eh->e_phnum);
	if (!entry)
		return rtd_fwcheck_err(rproc, "elf-entry",
				       "e_entry %#llx is in no loaded segment",
				       eh->e_entry);
	return 0;
}

/* Every loaded byte and the loaded table in a DT region (rproc_da_to_va). */
static int rtd_amp_check_placement(struct rproc *rproc, const struct firmware *fw,
				   const struct elf64_hdr *eh,
				   const struct elf64_shdr *rsc)
{
	struct elf64_phdr ph;
	unsigned int i;

	for (i = 0; i < eh->e_phnum; i++) {
		rtd_amp_phdr(fw, eh, i, &ph);
		if (ph.p_type == PT_LOAD && !rtd_amp_region(rproc, ph.p_paddr, ph.p_memsz, true))
			return rtd_fwcheck_err(rproc, "seg-addr",
					       "segment %u: p_paddr %#llx + p_memsz %#llx is in no loadable memory-region of the DT",
					       i, ph.p_paddr, ph.p_memsz);
	}
	if (!rtd_amp_region(rproc, rsc->sh_addr, rsc->sh_size, true))
		return rtd_fwcheck_err(rproc, "rsc-addr",
				       ".resource_table sh_addr %#llx + sh_size %#llx is in no loadable memory-region of the DT",
				       rsc->sh_addr, rsc->sh_size);
	/*
	 * The table in use is copied to sh_addr before CPU_ON: that must be
	 * where a segment loads the file's table, or it lands on other code
	 * or data of the firmware.
	 */
	for (i = 0; i < eh->e_phnum; i++) {
		rtd_amp_phdr(fw, eh, i, &ph);
		if (ph.p_type == PT_LOAD && rsc->sh_offset >= ph.p_offset &&
		    rtd_amp_in(rsc->sh_offset - ph.p_offset, rsc->sh_size, ph.p_filesz))
			break;
	}
	if (i == eh->e_phnum ||
	    rsc->sh_addr != ph.p_paddr + (rsc->sh_offset - ph.p_offset))
		return rtd_fwcheck_err(rproc, "rsc-addr",
				       ".resource_table sh_addr %#llx is not where a segment loads its sh_offset %#llx",
				       rsc->sh_addr, rsc->sh_offset);
	return 0;
}

/* Bytes of entry @off (type word included), 0 for a type we refuse. */
static u64 rtd_amp_rsc_len(const u8 *t, u32 off)
{
	struct fw_rsc_vdev v;

	switch (rtd_amp_u32(t + off)) {
	case RSC_CARVEOUT:
		return sizeof(struct fw_rsc_hdr) + sizeof(struct fw_rsc_carveout);
	case RSC_TRACE:
		return sizeof(struct fw_rsc_hdr) + sizeof(struct fw_rsc_trace);
	case CTRL_RSC_CONTRACT_TYPE:
		return sizeof(struct fw_rsc_hdr) + CTRL_CONTRACT_LEN;
	case RSC_VDEV:
		/* Callers made sure the fixed part is there. */
		memcpy(&v, t + off + sizeof(struct fw_rsc_hdr), sizeof(v));
		return sizeof(struct fw_rsc_hdr) + sizeof(v) +
		       (u64)v.num_of_vrings * sizeof(struct fw_rsc_vdev_vring) +
		       v.config_len;
	default:
		return 0;
	}
}

/* Size of a split vring as vring_size() computes it, page aligned. */
static u64 rtd_amp_vring_bytes(u32 num, u32 align)
{
	u64 avail_end = 16ULL * num + 2ULL * (3 + num);

	return PAGE_ALIGN(ALIGN(avail_end, (u64)align) + 2ULL * 3 + 8ULL * num);
}

/* rproc_handle_carveout(): a named DT region only, nothing allocated. */
static int rtd_amp_check_carveout(struct rproc *rproc, const u8 *t, u32 off,
				  unsigned int i)
{
	struct fw_rsc_carveout c;
	struct rproc_mem_entry *mem;

	memcpy(&c, t + off + sizeof(struct fw_rsc_hdr), sizeof(c));
	if (c.reserved)
		return rtd_fwcheck_err(rproc, "carveout-reserved",
				       "entry %u: reserved %#x != 0",
				       i, c.reserved);
	if (strnlen(c.name, sizeof(c.name)) == sizeof(c.name))
		return rtd_fwcheck_err(rproc, "carveout-name",
				       "entry %u: name is not NUL-terminated within %zu bytes",
				       i, sizeof(c.name));
	mem = rtd_amp_region_named(rproc, c.name);
	if (!mem)
		return rtd_fwcheck_err(rproc, "carveout-name",
				       "entry %u: carveout \"%s\" is no memory-region of the DT (no carveout from Linux's memory)",
				       i, c.name);
	if (!c.len || c.len > mem->len ||
	    (c.da != FW_RSC_ADDR_ANY &&
	     (c.da < mem->da || !rtd_amp_in(c.da - mem->da, c.len, mem->len))))
		return rtd_fwcheck_err(rproc, "carveout-addr",
				       "entry %u: carveout %s da %#x + len %#x is empty or outside its region %#x + %#zx",
				       i, c.name, c.da, c.len, mem->da, mem->len);
	return 0;
}

/* rproc_handle_trace(): the buffer must be in a DT region. */
static int rtd_amp_check_trace(struct rproc *rproc, const u8 *t, u32 off,
			       unsigned int i)
{
	struct fw_rsc_trace tr;

	memcpy(&tr, t + off + sizeof(struct fw_rsc_hdr), sizeof(tr));
	if (tr.reserved)
		return rtd_fwcheck_err(rproc, "trace-reserved",
				       "entry %u: reserved %#x != 0",
				       i, tr.reserved);
	if (!tr.len || !rtd_amp_region(rproc, tr.da, tr.len, false))
		return rtd_fwcheck_err(rproc, "trace-addr",
				       "entry %u: trace da %#x + len %#x is empty or in no memory-region of the DT",
				       i, tr.da, tr.len);
	return 0;
}

/*
 * rproc_handle_vdev(), rproc_parse_vring() and rproc_alloc_vring(): vdev N
 * needs the DT regions vdevNvring0, vdevNvring1 and vdevNbuffer, or its
 * rings and buffers would be allocated from Linux's memory.
 */
static int rtd_amp_check_vdev(struct rproc *rproc, const u8 *t, u32 off,
			      unsigned int i, unsigned int index)
{
	const u8 *body = t + off + sizeof(struct fw_rsc_hdr);
	struct rproc_mem_entry *mem;
	struct fw_rsc_vdev_vring vr;
	struct fw_rsc_vdev v;
	char name[RTD_AMP_NAME_LEN];
	unsigned int k;
	u64 size;

	memcpy(&v, body, sizeof(v));
	if (v.reserved[0] || v.reserved[1])
		return rtd_fwcheck_err(rproc, "vdev-reserved",
				       "entry %u: reserved %#x %#x != 0",
				       i, v.reserved[0], v.reserved[1]);
	snprintf(name, sizeof(name), "vdev%ubuffer", index);
	if (!rtd_amp_region_named(rproc, name))
		return rtd_fwcheck_err(rproc, "vdev-regions",
				       "entry %u: vdev %u has no memory-region %s in the DT",
				       i, index, name);
	for (k = 0; k < v.num_of_vrings; k++) {
		memcpy(&vr, body + sizeof(v) + k * sizeof(vr), sizeof(vr));
		if (!is_power_of_2(vr.num) || vr.num > RTD_AMP_VRING_NUM_MAX)
			return rtd_fwcheck_err(rproc, "vring-num",
					       "entry %u: vring %u num %u is not a power of two in 1..%d",
					       i, k, vr.num, RTD_AMP_VRING_NUM_MAX);
		if (!is_power_of_2(vr.align))
			return rtd_fwcheck_err(rproc, "vring-align",
					       "entry %u: vring %u align %u is not a power of two",
					       i, k, vr.align);
		snprintf(name, sizeof(name), "vdev%uvring%u", index, k);
		mem = rtd_amp_region_named(rproc, name);
		if (!mem)
			return rtd_fwcheck_err(rproc, "vdev-regions",
					       "entry %u: vdev %u has no memory-region %s in the DT",
					       i, index, name);
		size = rtd_amp_vring_bytes(vr.num, vr.align);
		if (size > mem->len ||
		    (vr.da != FW_RSC_ADDR_ANY &&
		     (vr.da < mem->da || !rtd_amp_in(vr.da - mem->da, size, mem->len))))
			return rtd_fwcheck_err(rproc, "vring-addr",
					       "entry %u: vring %u da %#x + %llu bytes does not fit region %s %#x + %#zx",
					       i, k, vr.da, size, name, mem->da, mem->len);
	}
	return 0;
}

/*
 * The stop/crash contract (docs/kernel.md, "The stop/crash contract"): the
 * vendor entry that says the image answers the control page's stop
 * request and writes its crash record there. Without it nothing says the
 * image will ever power its core off again, and PSCI cannot do it for it.
 */
static int rtd_amp_check_contract(struct rproc *rproc, const u8 *t, u32 off,
				  unsigned int i, bool seen)
{
	const u8 *body = t + off + sizeof(struct fw_rsc_hdr);
	u32 magic = rtd_amp_u32(body + CTRL_CONTRACT_OFF_MAGIC);
	u32 version = rtd_amp_u32(body + CTRL_CONTRACT_OFF_VERSION);
	u32 layout = rtd_amp_u32(body + CTRL_CONTRACT_OFF_CTRL_VERSION);
	u32 flags = rtd_amp_u32(body + CTRL_CONTRACT_OFF_FLAGS);

	if (seen)
		return rtd_fwcheck_err(rproc, "rsc-contract",
				       "entry %u: a second contract entry", i);
	if (magic != CTRL_CONTRACT_MAGIC_VALUE)
		return rtd_fwcheck_err(rproc, "rsc-contract",
				       "entry %u: magic %#x != %#x (vendor type %d is another vendor's entry)",
				       i, magic, CTRL_CONTRACT_MAGIC_VALUE,
				       CTRL_RSC_CONTRACT_TYPE);
	if (version != CTRL_CONTRACT_VERSION)
		return rtd_fwcheck_err(rproc, "rsc-contract",
				       "entry %u: contract version %u, this driver speaks %d",
				       i, version, CTRL_CONTRACT_VERSION);
	if (layout != CTRL_LAYOUT_VERSION)
		return rtd_fwcheck_err(rproc, "rsc-contract",
				       "entry %u: control page version %u, this driver speaks %d",
				       i, layout, CTRL_LAYOUT_VERSION);
	if (flags & ~CTRL_CONTRACT_FLAGS_KNOWN)
		return rtd_fwcheck_err(rproc, "rsc-contract",
				       "entry %u: flags %#x has unknown bits %#x",
				       i, flags, flags & ~CTRL_CONTRACT_FLAGS_KNOWN);
	return 0;
}

/* The table (find_table, rproc_handle_resources) and every entry in it. */
static int rtd_amp_check_rsc(struct rproc *rproc, const u8 *t, size_t size)
{
	const size_t hdr = sizeof(struct fw_rsc_hdr);
	unsigned int i, j, num, vrings, vdevs = 0, contracts = 0;
	u64 len, end, olen;
	u32 off, o, type, id;
	size_t hend;
	int ret;

	if (size < sizeof(struct resource_table))
		return rtd_fwcheck_err(rproc, "rsc-header",
				       "table size %zu < header size %zu",
				       size, sizeof(struct resource_table));
	if (rtd_amp_u32(t) != 1)
		return rtd_fwcheck_err(rproc, "rsc-version", "ver %u != 1", rtd_amp_u32(t));
	if (rtd_amp_u32(t + 8) || rtd_amp_u32(t + 12))
		return rtd_fwcheck_err(rproc, "rsc-reserved",
				       "reserved %#x %#x != 0",
				       rtd_amp_u32(t + 8), rtd_amp_u32(t + 12));
	num = rtd_amp_u32(t + 4);
	hend = sizeof(struct resource_table) + 4 * (size_t)min(num, RTD_AMP_RSC_NUM_MAX + 1U);
	if (num > RTD_AMP_RSC_NUM_MAX || hend > size)
		return rtd_fwcheck_err(rproc, "rsc-num",
				       "num %u: more than %d entries or offsets past the table size %zu",
				       num, RTD_AMP_RSC_NUM_MAX, size);
	for (i = 0; i < num; i++) {
		off = rtd_amp_u32(t + sizeof(struct resource_table) + 4 * i);
		if (off % 4 || off < hend || !rtd_amp_in(off, hdr, size))
			return rtd_fwcheck_err(rproc, "rsc-offset",
					       "entry %u: offset %#x unaligned or outside %#zx..%#zx",
					       i, off, hend, size - hdr);
		type = rtd_amp_u32(t + off);
		if (type != RSC_CARVEOUT && type != RSC_TRACE && type != RSC_VDEV &&
		    type != CTRL_RSC_CONTRACT_TYPE)
			return rtd_fwcheck_err(rproc, "rsc-type",
					       "entry %u: type %u is not carveout (0), trace (2), vdev (3) or the rtd-amp contract (%d)%s",
					       i, type, CTRL_RSC_CONTRACT_TYPE,
					       type == RSC_DEVMEM ? ": devmem needs an IOMMU" : "");
		if (type == RSC_VDEV && !rtd_amp_in(off, hdr + sizeof(struct fw_rsc_vdev), size))
			return rtd_fwcheck_err(rproc, "rsc-truncated",
					       "entry %u: vdev at %#x needs %zu bytes, %zu remain",
					       i, off, hdr + sizeof(struct fw_rsc_vdev),
					       size - off);
		vrings = type == RSC_VDEV ? t[off + RTD_AMP_VD_NVRINGS] : 0;
		id = type == RSC_VDEV ? rtd_amp_u32(t + off + sizeof(struct fw_rsc_hdr)) : 0;
		/*
		 * virtio_rpmsg_bus asks for two rings whatever the entry says:
		 * with fewer, rp_find_vq() builds a ring from a never set up
		 * entry (num 0) and 6.12 oopses in vring_alloc_desc_extra().
		 */
		if (vrings > 2 || (id == VIRTIO_ID_RPMSG && vrings != 2))
			return rtd_fwcheck_err(rproc, "vdev-vrings",
					       "entry %u: num_of_vrings %u (at most 2; an RPMsg vdev has exactly 2, rx and tx)",
					       i, vrings);
		len = rtd_amp_rsc_len(t, off);
		if (!rtd_amp_in(off, len, size))
			return rtd_fwcheck_err(rproc, "rsc-truncated",
					       "entry %u: type %u at %#x needs %llu bytes, %zu remain",
					       i, type, off, len, size - off);
		if (type == RSC_CARVEOUT)
			ret = rtd_amp_check_carveout(rproc, t, off, i);
		else if (type == RSC_TRACE)
			ret = rtd_amp_check_trace(rproc, t, off, i);
		else if (type == CTRL_RSC_CONTRACT_TYPE)
			ret = rtd_amp_check_contract(rproc, t, off, i, contracts++);
		else
			ret = rtd_amp_check_vdev(rproc, t, off, i, vdevs++);
		if (ret)
			return ret;
		end = off + len;
		for (j = 0; j < i; j++) {
			o = rtd_amp_u32(t + sizeof(struct resource_table) + 4 * j);
			olen = rtd_amp_rsc_len(t, o);
			if (off < o + olen && o < end)
				return rtd_fwcheck_err(rproc, "rsc-overlap",
						       "entry %u (%#x..%#llx) overlaps entry %u (%#x..%#llx)",
						       i, off, end, j, o, o + olen);
			/* Names checked NUL-terminated above. */
			if (type == RSC_CARVEOUT && rtd_amp_u32(t + o) == RSC_CARVEOUT &&
			    !strcmp((const char *)t + off + RTD_AMP_CO_NAME,
				    (const char *)t + o + RTD_AMP_CO_NAME))
				return rtd_fwcheck_err(rproc, "carveout-dup",
						       "entries %u and %u both claim carveout %s",
						       j, i, t + off + RTD_AMP_CO_NAME);
		}
	}
	if (!contracts)
		return rtd_fwcheck_err(rproc, "rsc-contract",
				       "no stop/crash contract entry (type %d): not an rtd-amp firmware, nothing says it would ever power its core off",
				       CTRL_RSC_CONTRACT_TYPE);
	return 0;
}

/*
 * Firmware signatures (docs/kernel.md, "Firmware signatures"): NAME.p7s
 * beside the ELF NAME, a detached PKCS#7/CMS signature over the exact bytes
 * being loaded, checked by the kernel's verify_pkcs7_signature() first
 * against the certificates built into this module, then against the
 * built-in and secondary trusted keyrings. The usage is
 * VERIFYING_FIRMWARE_SIGNATURE, which requires signed attributes: module
 * signatures (sign-file makes none) made with a key of the kernel's own
 * keyrings cannot pass for a firmware signature.
 */
#define RTD_AMP_SIG_SUFFIX	".p7s"

/* Why a verification failed, told apart only to name it in dmesg. */
static const u8 rtd_amp_md_attr[] = {
	/* OID 1.2.840.113549.1.9.4 (messageDigest), SET { OCTET STRING[32] } */
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04,
	0x31, 0x22, 0x04, 0x20,
};

/*
 * The SHA-256 messageDigest signed attribute, found by its DER encoding.
 * verify_pkcs7_signature() returns -EKEYREJECTED for a valid signature of
 * other contents, and -EKEYREJECTED, -EBADMSG or -EINVAL (the RSA padding
 * check, depending on the garbage) for a signature value that does not
 * verify; the digest tells the two apart. Only to pick the message: nothing
 * is accepted on its strength, and a crafted message can at worst change
 * the reason printed for its refusal.
 */
static const u8 *rtd_amp_signed_digest(const struct firmware *sig)
{
	size_t i, n = sizeof(rtd_amp_md_attr) + SHA256_DIGEST_SIZE;

	for (i = 0; i + n <= sig->size; i++)
		if (!memcmp(sig->data + i, rtd_amp_md_attr, sizeof(rtd_amp_md_attr)))
			return sig->data + i + sizeof(rtd_amp_md_attr);
	return NULL;
}

static int rtd_amp_sig_refused(struct rproc *rproc, const struct firmware *fw,
			       const struct firmware *sig, int err)
{
	struct pkcs7_message *msg;
	u8 digest[SHA256_DIGEST_SIZE];
	const u8 *md;

	msg = pkcs7_parse_message(sig->data, sig->size);
	if (IS_ERR(msg))
		return rtd_fwcheck_err(rproc, "sig-malformed",
				       "%s%s is not a PKCS#7/CMS message the kernel accepts (%pe)",
				       rproc->firmware, RTD_AMP_SIG_SUFFIX, msg);
	pkcs7_free_message(msg);
	if (err == -ENOKEY)
		return rtd_fwcheck_err(rproc, "sig-unknown-key",
				       "signed with a key that is neither built into this module nor in the kernel's trusted keyrings");
	if (err != -EKEYREJECTED && err != -EBADMSG && err != -EINVAL)
		return rtd_fwcheck_err(rproc, "sig-malformed",
				       "%s%s cannot be verified (%pe%s)",
				       rproc->firmware, RTD_AMP_SIG_SUFFIX, ERR_PTR(err),
				       err == -ENOPKG ? ": an algorithm this kernel lacks" : "");
	md = rtd_amp_signed_digest(sig);
	if (!md)
		return rtd_fwcheck_err(rproc, "sig-malformed",
				       "%s%s has no SHA-256 messageDigest signed attribute, which a firmware signature needs",
				       rproc->firmware, RTD_AMP_SIG_SUFFIX);
	/* The firmware loader caps a file far below 4 GiB. */
	sha256(fw->data, (unsigned int)fw->size, digest);
	if (memcmp(md, digest, sizeof(digest)))
		return rtd_fwcheck_err(rproc, "sig-mismatch",
				       "sha256 %*phN... of the file is not the signed %*phN...: changed after signing, or the signature of another file",
				       8, digest, 8, md);
	return rtd_fwcheck_err(rproc, "sig-bad",
			       "the signature does not verify (%pe): signature value or signed attributes altered",
			       ERR_PTR(err));
}

/*
 * Before anything of the image is parsed. @warn: say that an unsigned image
 * is loaded only once per load (from .load, which boot and recovery each
 * call once).
 */
static int rtd_amp_check_sig(struct rproc *rproc, const struct firmware *fw,
			     bool warn)
{
	struct rtd_amp_rproc *ddata = rproc->priv;
	const struct firmware *sig;
	char *name;
	int ret;

	name = kasprintf(GFP_KERNEL, "%s%s", rproc->firmware, RTD_AMP_SIG_SUFFIX);
	if (!name)
		return -ENOMEM;
	/* The ELF's search path; no user-space fallback, no warning if absent. */
	ret = request_firmware_direct(&sig, name, &rproc->dev);
	kfree(name);
	if (ret == -ENOENT) {
		if (sig_enforce || ddata->sig_required_dt) {
			rtd_fwcheck_err(rproc, "sig-unsigned",
					"no %s%s, and signatures are required (%s)",
					rproc->firmware, RTD_AMP_SIG_SUFFIX,
					ddata->sig_required_dt ?
					"realtek,firmware-signature-required" :
					"sig_enforce");
			return -EKEYREJECTED;
		}
		if (warn)
			dev_warn(&rproc->dev, "firmware %s is not signed (no %s%s): loaded because signatures are not enforced\n",
				 rproc->firmware, rproc->firmware, RTD_AMP_SIG_SUFFIX);
		return 0;
	}
	if (ret) {
		rtd_fwcheck_err(rproc, "sig-malformed", "cannot read %s%s (%pe)",
				rproc->firmware, RTD_AMP_SIG_SUFFIX, ERR_PTR(ret));
		return -EKEYREJECTED;
	}

	/*
	 * A signature that is present is always checked, enforced or not: a
	 * refusal then means a wrong key or a stale or altered file, which
	 * loading anyway would hide (an unsigned image is the only leniency).
	 */
	ret = -ENOKEY;
	if (rtd_amp_keyring)
		ret = verify_pkcs7_signature(fw->data, fw->size, sig->data,
					     sig->size, rtd_amp_keyring,
					     VERIFYING_FIRMWARE_SIGNATURE,
					     NULL, NULL);
	if (ret == -ENOKEY)
		ret = verify_pkcs7_signature(fw->data, fw->size, sig->data,
					     sig->size, VERIFY_USE_SECONDARY_KEYRING,
					     VERIFYING_FIRMWARE_SIGNATURE,
					     NULL, NULL);
	if (ret) {
		rtd_amp_sig_refused(rproc, fw, sig, ret);
		ret = -EKEYREJECTED;
	}
	release_firmware(sig);
	return ret;
}

/* All of the above that needs no DT region: before anything else runs. */
static int rtd_amp_check_elf(struct rproc *rproc, const struct firmware *fw,
			     struct elf64_hdr *eh, struct elf64_shdr *rsc)
{
	int ret;

	ret = rtd_amp_check_ehdr(rproc, fw, eh);
	if (!ret)
		ret = rtd_amp_find_rsc(rproc, fw, eh, rsc);
	if (!ret)
		ret = rtd_amp_check_segments(rproc, fw, eh);
	return ret;
}

/* Everything, once .prepare has registered the DT regions. */
static int rtd_amp_check_fw(struct rproc *rproc, const struct firmware *fw,
			    bool warn)
{
	struct elf64_shdr rsc;
	struct elf64_hdr eh;
	int ret;

	ret = rtd_amp_check_sig(rproc, fw, warn);
	if (!ret)
		ret = rtd_amp_check_elf(rproc, fw, &eh, &rsc);
	if (!ret)
		ret = rtd_amp_check_placement(rproc, fw, &eh, &rsc);
	if (!ret)
		ret = rtd_amp_check_rsc(rproc, fw->data + rsc.sh_offset, rsc.sh_size);
	/* Recovery reloads the file without parsing its table again. */
	if (!ret && rproc->table_ptr && rsc.sh_size != rproc->table_sz)
		ret = rtd_fwcheck_err(rproc, "rsc-changed",
				      ".resource_table sh_size %#llx != %#zx of the table in use",
				      rsc.sh_size, rproc->table_sz);
	return ret;
}

static int rtd_amp_rproc_sanity_check(struct rproc *rproc,
				      const struct firmware *fw)
{
	struct elf64_shdr rsc;
	struct elf64_hdr eh;
	int ret;

	ret = rtd_amp_check_sig(rproc, fw, false);
	if (!ret)
		ret = rtd_amp_check_elf(rproc, fw, &eh, &rsc);
	if (ret)
		return ret;
	/* Cannot fail any more; kept so the generic rules apply as well. */
	return rproc_elf_sanity_check(rproc, fw);
}

/* Before the generic code reads the table or handles any of its entries. */
static int rtd_amp_rproc_parse_fw(struct rproc *rproc, const struct firmware *fw)
{
	int ret = rtd_amp_check_fw(rproc, fw, false);

	return ret ? ret : rproc_elf_load_rsc_table(rproc, fw);
}

/*
 * Also on recovery, which loads the file again with neither .sanity_check
 * nor .parse_fw: the file may have been replaced since the start.
 */
static int rtd_amp_rproc_load(struct rproc *rproc, const struct firmware *fw)
{
	int ret = rtd_amp_check_fw(rproc, fw, true);

	return ret ? ret : rproc_elf_load_segments(rproc, fw);
}

/*
 * rproc_handle_resources() hands vendor entries here, when booting and when
 * attaching. rtd_amp_check_rsc() has validated the contract by then; this
 * only keeps what it promises, for the stop path's messages.
 */
static int rtd_amp_rproc_handle_rsc(struct rproc *rproc, u32 rsc_type,
				    void *rsc, int offset, int avail)
{
	struct rtd_amp_rproc *ddata = rproc->priv;

	if (rsc_type != CTRL_RSC_CONTRACT_TYPE || avail < CTRL_CONTRACT_LEN)
		return RSC_IGNORED;
	ddata->contract_flags = rtd_amp_u32((u8 *)rsc + CTRL_CONTRACT_OFF_FLAGS);
	return RSC_HANDLED;
}

/*
 * The core as PSCI sees it, which the remoteproc state cannot say: "off",
 * "on", or "stuck" when the last stop request went unanswered and the core
 * stays on until the next reboot (the remoteproc state then reads offline:
 * Linux let go of it, but it runs on).
 */
static ssize_t core_state_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct rtd_amp_rproc *ddata = dev_get_drvdata(dev);

	if (rtd_amp_affinity(ddata) == PSCI_0_2_AFFINITY_LEVEL_OFF)
		return sysfs_emit(buf, "off\n");
	return sysfs_emit(buf, "%s\n", READ_ONCE(ddata->stuck) ? "stuck" : "on");
}
static DEVICE_ATTR_RO(core_state);

#include "rtd_amp_attach.c"
#include "rtd_amp_pm.c"

static const struct rproc_ops rtd_amp_rproc_ops = {
	.prepare = rtd_amp_rproc_prepare,
	.start = rtd_amp_rproc_start,
	.stop = rtd_amp_rproc_stop,
	.attach = rtd_amp_rproc_attach,
	.detach = rtd_amp_rproc_detach,
	.get_loaded_rsc_table = rtd_amp_get_loaded_rsc_table,
	.handle_rsc = rtd_amp_rproc_handle_rsc,
	.kick = rtd_amp_rproc_kick,
	.load = rtd_amp_rproc_load,
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
	seq_printf(s, "ping_seq: %u\nping_ack: %u\npings: %u\n",
		   readl(ctrl + CTRL_PING_SEQ), readl(ctrl + CTRL_PING_ACK),
		   readl(ctrl + CTRL_PINGS));
	seq_printf(s, "svc_count: %u\nsvc_sum_ns: %llu\nsvc_max_ns: %u\nsvc_hist:",
		   readl(ctrl + CTRL_SVC_COUNT), readq(ctrl + CTRL_SVC_SUM),
		   readl(ctrl + CTRL_SVC_MAX));
	for (i = 0; i < CTRL_SVC_BINS; i++)
		seq_printf(s, " %u", readw(ctrl + CTRL_SVC_HIST + 2 * i));
	seq_putc(s, '\n');
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

#include "rtd_amp_selftest.c"

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
	ddata->sig_required_dt = of_property_read_bool(np, "realtek,firmware-signature-required");
	if (ddata->sig_required_dt && !rtd_amp_keyring)
		dev_warn(dev, "firmware signatures are required, but this module carries no certificate: only keys of the kernel's trusted keyrings can sign\n");

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
	ddata->boot.psci_version = rtd_amp_psci(ddata, PSCI_0_2_FN_PSCI_VERSION,
						0, 0, 0);
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
	rtd_amp_ping_init(ddata);
	ret = rtd_amp_bulk_probe(ddata);
	if (ret)
		return ret;
	ret = rtd_amp_request_mbox(ddata);
	if (ret)
		return ret;
	ret = rtd_amp_bulk_register(ddata);
	if (ret)
		return ret;

	/* Firmware may not be on the root file system yet at probe time. */
	rproc->auto_boot = of_property_read_bool(np, "realtek,auto-boot");
	rproc->has_iommu = false;
	ret = rproc_coredump_set_elf_info(rproc, ELFCLASS64, EM_AARCH64);
	if (ret)
		return ret;

	/* A firmware already serving: attach to it instead of loading one. */
	if (rtd_amp_probe_running(ddata)) {
		rproc->state = RPROC_DETACHED;
		dev_info(dev, "MPIDR %#llx runs a firmware (up %llu ms, resource table %pa): registered as detached, echo start attaches\n",
			 ddata->mpidr, rtd_amp_fw_uptime_ms(ddata), &ddata->rsc_pa);
	}

	platform_set_drvdata(pdev, ddata);
	ret = devm_rproc_add(dev, rproc);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register the remote processor\n");
	/* Runs before devm's rproc_del() at unbind. */
	ret = devm_add_action(dev, rtd_amp_leave, ddata);
	if (ret)
		return ret;
	ret = rtd_amp_pm_probe(ddata);
	if (ret)
		return ret;
	/* Removed with the rest of remoteprocN's debugfs directory. */
	if (!IS_ERR_OR_NULL(rproc->dbg_dir)) {
		debugfs_create_file("rtd_amp_ctrl", 0400, rproc->dbg_dir, ddata,
				    &rtd_amp_ctrl_fops);
		debugfs_create_file("rtd_amp_boot", 0400, rproc->dbg_dir, ddata,
				    &rtd_amp_boot_fops);
		rtd_amp_dbg_add(ddata);
		rtd_amp_attach_dbg_add(ddata);
	}

	dev_info(dev, "%s: MPIDR %#llx (cpu%d), PSCI over %s, firmware %s, signatures %s\n",
		 dev_name(&rproc->dev), ddata->mpidr, ddata->cpu,
		 ddata->hvc ? "hvc" : "smc", fw_name,
		 ddata->sig_required_dt ? "required (device tree)" :
		 sig_enforce ? "required (sig_enforce)" : "optional");
	return 0;
}

static const struct of_device_id rtd_amp_rproc_of_match[] = {
	{ .compatible = "realtek,rtd1619b-amp-rproc" },
	{ /* sentinel */ }
};
MODULE_DEVICE_TABLE(of, rtd_amp_rproc_of_match);

static struct platform_driver rtd_amp_rproc_driver = {
	.probe = rtd_amp_rproc_probe,
	.shutdown = rtd_amp_rproc_shutdown,
	.driver = {
		.name = "rtd-amp-rproc",
		.of_match_table = rtd_amp_rproc_of_match,
		.pm = pm_sleep_ptr(&rtd_amp_pm_ops),
		.dev_groups = rtd_amp_groups,
	},
};

/*
 * The built-in certificates into a keyring of their own, as the kernel loads
 * CONFIG_SYSTEM_TRUSTED_KEYS. Linked nowhere and without write permission,
 * so user space cannot add a key to it. A certificate the kernel cannot
 * parse fails the module: it would otherwise refuse every firmware later,
 * with a less clear reason.
 */
static int __init rtd_amp_load_certs(void)
{
	const u8 *p = rtd_amp_fw_certs, *end = p + sizeof(rtd_amp_fw_certs);
	unsigned int n = 0;
	key_ref_t key;
	size_t len;

	if (p == end)
		return 0;
	rtd_amp_keyring = keyring_alloc(".rtd_amp_fw", GLOBAL_ROOT_UID,
					GLOBAL_ROOT_GID, current_cred(),
					(KEY_POS_ALL & ~KEY_POS_SETATTR) |
					KEY_USR_VIEW | KEY_USR_READ | KEY_USR_SEARCH,
					KEY_ALLOC_NOT_IN_QUOTA, NULL, NULL);
	if (IS_ERR(rtd_amp_keyring)) {
		pr_err("cannot allocate the firmware signing keyring: %pe\n",
		       rtd_amp_keyring);
		return PTR_ERR(rtd_amp_keyring);
	}
	for (; p < end; p += len, n++) {
		/* A SEQUENCE with a two-byte length, as Kbuild checked. */
		len = end - p < 4 || p[0] != 0x30 || p[1] != 0x82 ? 0 :
		      4 + ((p[2] << 8) | p[3]);
		if (!len || len > (size_t)(end - p)) {
			key = ERR_PTR(-EBADMSG);
		} else {
			key = key_create_or_update(make_key_ref(rtd_amp_keyring, 1),
						   "asymmetric", NULL, p, len,
						   (KEY_POS_ALL & ~KEY_POS_SETATTR) |
						   KEY_USR_VIEW | KEY_USR_READ,
						   KEY_ALLOC_NOT_IN_QUOTA |
						   KEY_ALLOC_BUILT_IN |
						   KEY_ALLOC_BYPASS_RESTRICTION);
		}
		if (IS_ERR(key)) {
			pr_err("built-in firmware signing certificate %u cannot be loaded: %pe\n",
			       n, key);
			key_put(rtd_amp_keyring);
			rtd_amp_keyring = NULL;
			return PTR_ERR(key);
		}
		pr_info("firmware signing key %u: %s\n", n,
			key_ref_to_ptr(key)->description);
		key_ref_put(key);
	}
	return 0;
}

static int __init rtd_amp_rproc_init(void)
{
	int ret;

	ret = rtd_amp_load_certs();
	if (ret)
		return ret;
	ret = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN,
				      "remoteproc/rtd-amp:prepare",
				      rtd_amp_cpu_prepare, NULL);
	if (ret < 0)
		goto err_keys;
	rtd_amp_cpuhp_state = ret;

	ret = platform_driver_register(&rtd_amp_rproc_driver);
	if (!ret)
		return 0;
	cpuhp_remove_multi_state(rtd_amp_cpuhp_state);
err_keys:
	key_put(rtd_amp_keyring);
	return ret;
}
module_init(rtd_amp_rproc_init);

static void __exit rtd_amp_rproc_exit(void)
{
	platform_driver_unregister(&rtd_amp_rproc_driver);
	cpuhp_remove_multi_state(rtd_amp_cpuhp_state);
	key_put(rtd_amp_keyring);
}
module_exit(rtd_amp_rproc_exit);

MODULE_SOFTDEP("pre: rtd_amp_mbox");
MODULE_DESCRIPTION("RTD1619B AMP remote processor on a spare Cortex-A55 core");
MODULE_LICENSE("GPL");
