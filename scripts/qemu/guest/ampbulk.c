// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * The twin's probe of the bulk channel's device (/dev/rtd-amp-bulkN,
 * rtd_amp_bulk.c): what mmap refuses and allows, the doorbell counter.
 *
 *   ampbulk maps DEV SIZE      every mmap rule; one line per case, exit 1
 *                              if any case is not as the driver documents
 *   ampbulk wait DEV MS        poll for a firmware doorbell, print the count
 *   ampbulk again DEV          a non-blocking read right after open: EAGAIN
 *   ampbulk ring DEV           ring the firmware's doorbell (write 8 bytes)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int bad;

static void expect_fail(const char *what, void *p, int want_errno)
{
	if (p != MAP_FAILED) {
		printf("ko %s: mapped\n", what);
		bad = 1;
	} else if (errno != want_errno) {
		printf("ko %s: errno %d (%s), want %d\n", what, errno, strerror(errno), want_errno);
		bad = 1;
	} else {
		printf("ok %s: %s\n", what, strerror(errno));
	}
}

static int cmd_maps(const char *dev, size_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	int fd = open(dev, O_RDWR), ro;
	volatile uint32_t *a, *b;
	void *p;

	if (fd < 0) {
		perror(dev);
		return 2;
	}
	expect_fail("private mapping", mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), EINVAL);
	expect_fail("executable mapping", mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0), EINVAL);
	expect_fail("one page past the end", mmap(NULL, size + pg, PROT_READ, MAP_SHARED, fd, 0), EINVAL);
	expect_fail("offset at the end", mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, size), EINVAL);
	expect_fail("last page + one", mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, fd, size - pg), EINVAL);
	expect_fail("huge offset", mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, (off_t)1 << 40), EINVAL);
	ro = open(dev, O_RDONLY);
	expect_fail("writable mapping of a read-only open",
		    mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), EACCES);
	close(ro);

	/* The whole region, and its last page through an offset: one memory. */
	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, size - pg);
	if (a == MAP_FAILED || b == MAP_FAILED) {
		printf("ko whole region and last page: %s\n", strerror(errno));
		return 1;
	}
	a[(size - pg) / 4 + 3] = 0x5a5aa5a5;
	b[4] = 0x12345678;
	if (b[3] != 0x5a5aa5a5 || a[(size - pg) / 4 + 4] != 0x12345678) {
		printf("ko the two mappings do not share memory\n");
		bad = 1;
	} else {
		printf("ok whole region and its last page share memory\n");
	}
	a[(size - pg) / 4 + 3] = 0;
	a[(size - pg) / 4 + 4] = 0;
	p = (void *)a;
	if (mprotect(p, pg, PROT_READ | PROT_EXEC) == 0) {
		printf("ko mprotect(PROT_EXEC) allowed\n");
		bad = 1;
	} else {
		printf("ok mprotect(PROT_EXEC): %s\n", strerror(errno));
	}
	if (mremap(p, size, size + pg, 0) != MAP_FAILED) {
		printf("ko mremap grew the mapping\n");
		bad = 1;
	} else {
		printf("ok mremap past the region: %s\n", strerror(errno));
	}
	munmap(p, size);
	munmap((void *)b, pg);
	close(fd);
	return bad;
}

static int cmd_wait(const char *dev, int ms)
{
	int fd = open(dev, O_RDWR);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t n;
	int r;

	if (fd < 0) {
		perror(dev);
		return 2;
	}
	r = poll(&pfd, 1, ms);
	if (r <= 0 || !(pfd.revents & POLLIN)) {
		printf("no doorbell within %d ms\n", ms);
		return 1;
	}
	if (read(fd, &n, sizeof(n)) != sizeof(n)) {
		perror("read");
		return 1;
	}
	printf("doorbells %llu\n", (unsigned long long)n);
	return 0;
}

static int cmd_again(const char *dev)
{
	int fd = open(dev, O_RDWR | O_NONBLOCK);
	uint64_t n;

	if (fd < 0) {
		perror(dev);
		return 2;
	}
	if (read(fd, &n, sizeof(n)) >= 0 || errno != EAGAIN) {
		printf("ko read without a new doorbell: %s\n", strerror(errno));
		return 1;
	}
	if (read(fd, &n, 4) >= 0 || errno != EINVAL) {
		printf("ko a 4-byte read: %s\n", strerror(errno));
		return 1;
	}
	printf("ok EAGAIN without a new doorbell, EINVAL for a short read\n");
	return 0;
}

static int cmd_ring(const char *dev)
{
	int fd = open(dev, O_RDWR);
	uint64_t one = 1;

	if (fd < 0) {
		perror(dev);
		return 2;
	}
	if (write(fd, &one, sizeof(one)) != sizeof(one)) {
		perror("write");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "maps"))
		return cmd_maps(argv[2], strtoul(argv[3], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "wait"))
		return cmd_wait(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "again"))
		return cmd_again(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "ring"))
		return cmd_ring(argv[2]);
	fprintf(stderr, "usage: ampbulk maps DEV SIZE | wait DEV MS | again DEV | ring DEV\n");
	return 2;
}
