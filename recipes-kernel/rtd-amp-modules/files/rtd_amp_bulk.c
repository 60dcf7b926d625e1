// SPDX-License-Identifier: GPL-2.0
/*
 * The bulk channel's kernel side, part of rtd_amp_rproc (included by
 * rtd_amp_rproc.c): the memory-region named "bulk" offered to user space as
 * a character device, /dev/rtd-amp-bulkN.
 *
 * The kernel never parses the rings in the region (their layout and every
 * check on it live in user space and the firmware, amp-proto's bulk
 * module): it maps the region, nothing else, so whatever the firmware or
 * an application writes there cannot make the kernel read or write outside
 * it. What the device does:
 *
 * - mmap: a MAP_SHARED mapping of (part of) the region, never executable,
 *   write-combined (Normal non-cacheable), the attributes the firmware maps
 *   it with (docs/design.md "Memory attributes"); offset and length must
 *   lie inside the region;
 * - read / poll: the doorbells from the firmware. A read returns the
 *   number of doorbells since the driver bound (u64, native endianness) and
 *   blocks until one arrived since this file's last read (or -EAGAIN with
 *   O_NONBLOCK); poll reports EPOLLIN under the same condition and EPOLLOUT
 *   always;
 * - write: 8 bytes ring the firmware's doorbell (the value is ignored).
 *
 * The doorbells are the RPMsg transport's (SGI to the core, SPI back),
 * carrying no data; every firmware doorbell wakes the bulk pollers too.
 * Access is the device node's: group of the applications, mode 0660 (the
 * layer's udev rule).
 */

#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

struct rtd_amp_bulk {
	struct kref ref;
	struct miscdevice misc;
	char name[24];
	int id;
	phys_addr_t base;
	resource_size_t size;
	wait_queue_head_t wq;
	atomic64_t doorbells;
	struct mutex lock;		/* guards ddata */
	struct rtd_amp_rproc *ddata;	/* NULL once the driver unbound */
};

struct rtd_amp_bulk_file {
	struct rtd_amp_bulk *bulk;
	u64 seen;
};

static DEFINE_IDA(rtd_amp_bulk_ida);

static void rtd_amp_bulk_free(struct kref *ref)
{
	struct rtd_amp_bulk *b = container_of(ref, struct rtd_amp_bulk, ref);

	ida_free(&rtd_amp_bulk_ida, b->id);
	kfree(b);
}

/* A doorbell from the firmware (the mailbox rx callback). */
static void rtd_amp_bulk_rx(struct rtd_amp_rproc *ddata)
{
	struct rtd_amp_bulk *b = ddata->bulk;

	if (!b)
		return;
	atomic64_inc(&b->doorbells);
	wake_up_interruptible_poll(&b->wq, EPOLLIN | EPOLLRDNORM);
}

static int rtd_amp_bulk_open(struct inode *inode, struct file *file)
{
	struct rtd_amp_bulk *b = container_of(file->private_data,
					      struct rtd_amp_bulk, misc);
	struct rtd_amp_bulk_file *f;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	kref_get(&b->ref);
	f->bulk = b;
	f->seen = atomic64_read(&b->doorbells);
	file->private_data = f;
	return 0;
}

static int rtd_amp_bulk_release(struct inode *inode, struct file *file)
{
	struct rtd_amp_bulk_file *f = file->private_data;

	kref_put(&f->bulk->ref, rtd_amp_bulk_free);
	kfree(f);
	return 0;
}

/* Never executable, not even later through mprotect(). */
static int rtd_amp_bulk_mprotect(struct vm_area_struct *vma, unsigned long start,
				 unsigned long end, unsigned long newflags)
{
	return newflags & VM_EXEC ? -EACCES : 0;
}

static const struct vm_operations_struct rtd_amp_bulk_vm_ops = {
	.mprotect = rtd_amp_bulk_mprotect,
};

static int rtd_amp_bulk_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct rtd_amp_bulk_file *f = file->private_data;
	struct rtd_amp_bulk *b = f->bulk;
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long pages = b->size >> PAGE_SHIFT;

	/* Shared, never executable, inside the region. */
	if (!(vma->vm_flags & VM_SHARED) || (vma->vm_flags & VM_EXEC))
		return -EINVAL;
	if (vma->vm_pgoff >= pages ||
	    len > (pages - vma->vm_pgoff) << PAGE_SHIFT)
		return -EINVAL;
	vma->vm_ops = &rtd_amp_bulk_vm_ops;
	vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);
	/* Sets VM_IO, VM_PFNMAP, VM_DONTEXPAND and VM_DONTDUMP. */
	return remap_pfn_range(vma, vma->vm_start,
			       PHYS_PFN(b->base) + vma->vm_pgoff, len,
			       vma->vm_page_prot);
}

static __poll_t rtd_amp_bulk_poll(struct file *file, poll_table *wait)
{
	struct rtd_amp_bulk_file *f = file->private_data;
	struct rtd_amp_bulk *b = f->bulk;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &b->wq, wait);
	if (atomic64_read(&b->doorbells) != READ_ONCE(f->seen))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

