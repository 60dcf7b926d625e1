// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * ampcapi: the twin's echo round trip through librtdamp (the C API,
 * rust/crates/amp-capi), linked statically for arm64 by scripts/qemu-amp,
 * so that tests.d/20-perf.sh can put the library's cost beside ampt's bare
 * system calls (docs/benchmarks.md, "Round-trip breakdown").
 *
 *   ampcapi bench DEV SIZE COUNT [block]
 *
 * COUNT sequential echoes of SIZE bytes through rtdamp_send/rtdamp_recv on
 * the endpoint device DEV (rtdamp_endpoint_open_dev). By default both calls
 * get a timeout (5000 ms), as an application that must not hang passes one:
 * the library then writes non-blocking (virtio-rpmsg never reports
 * POLLOUT) and polls before reading. With "block" both get -1: one write()
 * and one blocking read(), a watchdog alarm (no SA_RESTART) ends a lost
 * reply as -EINTR. Every message carries its own
 * pattern and every reply is checked byte for byte; one line as ampt bench:
 * "capibench N B: p50 X us, p99 Y us, ..." or "capibench: FAIL ...".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rtdamp.h"

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int bench(const char *dev, int size, int count, int block)
{
	uint8_t out[RTDAMP_MAX_PAYLOAD], in[RTDAMP_MAX_PAYLOAD];
	double *lat, t0, total = 0;
	int timeout = block ? -1 : 5000;
	struct sigaction sa = { .sa_handler = on_alarm };
	rtdamp_endpoint *ep;
	int r;

	if (size < 1 || size > (int)RTDAMP_MAX_PAYLOAD || count < 1) {
		printf("capibench: FAIL bad arguments (size 1..%u, count >= 1)\n", RTDAMP_MAX_PAYLOAD);
		return 2;
	}
	lat = calloc(count, sizeof(*lat));
	if (!lat) {
		printf("capibench: FAIL out of memory\n");
		return 2;
	}
	r = rtdamp_endpoint_open_dev(dev, &ep);
	if (r < 0) {
		printf("capibench: FAIL open %s: %s\n", dev, rtdamp_last_error());
		return 1;
	}
	if (block)
		sigaction(SIGALRM, &sa, NULL);
	for (int i = 0; i < count; i++) {
		ssize_t n;

		for (int k = 0; k < size; k++)
			out[k] = (uint8_t)(i * 31 + k * 7);
		t0 = now_us();
		r = rtdamp_send(ep, out, size, timeout);
		if (r < 0) {
			printf("capibench: FAIL message %d: send: %s\n", i, rtdamp_last_error());
			return 1;
		}
		if (block)
			alarm(5);
		n = rtdamp_recv(ep, in, sizeof(in), timeout);
		if (block)
			alarm(0);
		lat[i] = now_us() - t0;
		total += lat[i];
		if (n < 0) {
			printf("capibench: FAIL message %d: recv: %s\n", i, rtdamp_last_error());
			return 1;
		}
		if (n != size || memcmp(in, out, size)) {
			printf("capibench: FAIL message %d: %zd bytes back for %d sent%s\n", i, n, size,
			       n == size ? ", content differs" : "");
			return 1;
		}
	}
	rtdamp_endpoint_close(ep);
	qsort(lat, count, sizeof(*lat), cmp_double);
	printf("capibench %d B: p50 %.0f us, p99 %.0f us, %.3f MB/s one way (%d round trips, content checked)\n",
	       size, lat[count / 2], lat[(count * 99) / 100], size * (double)count / total, count);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "bench"))
		return bench(argv[2], atoi(argv[3]), atoi(argv[4]),
			     argc >= 6 && !strcmp(argv[5], "block"));
	fprintf(stderr, "usage: ampcapi bench DEV SIZE N [block]\n");
	return 2;
}
