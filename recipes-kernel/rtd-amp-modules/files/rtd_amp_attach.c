// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attaching to a firmware this driver did not start, and detaching from it
 * (docs/kernel.md, "Attach and detach"). Included by rtd_amp_rproc.c.
 *
 * At probe, when PSCI AFFINITY_INFO says the remote core is on and its
 * control page (layout version 2, rtd_amp_ctrl.h) passes every rule of
 * amp-ctrl-page's check_attach(), the processor is registered as
 * RPROC_DETACHED; `echo start > state` then attaches (.attach,
 * .get_loaded_rsc_table) and `echo detach > state` (.detach) leaves the
 * firmware running. The remoteproc core only detaches an attached processor
 * (rproc_detach(): state != RPROC_ATTACHED is -EINVAL, remoteproc_core.c
 * 6.1 line 2075, 6.12 line 2066), so a firmware this driver started itself
 * is left running only through the keep_running policy (rtd_amp_pm.c,
 * rtd_amp_leave below).
 */

/* The DT memory-region named @name: its reserved memory, or NULL. */
static struct reserved_mem *rtd_amp_rmem_named(struct device *dev,
					       const char *name)
{
	struct of_phandle_iterator it;
	struct reserved_mem *rmem;

	of_phandle_iterator_init(&it, dev->of_node, "memory-region", NULL, 0);
	while (of_phandle_iterator_next(&it) == 0) {
		if (!of_node_name_eq(it.node, name))
			continue;
		rmem = of_reserved_mem_lookup(it.node);
		of_node_put(it.node);
		return rmem;
	}
	return NULL;
}

static __printf(2, 3) int rtd_amp_untrusted(struct rtd_amp_rproc *ddata,
					    const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	dev_warn(ddata->dev, "MPIDR %#llx is on, but its control page is not trusted: %pV; not attaching (start stops that core first)\n",
		 ddata->mpidr, &vaf);
	va_end(args);
	return -EINVAL;
}

/*
 * The rules of amp-ctrl-page's check_attach(), in its order: magic,
 * version, state running, the resource table's size and alignment, the
 * table inside the firmware carveout, a running-since stamp. Then the
 * table's header itself (version 1, reserved words zero, entry offsets
 * inside it); its entries are checked against the DT regions by
 * rtd_amp_check_rsc() when attaching, once .prepare has listed them.
 */
static int rtd_amp_check_page(struct rtd_amp_rproc *ddata)
{
	void __iomem *c = ddata->ctrl;
	struct reserved_mem *fw;
	u32 magic, version, state, size, num, i, off;
	u64 addr, run;
	void *t;
	int ret = 0;

	magic = readl(c + CTRL_MAGIC);
	if (magic != CTRL_MAGIC_VALUE)
		return rtd_amp_untrusted(ddata,
					 "magic %#x is not %#x", magic,
					 CTRL_MAGIC_VALUE);
	version = readl(c + CTRL_VERSION);
	if (version != CTRL_LAYOUT_VERSION)
		return rtd_amp_untrusted(ddata,
					 "control page version %u, this driver attaches to version %d only (version 1 firmware publishes no resource table)",
					 version, CTRL_LAYOUT_VERSION);
	state = readl(c + CTRL_FW_STATE);
	if (state != CTRL_STATE_RUNNING)
		return rtd_amp_untrusted(ddata,
					 "firmware state %u is not running (%d)",
					 state, CTRL_STATE_RUNNING);
	size = readl(c + CTRL_RSC_SIZE);
	if (size < CTRL_RSC_MIN_SIZE || size > CTRL_RSC_MAX_SIZE || size % 4)
		return rtd_amp_untrusted(ddata,
					 "resource table size %u is not a multiple of 4 in %d..%d",
					 size, CTRL_RSC_MIN_SIZE, CTRL_RSC_MAX_SIZE);
	addr = readq(c + CTRL_RSC_ADDR);
	fw = rtd_amp_rmem_named(ddata->dev, "firmware");
	if (!fw || addr % 8 || addr < fw->base ||
	    !rtd_amp_in(addr - fw->base, size, fw->size))
		return rtd_amp_untrusted(ddata,
					 "resource table %#llx + %#x is not inside the firmware carveout",
					 addr, size);
	run = readq(c + CTRL_RUN_CNT);
	if (!run)
		return rtd_amp_untrusted(ddata,
					 "no running-since stamp");

	t = memremap(addr, size, MEMREMAP_WC);
	if (!t)
		return rtd_amp_untrusted(ddata,
					 "cannot map the resource table at %#llx",
					 addr);
	num = ((u32 *)t)[1];
	if (((u32 *)t)[0] != 1 || ((u32 *)t)[2] || ((u32 *)t)[3])
		ret = rtd_amp_untrusted(ddata,
					"resource table header ver %u, reserved %#x %#x (want 1, 0, 0)",
					((u32 *)t)[0], ((u32 *)t)[2],
					((u32 *)t)[3]);
	else if (num > RTD_AMP_RSC_NUM_MAX ||
		 sizeof(struct resource_table) + 4 * (size_t)num > size)
		ret = rtd_amp_untrusted(ddata,
					"resource table has %u entries, more than its %u bytes hold",
					num, size);
	for (i = 0; !ret && i < num; i++) {
		off = ((u32 *)t)[4 + i];
		if (off % 4 || !rtd_amp_in(off, sizeof(struct fw_rsc_hdr), size))
			ret = rtd_amp_untrusted(ddata,
						"resource table entry %u at offset %#x is outside its %u bytes",
						i, off, size);
	}
	memunmap(t);
	if (ret)
		return ret;
	ddata->rsc_pa = addr;
	ddata->rsc_size = size;
	ddata->run_cnt = run;
	return 0;
}

