// SPDX-License-Identifier: GPL-2.0-only
/*
 * When Linux lets go of the remote core, and system sleep (docs/kernel.md,
 * "Reboot, kexec and shutdown" and "System suspend"). Included by
 * rtd_amp_rproc.c.
 *
 * One policy for every way Linux lets go of the core: keep_running, from
 * the DT's realtek,keep-running at probe, root may change it at run time in
 * the platform device's keep_running attribute. Set, an unbind (rmmod), a
 * reboot or a kexec leave the firmware running for the next driver or
 * kernel to attach; clear, they stop it. Power-off and halt always stop it:
 * no kernel comes to attach, and the firmware gets its stop request.
 *
 * Suspend: the board is assumed to power CPU3 off in suspend (not verified
 * on silicon; docs/kernel.md), so by default the firmware is stopped
 * before the system suspends (PM_SUSPEND_PREPARE, user space not frozen
 * yet) and booted again from its file after resume (PM_POST_SUSPEND);
 * realtek,refuse-suspend refuses suspend with -EBUSY while it runs.
 */

static ssize_t keep_running_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct rtd_amp_rproc *ddata = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%c\n", READ_ONCE(ddata->keep_running) ? 'Y' : 'N');
}

static ssize_t keep_running_store(struct device *dev,
				  struct device_attribute *attr,
				  const char *buf, size_t count)
{
	struct rtd_amp_rproc *ddata = dev_get_drvdata(dev);
	bool v;
	int ret = kstrtobool(buf, &v);

	if (ret)
		return ret;
	WRITE_ONCE(ddata->keep_running, v);
	return count;
}
static DEVICE_ATTR_RW(keep_running);

static struct attribute *rtd_amp_attrs[] = {
	&dev_attr_keep_running.attr,
	&dev_attr_core_state.attr,
	NULL
};
ATTRIBUTE_GROUPS(rtd_amp);

/*
 * Reboot, kexec, power-off (device_shutdown()). Keeping it running: an
 * attached processor is detached, a started one torn down by the core
 * with .stop leaving the core on (as an unbind does, rtd_amp_leave); the
 * next kernel finds the core on with a valid control page and registers
 * it detached. Stopping: through the core for a started or attached
 * processor; any other state with the core on (detached, crashed, a page
 * not trusted at probe) gets the stop request directly.
 */
static void rtd_amp_rproc_shutdown(struct platform_device *pdev)
{
	struct rtd_amp_rproc *ddata = platform_get_drvdata(pdev);
	struct rproc *rproc = ddata->rproc;
	bool keep = READ_ONCE(ddata->keep_running) &&
		    system_state == SYSTEM_RESTART;
	int ret = 0;

	switch (rproc->state) {
	case RPROC_ATTACHED:
		if (keep) {
			ret = rproc_detach(rproc);
			break;
		}
		ret = rproc_shutdown(rproc);
		break;
	case RPROC_RUNNING:
		ddata->leaving = keep;
		ret = rproc_shutdown(rproc);
		break;
	default:
		if (!keep &&
		    rtd_amp_affinity(ddata) == PSCI_0_2_AFFINITY_LEVEL_ON)
			ret = rtd_amp_stop_core(ddata);
		break;
	}
	if (ret)
		dev_err(ddata->dev, "shutdown: letting go of MPIDR %#llx failed: %d\n",
			ddata->mpidr, ret);
	else if (keep)
		dev_info(ddata->dev, "shutdown: the firmware on MPIDR %#llx keeps running for the next kernel (keep_running)\n",
			 ddata->mpidr);
}

/* Stops whatever runs on the core before suspend; 0 when it is off. */
static int rtd_amp_pm_stop(struct rtd_amp_rproc *ddata)
{
	struct rproc *rproc = ddata->rproc;
	int ret;

	if (rproc->state == RPROC_RUNNING || rproc->state == RPROC_ATTACHED) {
		ret = rproc_shutdown(rproc);
		/* .stop lets go of a core that stays on: not for suspend. */
		if (!ret && READ_ONCE(ddata->stuck))
			return -EBUSY;
		if (!ret)
			ddata->boot_on_resume = true;
		return ret;
	}
	/*
	 * Detached (or on without a trusted page, or crashed): ask the
	 * firmware to stop. A detached processor whose core is off is
	 * offline: it is marked so under the core's lock, and booted from
	 * its file on resume like a started one.
	 */
	ret = mutex_lock_interruptible(&rproc->lock);
	if (ret)
		return ret;
	ret = rtd_amp_stop_core(ddata);
	if (!ret && rproc->state == RPROC_DETACHED) {
		rproc->state = RPROC_OFFLINE;
		ddata->boot_on_resume = true;
	}
	mutex_unlock(&rproc->lock);
	return ret;
}

