// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * librtdamp's bulk channel from C: records through the firmware's bulk echo
 * service, zero-copy (reserve/commit, recv_borrowed/release) and one-copy
 * (send/recv), every byte of every echo checked.
 *
 *   rtdamp_bulk_example [DEV [COUNT]]    (default /dev/rtd-amp-bulk0, 16)
 */
#include <rtdamp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE 65536

static unsigned char pat(uint32_t seq, size_t i)
{
	return (unsigned char)(seq * 131u + i * 7u + (i >> 8));
}

static int check(const unsigned char *p, size_t n, uint32_t seq)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != pat(seq, i)) {
			fprintf(stderr, "record %u: byte %zu is %#x, want %#x\n", seq, i, p[i],
				pat(seq, i));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : NULL;
	int count = argc > 2 ? atoi(argv[2]) : 16;
	static unsigned char buf[SIZE];
	rtdamp_bulk *b;
	uint32_t tag;
	int r;

	r = rtdamp_bulk_open(dev, &b);
	if (r < 0) {
		fprintf(stderr, "open: %s\n", rtdamp_last_error());
		return 1;
	}
	printf("max payload %zu\n", rtdamp_bulk_max_payload(b));
	for (uint32_t seq = 0; seq < (uint32_t)count; seq++) {
		void *w;
		const void *rd;
		ssize_t n;

		/* Zero-copy: write the record in the ring, read the echo there. */
		r = rtdamp_bulk_reserve(b, SIZE, &w, 5000);
		if (r < 0)
			goto fail;
		for (size_t i = 0; i < SIZE; i++)
			((unsigned char *)w)[i] = pat(seq, i);
		r = rtdamp_bulk_commit(b, SIZE, SIZE, seq);
		if (r < 0)
			goto fail;
		n = rtdamp_bulk_recv_borrowed(b, &rd, &tag, 5000);
		if (n < 0) {
			r = (int)n;
			goto fail;
		}
		if (n != SIZE || tag != seq || check(rd, (size_t)n, seq)) {
			fprintf(stderr, "echo %u: %zd bytes, tag %u\n", seq, n, tag);
			return 1;
		}
		r = rtdamp_bulk_release(b);
		if (r < 0)
			goto fail;
	}
	/* One copy. */
	for (size_t i = 0; i < 1000; i++)
		buf[i] = pat(7777, i);
	r = rtdamp_bulk_send(b, buf, 1000, 7777, 5000);
	if (r < 0)
		goto fail;
	memset(buf, 0, sizeof(buf));
	if (rtdamp_bulk_recv(b, buf, 999, &tag, 5000) != -EMSGSIZE) {
		fprintf(stderr, "a 1000-byte record into 999 bytes was not refused\n");
		return 1;
	}
	if (rtdamp_bulk_recv(b, buf, sizeof(buf), &tag, 5000) != 1000 || tag != 7777 ||
	    check(buf, 1000, 7777))
		return 1;
	printf("bulk: %d records of %d bytes and one copied record echoed, every byte checked\n",
	       count, SIZE);
	rtdamp_bulk_close(b);
	return 0;
fail:
	fprintf(stderr, "bulk: %s (%d)\n", rtdamp_last_error(), r);
	rtdamp_bulk_close(b);
	return 1;
}
