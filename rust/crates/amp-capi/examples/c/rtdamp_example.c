/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * librtdamp example: show a remote processor's state, start it, wait until
 * it runs, exchange one message with an endpoint, stop it.
 *
 *   rtdamp_example RPROC [ENDPOINT_DEV]
 *
 * Build: cc rtdamp_example.c $(pkg-config --cflags --libs rtdamp)
 * The environment variable RTD_AMP_ROOT, when set, is passed to
 * rtdamp_set_root (the tests run it against a temp-dir test double).
 * Exit status: 0 when every step worked, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtdamp.h"

static int fail(const char *what, int rc)
{
	fprintf(stderr, "%s: %s (%s)\n", what, strerror(-rc), rtdamp_last_error());
	return 1;
}

/* Polls the state until it is `want` (at most ~10 s). */
static int wait_state(const char *rproc, rtdamp_state want)
{
	struct timespec ten_ms = { 0, 10 * 1000 * 1000 };
	rtdamp_state st;
	int i, rc;

	for (i = 0; i < 1000; i++) {
		rc = rtdamp_rproc_state(rproc, &st);
		if (rc < 0)
			return rc;
		if (st == want)
			return 0;
		nanosleep(&ten_ms, NULL);
	}
	return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	const char *rproc, *root = getenv("RTD_AMP_ROOT");
	rtdamp_state st;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s RPROC [ENDPOINT_DEV]\n", argv[0]);
		return 2;
	}
	rproc = argv[1];
	if (root && (rc = rtdamp_set_root(root)) < 0)
		return fail("set root", rc);

	rc = rtdamp_rproc_state(rproc, &st);
	if (rc < 0)
		return fail("state", rc);
	printf("%s: %s\n", rproc, rtdamp_state_name(st));

	rc = rtdamp_rproc_start(rproc);
	if (rc < 0)
		return fail("start", rc);
	rc = wait_state(rproc, RTDAMP_STATE_RUNNING);
	if (rc < 0)
		return fail("wait for running", rc);
	printf("%s: started, %s\n", rproc, rtdamp_state_name(RTDAMP_STATE_RUNNING));

	if (argc > 2) {
		static const char msg[] = "hello from C";
		char buf[RTDAMP_MAX_PAYLOAD];
		rtdamp_endpoint *ep = NULL;
		ssize_t n;

		rc = rtdamp_endpoint_open_dev(argv[2], &ep);
		if (rc < 0)
			return fail("open endpoint", rc);
		rc = rtdamp_send(ep, msg, sizeof msg - 1, 1000);
		if (rc < 0)
			return fail("send", rc);
		n = rtdamp_recv(ep, buf, sizeof buf, 1000);
		if (n < 0)
			return fail("recv", (int)n);
		printf("received %zd bytes: %.*s\n", n, (int)n, buf);
		/* Nothing else is queued: a short wait must time out. */
		n = rtdamp_recv(ep, buf, sizeof buf, 10);
		if (n != -ETIMEDOUT) {
			fprintf(stderr, "expected a timeout, got %zd\n", n);
			return 1;
		}
		rtdamp_endpoint_close(ep);
	}

	/* Errors come back as negative errno values with a message. */
	rc = rtdamp_rproc_state("no-such-rproc", &st);
	if (rc != -ENOENT) {
		fprintf(stderr, "expected -ENOENT for a missing processor, got %d\n", rc);
		return 1;
	}
	printf("missing processor: %s\n", rtdamp_last_error());

	rc = rtdamp_rproc_stop(rproc);
	if (rc < 0)
		return fail("stop", rc);
	rc = wait_state(rproc, RTDAMP_STATE_OFFLINE);
	if (rc < 0)
		return fail("wait for offline", rc);
	printf("%s: stopped\n", rproc);
	return 0;
}