static int rtd_amp_pm_notify(struct notifier_block *nb, unsigned long action,
			     void *unused)
{
	struct rtd_amp_rproc *ddata = container_of(nb, struct rtd_amp_rproc,
						   pm_nb);
	struct rproc *rproc = ddata->rproc;
	int ret;

	switch (action) {
	case PM_SUSPEND_PREPARE:
	case PM_HIBERNATION_PREPARE:
		ddata->boot_on_resume = false;
		if (rtd_amp_affinity(ddata) != PSCI_0_2_AFFINITY_LEVEL_ON)
			return NOTIFY_DONE;
		if (ddata->refuse_suspend) {
			dev_err(ddata->dev, "suspend refused: the firmware on MPIDR %#llx runs (realtek,refuse-suspend); stop it first\n",
				ddata->mpidr);
			return notifier_from_errno(-EBUSY);
		}
		ret = rtd_amp_pm_stop(ddata);
		if (ret) {
			dev_err(ddata->dev, "suspend refused: the firmware on MPIDR %#llx did not stop: %d\n",
				ddata->mpidr, ret);
			return notifier_from_errno(-EBUSY);
		}
		dev_info(ddata->dev, "suspend: stopped the firmware on MPIDR %#llx (its power is off in suspend); it boots again on resume\n",
			 ddata->mpidr);
		return NOTIFY_OK;
	case PM_POST_SUSPEND:
	case PM_POST_HIBERNATION:
		if (!ddata->boot_on_resume)
			return NOTIFY_DONE;
		ddata->boot_on_resume = false;
		if (rproc->state != RPROC_OFFLINE)
			return NOTIFY_DONE;
		ret = rproc_boot(rproc);
		if (ret)
			dev_err(ddata->dev, "resume: booting the firmware again failed: %d\n",
				ret);
		else
			dev_info(ddata->dev, "resume: the firmware on MPIDR %#llx booted again\n",
				 ddata->mpidr);
		return NOTIFY_OK;
	}
	return NOTIFY_DONE;
}

/*
 * Last checks, with user space frozen: a start between the notifier and
 * the freeze leaves the core on, which the suspend must not hide; after
 * resume, a processor still called running or attached whose core is off
 * lost its power (a platform that powers CPU3 off behind Linux's back): a
 * crash, so that it is never reported running.
 */
static int rtd_amp_pm_suspend(struct device *dev)
{
	struct rtd_amp_rproc *ddata = dev_get_drvdata(dev);

	if (rtd_amp_affinity(ddata) != PSCI_0_2_AFFINITY_LEVEL_ON)
		return 0;
	dev_err(dev, "suspend refused: MPIDR %#llx is on (started after the suspend began?)\n",
		ddata->mpidr);
	return -EBUSY;
}

static int rtd_amp_pm_resume(struct device *dev)
{
	struct rtd_amp_rproc *ddata = dev_get_drvdata(dev);
	struct rproc *rproc = ddata->rproc;

	if (rproc->state != RPROC_RUNNING && rproc->state != RPROC_ATTACHED)
		return 0;
	if (rtd_amp_affinity(ddata) == PSCI_0_2_AFFINITY_LEVEL_ON)
		return 0;
	dev_err(dev, "resume: MPIDR %#llx lost its power in suspend; reporting a crash\n",
		ddata->mpidr);
	rproc_report_crash(rproc, RPROC_FATAL_ERROR);
	return 0;
}

static DEFINE_SIMPLE_DEV_PM_OPS(rtd_amp_pm_ops, rtd_amp_pm_suspend,
				rtd_amp_pm_resume);

static void rtd_amp_pm_remove(void *data)
{
	struct rtd_amp_rproc *ddata = data;

	unregister_pm_notifier(&ddata->pm_nb);
}

/* The DT's policies; the suspend notifier (removed before rproc_del()). */
static int rtd_amp_pm_probe(struct rtd_amp_rproc *ddata)
{
	struct device_node *np = ddata->dev->of_node;
	int ret;

	ddata->keep_running = of_property_read_bool(np, "realtek,keep-running");
	ddata->refuse_suspend = of_property_read_bool(np, "realtek,refuse-suspend");
	ddata->pm_nb.notifier_call = rtd_amp_pm_notify;
	ret = register_pm_notifier(&ddata->pm_nb);
	if (ret)
		return ret;
	return devm_add_action_or_reset(ddata->dev, rtd_amp_pm_remove, ddata);
}
