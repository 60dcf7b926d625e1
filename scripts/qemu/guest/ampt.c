// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * ampt: the QEMU twin's in-guest test tool. Drives /dev/rpmsg* the way an
 * application does and reports one line per action, so the guest suite in
 * tests.sh can check results with plain shell. Built static for arm64 by
 * scripts/qemu-amp; the real user-facing tools are ampctl and rtd-ampd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <linux/rpmsg.h>

#define MAX_PAYLOAD 496

static int open_dev(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

/* One message, or -errno; 0 bytes read on timeout is -ETIMEDOUT. */
static int recv_msg(int fd, uint8_t *buf, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	if (n == 0)
		return -ETIMEDOUT;
	if (n < 0)
		return -errno;
	n = read(fd, buf, MAX_PAYLOAD);
	return n < 0 ? -errno : n;
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void fill(uint8_t *b, int len, int seq)
{
	for (int i = 0; i < len; i++)
		b[i] = (uint8_t)(seq * 31 + i * 7);
}

/*
 * check_reply: 0 when IN holds exactly the LEN bytes of OUT, else prints
 * why (prefixed with WHAT and the message number) and returns 1. A reply
 * that is missing, short, long or corrupted fails the command, so a figure
 * is only printed for an echo that really came back intact.
 */
static int check_reply(const char *what, int i, const uint8_t *out, int len,
		       const uint8_t *in, int n)
{
	if (n < 0) {
		printf("%s: FAIL message %d: %s\n", what, i, strerror(-n));
		return 1;
	}
	if (n != len) {
		printf("%s: FAIL message %d: %d bytes back for %d sent\n", what, i, n, len);
		return 1;
	}
	for (int k = 0; k < len; k++) {
		if (in[k] != out[k]) {
			printf("%s: FAIL message %d: byte %d is 0x%02x, sent 0x%02x\n",
			       what, i, k, in[k], out[k]);
			return 1;
		}
	}
	return 0;
}

/* echo DEV COUNT: COUNT messages of 1..496 bytes, each checked. */
static int cmd_echo(const char *dev, int count)
{
	uint8_t out[MAX_PAYLOAD], in[MAX_PAYLOAD];
	int fd = open_dev(dev), ok = 0;

	for (int i = 0; i < count; i++) {
		int len = 1 + (i * 37) % MAX_PAYLOAD, n;

		fill(out, len, i);
		if (write(fd, out, len) != len) {
			printf("echo: write %d: %s\n", i, strerror(errno));
			break;
		}
		n = recv_msg(fd, in, 5000);
		if (check_reply("echo", i, out, len, in, n))
			break;
		ok++;
	}
	printf("echo: %d/%d ok\n", ok, count);
	close(fd);
	return ok == count ? 0 : 1;
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

/*
 * A reply by one blocking read(), a watchdog alarm as its timeout (the
 * read fails with EINTR; no SA_RESTART): one system call per reply
 * instead of poll() and read().
 */
static int recv_blocking(int fd, uint8_t *buf, int timeout_s)
{
	int n;

	alarm(timeout_s);
	n = read(fd, buf, MAX_PAYLOAD);
	alarm(0);
	if (n < 0)
		return errno == EINTR ? -ETIMEDOUT : -errno;
	return n;
}

/*
 * bench DEV SIZE COUNT [read]: round trips (median, p99) and throughput.
 * Every message carries its own pattern (seeded by its number), so a
 * reply that is stale or replayed fails as surely as a corrupted one.
 * Replies are awaited with poll() then read(), or with "read" by one
 * blocking read() (docs/benchmarks.md, "Round-trip breakdown").
 */
static int cmd_bench(const char *dev, int size, int count, int blocking)
{
	uint8_t out[MAX_PAYLOAD], in[MAX_PAYLOAD];
	double *lat = calloc(count > 0 ? count : 1, sizeof(*lat)), t0, total = 0;
	int fd = open_dev(dev);
	struct sigaction sa = { .sa_handler = on_alarm };

	if (!lat || size < 1 || size > MAX_PAYLOAD || count < 1) {
		printf("bench: FAIL bad arguments (size 1..%d, count >= 1)\n", MAX_PAYLOAD);
		return 2;
	}
	if (blocking)
		sigaction(SIGALRM, &sa, NULL);
	for (int i = 0; i < count; i++) {
		int n;

		fill(out, size, i);
		t0 = now_us();
		if (write(fd, out, size) != size) {
			printf("bench: FAIL message %d: write: %s\n", i, strerror(errno));
			return 1;
		}
		n = blocking ? recv_blocking(fd, in, 5) : recv_msg(fd, in, 5000);
		lat[i] = now_us() - t0;
		total += lat[i];
		if (check_reply("bench", i, out, size, in, n))
			return 1;
	}
	qsort(lat, count, sizeof(*lat), cmp_double);
	printf("bench %d B: p50 %.0f us, p99 %.0f us, %.3f MB/s one way (%d round trips, content checked)\n",
	       size, lat[count / 2], lat[(count * 99) / 100], size * (double)count / total,
	       count);
	close(fd);
	free(lat);
	return 0;
}

/*
 * ttybench TTY COUNT: round trips of 16-byte lines through the firmware's
 * tty service (it answers each line with "fw: " and the line), as bench:
 * median and p99, every reply checked.
 */
static int cmd_ttybench(const char *dev, int count)
{
	char out[17], in[64];
	double *lat = calloc(count > 0 ? count : 1, sizeof(*lat)), t0;
	int fd = open_dev(dev);
	struct termios tio;

	if (!lat || count < 1 || tcgetattr(fd, &tio)) {
		printf("ttybench: FAIL bad arguments or not a tty\n");
		return 2;
	}
	cfmakeraw(&tio);
	tcsetattr(fd, TCSANOW, &tio);
	tcflush(fd, TCIOFLUSH);
	for (int i = 0; i < count; i++) {
		int got = 0, want;

		snprintf(out, sizeof(out), "line %010d\n", i);
		want = 4 + (int)strlen(out);
		t0 = now_us();
		if (write(fd, out, strlen(out)) != (ssize_t)strlen(out)) {
			printf("ttybench: FAIL line %d: write: %s\n", i, strerror(errno));
			return 1;
		}
		while (got < want) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int n = poll(&p, 1, 5000);

			if (n <= 0) {
				printf("ttybench: FAIL line %d: no reply (%d of %d bytes)\n", i, got, want);
				return 1;
			}
			n = read(fd, in + got, sizeof(in) - 1 - got);
			if (n <= 0) {
				printf("ttybench: FAIL line %d: read: %s\n", i, strerror(errno));
				return 1;
			}
			got += n;
		}
		lat[i] = now_us() - t0;
		in[got] = 0;
		if (got != want || strncmp(in, "fw: ", 4) || strcmp(in + 4, out)) {
			printf("ttybench: FAIL line %d: got %d bytes '%.*s'\n", i, got, got, in);
			return 1;
		}
	}
	qsort(lat, count, sizeof(*lat), cmp_double);
	printf("ttybench 16 B: p50 %.0f us, p99 %.0f us (%d round trips, content checked)\n",
	       lat[count / 2], lat[(count * 99) / 100], count);
	close(fd);
	free(lat);
	return 0;
}

/*
 * stream DEV SIZE COUNT WINDOW: throughput with up to WINDOW echoes in
 * flight. Message i carries pattern i; replies must come back in order,
 * each intact.
 */
static int cmd_stream(const char *dev, int size, int count, int window)
{
	uint8_t out[MAX_PAYLOAD], in[MAX_PAYLOAD];
	int fd = open_dev(dev), sent = 0, got = 0;
	double start;

	if (size < 1 || size > MAX_PAYLOAD || count < 1 || window < 1) {
		printf("stream: FAIL bad arguments (size 1..%d, count, window >= 1)\n",
		       MAX_PAYLOAD);
		return 2;
	}
	start = now_us();
	while (got < count) {
		while (sent < count && sent - got < window) {
			fill(out, size, sent);
			if (write(fd, out, size) != size) {
				printf("stream: FAIL message %d: write: %s\n", sent, strerror(errno));
				return 1;
			}
			sent++;
		}
		int n = recv_msg(fd, in, 5000);

		fill(out, size, got);
		if (check_reply("stream", got, out, size, in, n))
			return 1;
		got++;
	}
	double total = now_us() - start;

	printf("stream %d B: %.3f MB/s each way, %.0f messages/s (%d echoes, window %d, content checked)\n",
	       size, size * (double)count / total, count * 1e6 / total, count, window);
	close(fd);
	return 0;
}

static int cmd_ept_create(const char *ctrl, const char *name, unsigned int src, unsigned int dst)
{
	struct rpmsg_endpoint_info ei = { .src = src, .dst = dst };
	int fd = open_dev(ctrl);

	snprintf(ei.name, sizeof(ei.name), "%s", name);
	if (ioctl(fd, RPMSG_CREATE_EPT_IOCTL, &ei)) {
		printf("create: %s\n", strerror(errno));
		return 1;
	}
	printf("create: ok\n");
	return 0;
}

static int cmd_ept_destroy(const char *dev)
{
	int fd = open_dev(dev);

	if (ioctl(fd, RPMSG_DESTROY_EPT_IOCTL)) {
		printf("destroy: %s\n", strerror(errno));
		return 1;
	}
	printf("destroy: ok\n");
	return 0;
}

static void put16(uint8_t *b, uint16_t v) { b[0] = v; b[1] = v >> 8; }
static void put32(uint8_t *b, uint32_t v) { for (int i = 0; i < 4; i++) b[i] = v >> (8 * i); }
static uint64_t get64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* ctl DEV ping|stats|fault KIND: the firmware's control protocol. */
static int cmd_ctl(const char *dev, const char *what, int kind)
{
	uint8_t req[16] = { 1 }, in[MAX_PAYLOAD];
	int fd = open_dev(dev), len = 8, n;

	put32(req + 4, 0x1234);
	if (!strcmp(what, "ping")) {
		req[1] = 1;
		put16(req + 2, 8);
		for (int i = 0; i < 8; i++)
			req[8 + i] = 0x11 * (i + 1);
		len = 16;
	} else if (!strcmp(what, "stats")) {
		req[1] = 3;
	} else if (!strcmp(what, "fault")) {
		req[1] = 4;
		put16(req + 2, 4);
		put32(req + 8, kind);
		len = 12;
	} else {
		printf("ctl: unknown request %s\n", what);
		return 2;
	}
	if (write(fd, req, len) != len) {
		printf("ctl: write: %s\n", strerror(errno));
		return 1;
	}
	n = recv_msg(fd, in, 5000);
	if (n < 8) {
		printf("ctl: no reply (%s)\n", n < 0 ? strerror(-n) : "short");
		return 1;
	}
	if (in[1] == 0x81 && n == 16 && !memcmp(in + 8, req + 8, 8))
		printf("ctl: pong ok\n");
	else if (in[1] == 0x83 && n == 40)
		printf("ctl: stats messages %llu bytes %llu errors %llu uptime_ms %llu\n",
		       (unsigned long long)get64(in + 8), (unsigned long long)get64(in + 16),
		       (unsigned long long)get64(in + 24), (unsigned long long)get64(in + 32));
	else if (in[1] == 0x84)
		printf("ctl: fault acknowledged\n");
	else if (in[1] == 0xff && n == 12)
		printf("ctl: error %u%s\n", in[8] | in[9] << 8,
		       (in[8] | in[9] << 8) == 4 ? " (unsupported)" : "");
	else
		printf("ctl: reply opcode 0x%02x, %d bytes\n", in[1], n);
	close(fd);
	return 0;
}

/*
 * ask DEV TEXT: one text request to a service, its one reply on stdout
 * (the firmware applications' text services: tests.d/70-template.sh,
 * 72-example.sh). The endpoint is closed when this returns, so the next
 * ask can open it at once (rpmsg_char allows one open at a time; a shell
 * `timeout` keeps its watcher holding the descriptor for up to a second).
 */
static int cmd_ask(const char *dev, const char *text)
{
	uint8_t in[MAX_PAYLOAD];
	int fd = open_dev(dev), len = strlen(text), n;

	if (write(fd, text, len) != len) {
		printf("ask: write: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	n = recv_msg(fd, in, 5000);
	close(fd);
	if (n < 0) {
		printf("ask: no reply (%s)\n", strerror(-n));
		return 1;
	}
	fwrite(in, 1, n, stdout);
	return 0;
}

/*
 * watch DEV MS: hold the endpoint open as an application would and report
 * what it sees when the channel goes away (crash, stop): poll events, then
 * the errno of read and write.
 */
static int cmd_watch(const char *dev, int timeout_ms)
{
	struct pollfd p = { .fd = open_dev(dev), .events = POLLIN };
	uint8_t b[MAX_PAYLOAD];
	int n = poll(&p, 1, timeout_ms), r, w;

	if (n == 0) {
		printf("watch: nothing within %d ms\n", timeout_ms);
		return 1;
	}
	r = read(p.fd, b, sizeof(b)) < 0 ? errno : 0;
	w = write(p.fd, b, 4) < 0 ? errno : 0;
	printf("watch: revents 0x%x read %s write %s\n", p.revents,
	       r ? strerrorname_np(r) : "ok", w ? strerrorname_np(w) : "ok");
	return 0;
}

/* pending DEV: messages already queued (stale or replayed ones). */
static int cmd_pending(const char *dev)
{
	uint8_t in[MAX_PAYLOAD];
	int fd = open_dev(dev), n = 0;

	while (recv_msg(fd, in, 200) > 0)
		n++;
	printf("pending: %d\n", n);
	return 0;
}

/* sock PATH LINE: one request to rtd-ampd's control socket, print the reply. */
static int cmd_sock(const char *path, const char *line)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[8192];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), n, got = 0;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		printf("sock: connect %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) != 1) {
		printf("sock: write: %s\n", strerror(errno));
		return 1;
	}
	while (got < (int)sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += n;
		if (memchr(buf, '\n', got))
			break;
	}
	buf[got] = 0;
	printf("%s%s", buf, got && buf[got - 1] == '\n' ? "" : "\n");
	close(fd);
	return got ? 0 : 1;
}

/*
 * as UID GID[,GID...] -- CMD...: run CMD with that user id, the first GID as
 * group and all of them as supplementary groups (busybox has no setpriv
 * that sets groups): an application's credentials, without root.
 */
static int cmd_as(char **argv)
{
	gid_t gids[32];
	uid_t uid = strtoul(argv[0], 0, 0);
	char *s = argv[1], *end;
	int n = 0;

	while (n < 32) {
		gids[n++] = strtoul(s, &end, 0);
		if (*end != ',')
			break;
		s = end + 1;
	}
	if (strcmp(argv[2], "--") || !argv[3]) {
		fprintf(stderr, "usage: ampt as UID GID[,GID...] -- CMD...\n");
		return 2;
	}
	if (setgroups(n, gids) || setgid(gids[0]) || setuid(uid)) {
		printf("as: %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[3], argv + 3);
	printf("as: exec %s: %s\n", argv[3], strerror(errno));
	return 127;
}

/* The /dev/rpmsgN whose endpoint is named NAME into PATH; 0 if found. */
static int find_named(const char *name, char *path, size_t len)
{
	char f[64], buf[64];

	for (int i = 0; i < 64; i++) {
		FILE *fp;

		snprintf(f, sizeof(f), "/sys/class/rpmsg/rpmsg%d/name", i);
		fp = fopen(f, "r");
		if (!fp)
			continue;
		if (fgets(buf, sizeof(buf), fp)) {
			buf[strcspn(buf, "\n")] = '\0';
			if (!strcmp(buf, name)) {
				fclose(fp);
				snprintf(path, len, "/dev/rpmsg%d", i);
				if (access(path, R_OK | W_OK) == 0)
					return 0;
				continue;
			}
		}
		fclose(fp);
	}
	return -1;
}

/*
 * seqstream NAME STOPFILE [COUNT [WINDOW]]: sequence-numbered echoes
 * ("SEQ#" and a 32-bit number, 1, 2, ...), up to WINDOW (default 1, at
 * most 64) in flight, through the endpoint named NAME, following it across
 * detach/attach, crashes and driver reloads. It stops after COUNT echoed
 * numbers (0: no limit), or once STOPFILE exists and what is in flight has
 * been answered (given up after 10 s without a device: then counted lost).
 *
 * Resend by sequence (docs/kernel.md, "Messages across detach and
 * attach"): when the device goes away or stops answering (2 s), the
 * numbers sent and not yet echoed are sent again, same numbers, on the
 * endpoint's new device. Linux discards what its endpoint had not
 * delivered when the virtio device is reset (a request written into the
 * ring after the reset, an echo not yet read), so without the resend each
 * detach costs the message in flight. Every echo is accounted: the next
 * expected number is accepted, a number already echoed is a duplicate (a
 * replay of an old ring by the firmware shows as one), any other is wrong
 * (a gap or a reordering). Prints one line:
 *   seqstream: sent S echoed E lost L wrong W dup D resent R opens O last N
 * (sent counts writes, resends included; lost counts numbers never echoed).
 */
static int cmd_seqstream(const char *name, const char *stop, unsigned long count,
			 unsigned int window)
{
	unsigned long sent = 0, echoed = 0, wrong = 0, dup = 0, resent = 0, opens = 0;
	uint32_t expect = 1, next = 1;
	double gone_since = 0;
	char path[64];
	int fd = -1;

	if (window < 1 || window > 64)
		window = 1;
	for (;;) {
		uint8_t out[8], in[MAX_PAYLOAD];
		int stopping = access(stop, F_OK) == 0 || (count && echoed >= count);
		uint32_t got;
		int n;

		if (stopping && next == expect)
			break;
		if (fd < 0) {
			if (find_named(name, path, sizeof(path)) ||
			    (fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
				if (!gone_since)
					gone_since = now_us();
				if (stopping && now_us() - gone_since > 10e6)
					break;
				usleep(20000);
				continue;
			}
			gone_since = 0;
			opens++;
			/* What the old device never answered, sent again. */
			resent += next - expect;
			next = expect;
		}
		n = 0;
		while (!stopping && next - expect < window &&
		       (!count || next <= count)) {
			memcpy(out, "SEQ#", 4);
			memcpy(out + 4, &next, 4);
			if (write(fd, out, sizeof(out)) != sizeof(out)) {
				/* Not sent: that number goes out again. */
				n = errno ? -errno : -EIO;
				break;
			}
			sent++;
			next++;
		}
		if (!n)
			n = next == expect ? -EPIPE : recv_msg(fd, in, 2000);
		if (n == sizeof(out) && !memcmp(in, "SEQ#", 4)) {
			memcpy(&got, in + 4, 4);
			if (got == expect) {
				echoed++;
				expect++;
			} else if (got < expect) {
				dup++;
				printf("seqstream: duplicate echo of %u (expected %u)\n", got, expect);
			} else {
				wrong++;
				printf("seqstream: echo of %u while %u was expected\n", got, expect);
			}
			continue;
		}
		if (n >= 0) {
			wrong++;
			printf("seqstream: a reply that is no SEQ# echo (%d bytes)\n", n);
			continue;
		}
		printf("seqstream: %u..%u unanswered (%s), reopening\n", expect, next - 1,
		       strerror(-n));
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		close(fd);
	printf("seqstream: sent %lu echoed %lu lost %u wrong %lu dup %lu resent %lu opens %lu last %u\n",
	       sent, echoed, next - expect, wrong, dup, resent, opens, expect - 1);
	return next == expect && !wrong && !dup ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "as"))
		return cmd_as(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "echo"))
		return cmd_echo(argv[2], atoi(argv[3]));
	if (argc >= 5 && !strcmp(argv[1], "bench"))
		return cmd_bench(argv[2], atoi(argv[3]), atoi(argv[4]),
				 argc > 5 && !strcmp(argv[5], "read"));
	if (argc >= 4 && !strcmp(argv[1], "ttybench"))
		return cmd_ttybench(argv[2], atoi(argv[3]));
	if (argc >= 6 && !strcmp(argv[1], "stream"))
		return cmd_stream(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (argc >= 6 && !strcmp(argv[1], "ept-create"))
		return cmd_ept_create(argv[2], argv[3], strtoul(argv[4], 0, 0), strtoul(argv[5], 0, 0));
	if (argc >= 3 && !strcmp(argv[1], "ept-destroy"))
		return cmd_ept_destroy(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "ctl"))
		return cmd_ctl(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 0);
	if (argc >= 4 && !strcmp(argv[1], "ask"))
		return cmd_ask(argv[2], argv[3]);
	if (argc >= 4 && !strcmp(argv[1], "watch"))
		return cmd_watch(argv[2], atoi(argv[3]));
	if (argc >= 4 && !strcmp(argv[1], "sock"))
		return cmd_sock(argv[2], argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "pending"))
		return cmd_pending(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "seqstream"))
		return cmd_seqstream(argv[2], argv[3], argc > 4 ? strtoul(argv[4], 0, 0) : 0,
				     argc > 5 ? atoi(argv[5]) : 1);
	fprintf(stderr, "usage: ampt echo DEV N | bench DEV SIZE N [read] | stream DEV SIZE N WINDOW |\n"
		"       ttybench TTY N |\n"
		"       ept-create CTRL NAME SRC DST |\n"
		"       ept-destroy DEV | ctl DEV ping|stats|fault KIND | pending DEV | ask DEV TEXT |\n"
		"       sock PATH JSON | watch DEV MS | as UID GID[,GID...] -- CMD... |\n"
		"       seqstream NAME STOPFILE [COUNT [WINDOW]]\n");
	return 2;
}