/* Whether to register as detached: the core is on and its page valid. */
static bool rtd_amp_probe_running(struct rtd_amp_rproc *ddata)
{
	long aff = rtd_amp_affinity(ddata);

	if (aff != PSCI_0_2_AFFINITY_LEVEL_ON)
		return false;
	if (rtd_amp_check_page(ddata))
		return false;
	return true;
}

/* Seconds the firmware has been serving, from its running-since stamp. */
static u64 rtd_amp_fw_uptime_ms(struct rtd_amp_rproc *ddata)
{
	u64 frq = readq(ddata->ctrl + CTRL_RUN_FRQ);
	u64 now = arch_timer_read_counter();

	if (!frq || now < ddata->run_cnt)
		return 0;
	return div64_u64(now - ddata->run_cnt, div64_u64(frq, 1000) ?: 1);
}

/*
 * The table the running firmware uses, checked like a loaded image's
 * (rtd_amp_check_rsc: .prepare has listed the DT regions by now,
 * rproc_attach() calls .prepare before rproc_set_rsc_table()). The page is
 * read again: it may have changed since probe.
 */
static struct resource_table *rtd_amp_get_loaded_rsc_table(struct rproc *rproc,
							   size_t *size)
{
	struct rtd_amp_rproc *ddata = rproc->priv;
	void *copy;
	int ret;

	if (rtd_amp_affinity(ddata) != PSCI_0_2_AFFINITY_LEVEL_ON)
		return ERR_PTR(-ENODEV);
	if (rtd_amp_check_page(ddata))
		return ERR_PTR(-EINVAL);
	ddata->rsc_va = memremap(ddata->rsc_pa, ddata->rsc_size, MEMREMAP_WC);
	if (!ddata->rsc_va)
		return ERR_PTR(-ENOMEM);
	copy = kmemdup(ddata->rsc_va, ddata->rsc_size, GFP_KERNEL);
	ret = copy ? rtd_amp_check_rsc(rproc, copy, ddata->rsc_size) : -ENOMEM;
	kfree(copy);
	if (ret) {
		memunmap(ddata->rsc_va);
		ddata->rsc_va = NULL;
		return ERR_PTR(ret);
	}
	*size = ddata->rsc_size;
	return ddata->rsc_va;
}

static void rtd_amp_unmap_rsc(struct rtd_amp_rproc *ddata)
{
	if (ddata->rsc_va)
		memunmap(ddata->rsc_va);
	ddata->rsc_va = NULL;
}

static int rtd_amp_rproc_attach(struct rproc *rproc)
{
	struct rtd_amp_rproc *ddata = rproc->priv;

	ddata->crash_seq = readl(ddata->ctrl + CTRL_CRASH_SEQ);
	dev_info(ddata->dev, "attached to the firmware running on MPIDR %#llx for %llu ms (resource table %pa, %u bytes)\n",
		 ddata->mpidr, rtd_amp_fw_uptime_ms(ddata), &ddata->rsc_pa,
		 ddata->rsc_size);
	return 0;
}

/*
 * The core has reset the vdevs (status 0) and put the table back as it was
 * when Linux attached; ring so the firmware sees that now rather than at
 * the next attach. It keeps running.
 */
static int rtd_amp_rproc_detach(struct rproc *rproc)
{
	struct rtd_amp_rproc *ddata = rproc->priv;

	rtd_amp_ring(ddata);
	rtd_amp_unmap_rsc(ddata);
	dev_info(ddata->dev, "detached: the firmware on MPIDR %#llx keeps running (up %llu ms)\n",
		 ddata->mpidr, rtd_amp_fw_uptime_ms(ddata));
	return 0;
}

/*
 * Unbind with keep_running (rtd_amp_pm.c): before devm's rproc_del() (which would
 * stop a running or attached processor), detach an attached one, or mark a
 * started one so that .stop leaves the core running.
 */
static void rtd_amp_leave(void *data)
{
	struct rtd_amp_rproc *ddata = data;
	struct rproc *rproc = ddata->rproc;

	if (!READ_ONCE(ddata->keep_running))
		return;
	if (rproc->state == RPROC_ATTACHED)
		rproc_detach(rproc);
	else if (rproc->state == RPROC_RUNNING)
		ddata->leaving = true;
}

#ifdef RTD_AMP_DEBUG
/*
 * debugfs remoteprocN/rtd_amp_ctrl_poke (debug build only, root, write
 * only): "OFFSET VALUE" (both hex) writes the u32 VALUE at OFFSET of the
 * control page,
 * so the twin can hand the next probe a corrupted page. Never in a
 * production module.
 */
static ssize_t rtd_amp_poke_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	struct rtd_amp_rproc *ddata = file->private_data;
	char buf[32];
	unsigned int off, val;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%x %x", &off, &val) != 2 || off % 4 ||
	    off > CTRL_SIZE - 4)
		return -EINVAL;
	writel(val, ddata->ctrl + off);
	return len;
}

static const struct file_operations rtd_amp_poke_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = rtd_amp_poke_write,
	.llseek = noop_llseek,
};

static void rtd_amp_attach_dbg_add(struct rtd_amp_rproc *ddata)
{
	debugfs_create_file("rtd_amp_ctrl_poke", 0200, ddata->rproc->dbg_dir,
			    ddata, &rtd_amp_poke_fops);
}
#else
static void rtd_amp_attach_dbg_add(struct rtd_amp_rproc *ddata) {}
#endif
