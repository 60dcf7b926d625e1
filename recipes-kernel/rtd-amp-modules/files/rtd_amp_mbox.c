// SPDX-License-Identifier: GPL-2.0
/*
 * Doorbell mailbox between Linux and a bare-metal firmware running on a
 * Cortex-A55 core that Linux does not use (CPU3 of the Realtek RTD1619B).
 *
 * Channel 0 (tx) raises an SGI on the remote core through ICC_SGI1R_EL1;
 * only that core's redistributor is targeted. Channel 1 (rx) is the SPI
 * the firmware sets pending through GICD_ISPENDR. Doorbells carry no data:
 * the shared-memory rings say what happened.
 */

#include <linux/bitfield.h>
#include <linux/interrupt.h>
#include <linux/irqchip/arm-gic-v3.h>
#include <linux/mailbox_controller.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/platform_device.h>
#include <asm/barrier.h>
#include <asm/cputype.h>
#include <asm/sysreg.h>

#include "rtd_amp.h"

#define RTD_AMP_MBOX_TX		0
#define RTD_AMP_MBOX_RX		1
#define RTD_AMP_MBOX_NUM	2
#define RTD_AMP_MBOX_MAX_SGI	15

struct rtd_amp_mbox {
	struct device *dev;
	struct mbox_controller mbox;
	struct mbox_chan chans[RTD_AMP_MBOX_NUM];
	u64 sgi1r;
	int irq;
};

/*
 * ICC_SGI1R_EL1 for one target: affinity levels 3..1 select the cluster,
 * the range selector and the target list pick Aff0. IRM stays 0 so the SGI
 * never goes to Linux's own cores.
 */
static u64 rtd_amp_mbox_sgi1r(u64 mpidr, u32 sgi)
{
	u64 aff0 = MPIDR_AFFINITY_LEVEL(mpidr, 0);

	return ((u64)MPIDR_AFFINITY_LEVEL(mpidr, 3) << ICC_SGI1R_AFFINITY_3_SHIFT) |
	       ((u64)MPIDR_AFFINITY_LEVEL(mpidr, 2) << ICC_SGI1R_AFFINITY_2_SHIFT) |
	       ((u64)MPIDR_AFFINITY_LEVEL(mpidr, 1) << ICC_SGI1R_AFFINITY_1_SHIFT) |
	       ((aff0 / 16) << ICC_SGI1R_RS_SHIFT) |
	       ((u64)sgi << ICC_SGI1R_SGI_ID_SHIFT) |
	       BIT_ULL(aff0 % 16);
}

static int rtd_amp_mbox_send_data(struct mbox_chan *chan, void *data)
{
	struct rtd_amp_mbox *mb = dev_get_drvdata(chan->mbox->dev);

	if (chan != &mb->chans[RTD_AMP_MBOX_TX])
		return -EINVAL;

	/* Make the ring updates visible before the remote core wakes up. */
	dsb(ishst);
	write_sysreg_s(mb->sgi1r, SYS_ICC_SGI1R_EL1);
	isb();
	return 0;
}

/*
 * The rx interrupt is live only while a client holds the rx channel: the
 * mailbox core has no client to hand a doorbell to otherwise (a firmware
 * left running after a failed stop may still ring).
 */
static int rtd_amp_mbox_startup(struct mbox_chan *chan)
{
	struct rtd_amp_mbox *mb = dev_get_drvdata(chan->mbox->dev);

	if (chan == &mb->chans[RTD_AMP_MBOX_RX])
		enable_irq(mb->irq);
	return 0;
}

static void rtd_amp_mbox_shutdown(struct mbox_chan *chan)
{
	struct rtd_amp_mbox *mb = dev_get_drvdata(chan->mbox->dev);

	/* Also waits for a running handler to finish. */
	if (chan == &mb->chans[RTD_AMP_MBOX_RX])
		disable_irq(mb->irq);
}

static const struct mbox_chan_ops rtd_amp_mbox_ops = {
	.send_data = rtd_amp_mbox_send_data,
	.startup = rtd_amp_mbox_startup,
	.shutdown = rtd_amp_mbox_shutdown,
};