static ssize_t rtd_amp_bulk_read(struct file *file, char __user *buf,
				 size_t count, loff_t *ppos)
{
	struct rtd_amp_bulk_file *f = file->private_data;
	struct rtd_amp_bulk *b = f->bulk;
	u64 n;
	int err;

	if (count < sizeof(n))
		return -EINVAL;
	if (file->f_flags & O_NONBLOCK) {
		if (atomic64_read(&b->doorbells) == READ_ONCE(f->seen))
			return -EAGAIN;
	} else {
		err = wait_event_interruptible(b->wq,
					       atomic64_read(&b->doorbells) !=
					       READ_ONCE(f->seen));
		if (err)
			return err;
	}
	n = atomic64_read(&b->doorbells);
	WRITE_ONCE(f->seen, n);
	if (copy_to_user(buf, &n, sizeof(n)))
		return -EFAULT;
	return sizeof(n);
}

static ssize_t rtd_amp_bulk_write(struct file *file, const char __user *buf,
				  size_t count, loff_t *ppos)
{
	struct rtd_amp_bulk_file *f = file->private_data;
	struct rtd_amp_bulk *b = f->bulk;
	ssize_t ret = sizeof(u64);

	if (count != sizeof(u64))
		return -EINVAL;
	mutex_lock(&b->lock);
	if (b->ddata)
		rtd_amp_ring(b->ddata);
	else
		ret = -ENODEV;
	mutex_unlock(&b->lock);
	return ret;
}

static const struct file_operations rtd_amp_bulk_fops = {
	.owner = THIS_MODULE,
	.open = rtd_amp_bulk_open,
	.release = rtd_amp_bulk_release,
	.mmap = rtd_amp_bulk_mmap,
	.poll = rtd_amp_bulk_poll,
	.read = rtd_amp_bulk_read,
	.write = rtd_amp_bulk_write,
	.llseek = noop_llseek,
};

/* After the mailbox is gone: no doorbell can reach b any more. */
static void rtd_amp_bulk_put(void *data)
{
	struct rtd_amp_bulk *b = data;

	/* Open files keep b; their mappings are of reserved memory. */
	kref_put(&b->ref, rtd_amp_bulk_free);
}

/* Before the mailbox goes: no new opens, and writes stop ringing. */
static void rtd_amp_bulk_unregister(void *data)
{
	struct rtd_amp_bulk *b = data;

	misc_deregister(&b->misc);
	mutex_lock(&b->lock);
	b->ddata = NULL;
	mutex_unlock(&b->lock);
	wake_up_interruptible_all(&b->wq);
}

/*
 * Probe, part 1 (before the mailbox is requested, so that b outlives it):
 * the memory-region named "bulk", if the DT has one (it is optional: without
 * it there is no bulk device). Page aligned, as mmap hands out pages.
 */
static int rtd_amp_bulk_probe(struct rtd_amp_rproc *ddata)
{
	struct device *dev = ddata->dev;
	struct of_phandle_iterator it;
	struct reserved_mem *rmem = NULL;
	struct rtd_amp_bulk *b;
	int err;

	of_phandle_iterator_init(&it, dev->of_node, "memory-region", NULL, 0);
	while (of_phandle_iterator_next(&it) == 0) {
		if (of_node_name_eq(it.node, "bulk")) {
			rmem = of_reserved_mem_lookup(it.node);
			of_node_put(it.node);
			if (!rmem)
				return dev_err_probe(dev, -EINVAL,
						     "bulk region is not reserved memory\n");
			break;
		}
	}
	if (!rmem)
		return 0;
	if (!PAGE_ALIGNED(rmem->base) || !PAGE_ALIGNED(rmem->size) ||
	    !rmem->size)
		return dev_err_probe(dev, -EINVAL,
				     "bulk region %pa+%pa is not page aligned\n",
				     &rmem->base, &rmem->size);

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->id = ida_alloc(&rtd_amp_bulk_ida, GFP_KERNEL);
	if (b->id < 0) {
		err = b->id;
		kfree(b);
		return err;
	}
	kref_init(&b->ref);
	mutex_init(&b->lock);
	init_waitqueue_head(&b->wq);
	b->base = rmem->base;
	b->size = rmem->size;
	ddata->bulk = b;
	return devm_add_action_or_reset(dev, rtd_amp_bulk_put, b);
}

/* Probe, part 2 (the mailbox is there): the device node. */
static int rtd_amp_bulk_register(struct rtd_amp_rproc *ddata)
{
	struct rtd_amp_bulk *b = ddata->bulk;
	struct device *dev = ddata->dev;
	int err;

	if (!b)
		return 0;
	b->ddata = ddata;
	snprintf(b->name, sizeof(b->name), "rtd-amp-bulk%d", b->id);
	b->misc.minor = MISC_DYNAMIC_MINOR;
	b->misc.name = b->name;
	b->misc.fops = &rtd_amp_bulk_fops;
	b->misc.parent = dev;
	b->misc.mode = 0600;	/* udev: the application group, 0660 */
	err = misc_register(&b->misc);
	if (err)
		return dev_err_probe(dev, err, "cannot register %s\n", b->name);
	dev_info(dev, "bulk region %pa+%pa as /dev/%s\n", &b->base, &b->size,
		 b->name);
	return devm_add_action_or_reset(dev, rtd_amp_bulk_unregister, b);
}
