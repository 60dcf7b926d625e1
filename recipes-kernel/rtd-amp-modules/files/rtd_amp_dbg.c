// SPDX-License-Identifier: GPL-2.0
/*
 * Debug-only part of rtd_amp_rproc, compiled into it only when the modules
 * are built with RTD_AMP_DEBUG=1 (Kbuild; the recipe sets it only with the
 * rtd-amp-debug DISTRO_FEATURE): the bare doorbell round trip.
 *
 * debugfs remoteprocN/rtd_amp_doorbell_rtt (root, 0600): writing a count N
 * (1..RTD_AMP_RTT_MAX) pings the running firmware N times, one at a time,
 * and returns when done; reading gives the last run as one line
 * "n=N min_ns=A p50_ns=B p99_ns=C max_ns=D lost=L". A ping writes a new
 * sequence number to the control page (CTRL_PING_SEQ) and rings the SGI;
 * the firmware, woken by it, copies the number to CTRL_PING_ACK and rings
 * its SPI at once, without touching the vrings. The time is taken from the
 * SGI to the wake-up of the writer by the rx callback (hard IRQ, IRQ
 * thread, mailbox core, rtd_amp_rproc_rx, completion): the same path every
 * RPMsg reply takes up to the virtio callbacks. A reply missing after
 * RTD_AMP_RTT_TIMEOUT_MS counts as lost.
 *
 * Included by rtd_amp_rproc.c (not a Kbuild object of its own, so that
 * the module keeps its name and production builds do not carry this code
 * at all); it uses that file's struct rtd_amp_rproc and rtd_amp_ring().
 */

#include <linux/completion.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sort.h>

#define RTD_AMP_RTT_MAX		100000
#define RTD_AMP_RTT_TIMEOUT_MS	100

static void rtd_amp_ping_init(struct rtd_amp_rproc *ddata)
{
	mutex_init(&ddata->ping.lock);
	init_completion(&ddata->ping.done);
}

/* From rtd_amp_rproc_rx, on every doorbell of the firmware. */
static void rtd_amp_ping_rx(struct rtd_amp_rproc *ddata)
{
	struct rtd_amp_ping *p = &ddata->ping;
	u32 seq = READ_ONCE(p->expect);

	if (seq && readl(ddata->ctrl + CTRL_PING_ACK) == seq) {
		WRITE_ONCE(p->expect, 0);
		complete(&p->done);
	}
}

static int rtd_amp_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* One ping: its round trip in ns, or -ETIMEDOUT. */
static s64 rtd_amp_ping_once(struct rtd_amp_rproc *ddata)
{
	struct rtd_amp_ping *p = &ddata->ping;
	unsigned long left = msecs_to_jiffies(RTD_AMP_RTT_TIMEOUT_MS);
	u64 t0;
	u32 seq;

	seq = ++p->seq;
	if (!seq)
		seq = ++p->seq;
	reinit_completion(&p->done);
	WRITE_ONCE(p->expect, seq);
	writel(seq, ddata->ctrl + CTRL_PING_SEQ);
	t0 = ktime_get_ns();
	rtd_amp_ring(ddata);
	/*
	 * A completion left over from a ping that timed out just before may
	 * wake us early: only the rx callback having seen the firmware's
	 * acknowledgment ends the ping. An acknowledgment without its
	 * doorbell is lost, like no answer at all.
	 */
	while (left) {
		left = wait_for_completion_timeout(&p->done, left);
		if (left && !READ_ONCE(p->expect) &&
		    readl(ddata->ctrl + CTRL_PING_ACK) == seq)
			return ktime_get_ns() - t0;
		reinit_completion(&p->done);
	}
	WRITE_ONCE(p->expect, 0);
	return -ETIMEDOUT;
}

static int rtd_amp_rtt_run(struct rtd_amp_rproc *ddata, u32 n)
{
	struct rtd_amp_ping *p = &ddata->ping;
	u32 i, got = 0, lost = 0;
	u64 *ns;
	s64 t;

	ns = kvmalloc_array(n, sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (READ_ONCE(ddata->rproc->state) != RPROC_RUNNING) {
			kvfree(ns);
			return -ENODEV;
		}
		if (fatal_signal_pending(current)) {
			kvfree(ns);
			return -EINTR;
		}
		t = rtd_amp_ping_once(ddata);
		if (t < 0)
			lost++;
		else
			ns[got++] = t;
	}
	sort(ns, got, sizeof(*ns), rtd_amp_cmp_u64, NULL);
	p->n = n;
	p->lost = lost;
	p->min = got ? ns[0] : 0;
	p->p50 = got ? ns[got / 2] : 0;
	p->p99 = got ? ns[(u64)got * 99 / 100] : 0;
	p->max = got ? ns[got - 1] : 0;
	kvfree(ns);
	return 0;
}

static ssize_t rtd_amp_rtt_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	struct rtd_amp_rproc *ddata = file->private_data;
	struct rtd_amp_ping *p = &ddata->ping;
	u32 n;
	int ret;

	ret = kstrtou32_from_user(ubuf, len, 10, &n);
	if (ret)
		return ret;
	if (n < 1 || n > RTD_AMP_RTT_MAX)
		return -EINVAL;
	if (READ_ONCE(ddata->rproc->state) != RPROC_RUNNING)
		return -ENODEV;
	if (!mutex_trylock(&p->lock))
		return -EBUSY;
	ret = rtd_amp_rtt_run(ddata, n);
	mutex_unlock(&p->lock);
	return ret ? ret : len;
}

static ssize_t rtd_amp_rtt_read(struct file *file, char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct rtd_amp_rproc *ddata = file->private_data;
	struct rtd_amp_ping *p = &ddata->ping;
	char line[128];
	int n;

	mutex_lock(&p->lock);
	n = scnprintf(line, sizeof(line),
		      "n=%u min_ns=%llu p50_ns=%llu p99_ns=%llu max_ns=%llu lost=%u\n",
		      p->n, p->min, p->p50, p->p99, p->max, p->lost);
	mutex_unlock(&p->lock);
	return simple_read_from_buffer(ubuf, len, ppos, line, n);
}

static const struct file_operations rtd_amp_rtt_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = rtd_amp_rtt_read,
	.write = rtd_amp_rtt_write,
	.llseek = default_llseek,
};

static void rtd_amp_dbg_add(struct rtd_amp_rproc *ddata)
{
	debugfs_create_file("rtd_amp_doorbell_rtt", 0600, ddata->rproc->dbg_dir,
			    ddata, &rtd_amp_rtt_fops);
}