/*
 * Threaded: the client runs the virtio callbacks, which take mutexes, so
 * the doorbell is delivered from process context. The hard handler only
 * wakes the thread, and the line is not IRQF_ONESHOT: the SPI is edge
 * triggered (the binding; the firmware sets it pending in GICD_ISPENDR,
 * a latch the acknowledge clears) and a doorbell carries no data, so one
 * that comes while the thread runs just runs it once more. This spares
 * masking and unmasking the SPI in the distributor on every doorbell
 * (two GICD writes, each waiting for GICD_CTLR.RWP; docs/benchmarks.md,
 * "Round-trip breakdown").
 */
static irqreturn_t rtd_amp_mbox_rx_irq(int irq, void *data)
{
	return IRQ_WAKE_THREAD;
}

static irqreturn_t rtd_amp_mbox_rx_thread(int irq, void *data)
{
	struct rtd_amp_mbox *mb = data;

	mbox_chan_received_data(&mb->chans[RTD_AMP_MBOX_RX], NULL);
	return IRQ_HANDLED;
}

static struct mbox_chan *rtd_amp_mbox_xlate(struct mbox_controller *mbox,
					    const struct of_phandle_args *sp)
{
	if (sp->args_count != 1 || sp->args[0] >= RTD_AMP_MBOX_NUM)
		return ERR_PTR(-EINVAL);
	return &mbox->chans[sp->args[0]];
}

static int rtd_amp_mbox_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct device_node *cpu;
	struct rtd_amp_mbox *mb;
	u64 mpidr;
	u32 sgi;
	int irq, ret;

	mb = devm_kzalloc(dev, sizeof(*mb), GFP_KERNEL);
	if (!mb)
		return -ENOMEM;
	mb->dev = dev;

	ret = of_property_read_u32(dev->of_node, "realtek,sgi", &sgi);
	if (ret || sgi > RTD_AMP_MBOX_MAX_SGI)
		return dev_err_probe(dev, -EINVAL,
				     "realtek,sgi must be an SGI number 0..15\n");

	cpu = of_parse_phandle(dev->of_node, "realtek,cpu", 0);
	if (!cpu)
		return dev_err_probe(dev, -EINVAL,
				     "realtek,cpu must point to the remote cpu node\n");
	mpidr = rtd_amp_cpu_hwid(cpu);
	of_node_put(cpu);
	if (mpidr == ~0ULL)
		return dev_err_probe(dev, -EINVAL, "remote cpu node has no reg\n");
	mb->sgi1r = rtd_amp_mbox_sgi1r(mpidr, sgi);

	irq = platform_get_irq(pdev, 0);
	if (irq < 0)
		return irq;
	mb->irq = irq;
	ret = devm_request_threaded_irq(dev, irq, rtd_amp_mbox_rx_irq,
					rtd_amp_mbox_rx_thread, IRQF_NO_AUTOEN,
					dev_name(dev), mb);
	if (ret)
		return dev_err_probe(dev, ret, "cannot request rx irq %d\n", irq);

	mb->mbox.dev = dev;
	mb->mbox.ops = &rtd_amp_mbox_ops;
	mb->mbox.chans = mb->chans;
	mb->mbox.num_chans = RTD_AMP_MBOX_NUM;
	mb->mbox.of_xlate = rtd_amp_mbox_xlate;
	platform_set_drvdata(pdev, mb);

	ret = devm_mbox_controller_register(dev, &mb->mbox);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register mailbox\n");

	dev_info(dev, "doorbells: SGI %u to MPIDR %#llx, rx irq %d\n", sgi,
		 mpidr, irq);
	return 0;
}

static const struct of_device_id rtd_amp_mbox_of_match[] = {
	{ .compatible = "realtek,rtd1619b-amp-mbox" },
	{ /* sentinel */ }
};
MODULE_DEVICE_TABLE(of, rtd_amp_mbox_of_match);

static struct platform_driver rtd_amp_mbox_driver = {
	.probe = rtd_amp_mbox_probe,
	.driver = {
		.name = "rtd-amp-mbox",
		.of_match_table = rtd_amp_mbox_of_match,
	},
};
module_platform_driver(rtd_amp_mbox_driver);

MODULE_DESCRIPTION("RTD1619B AMP doorbell mailbox (SGI out, SPI in)");
MODULE_LICENSE("GPL");
