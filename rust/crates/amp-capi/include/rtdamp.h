/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * librtdamp: C API for the rtd-amp remote processors (RTD1619B AMP).
 *
 * Remote processors are named by their remoteproc `name` attribute
 * ("rtd-amp") or their device directory ("remoteproc0"). Functions return
 * 0 (or a byte count) on success and a negative errno value on failure;
 * rtdamp_last_error() then describes the failure in words (per thread).
 * Link with `pkg-config --cflags --libs rtdamp`.
 */
#ifndef RTDAMP_H
#define RTDAMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RTDAMP_VERSION_MAJOR 0
#define RTDAMP_VERSION_MINOR 1

/* Well-known firmware addresses. */
#define RTDAMP_ADDR_ECHO 1024u    /* rpmsg-raw echo */
#define RTDAMP_ADDR_TTY 1025u     /* rpmsg-tty line echo */
#define RTDAMP_ADDR_CONTROL 1026u /* rtd-amp-ctrl control service */
/* Let the kernel choose the local address. */
#define RTDAMP_ADDR_ANY 0xFFFFFFFFu
/* Largest message payload. */
#define RTDAMP_MAX_PAYLOAD 496u

/* Kernel remoteproc states. */
typedef enum rtdamp_state {
	RTDAMP_STATE_OFFLINE = 0,
	RTDAMP_STATE_SUSPENDED = 1,
	RTDAMP_STATE_RUNNING = 2,
	RTDAMP_STATE_CRASHED = 3,
	RTDAMP_STATE_DELETED = 4,
	RTDAMP_STATE_ATTACHED = 5,
	RTDAMP_STATE_DETACHED = 6,
	RTDAMP_STATE_INVALID = 7
} rtdamp_state;

/* An open RPMsg endpoint (opaque). */
typedef struct rtdamp_endpoint rtdamp_endpoint;

/*
 * Use `root` instead of "/" to find sys/ and dev/ (test doubles). NULL
 * restores "/". Affects calls made afterwards from any thread.
 */
int rtdamp_set_root(const char *root);

/*
 * Creates an endpoint on the rpmsg control device `ctrl` ("rpmsg_ctrl0" or
 * "/dev/rpmsg_ctrl0") named `name` (at most 31 bytes) from local address
 * `src` (RTDAMP_ADDR_ANY for any) to firmware address `dst`, and opens it.
 * On success *out owns the endpoint; close it with rtdamp_endpoint_close,
 * which also destroys it.
 */
int rtdamp_endpoint_open(const char *ctrl, const char *name, uint32_t src, uint32_t dst,
			 rtdamp_endpoint **out);

/* Opens an existing endpoint device ("rpmsg0" or "/dev/rpmsg0"). Closing it
 * does not destroy it. */
int rtdamp_endpoint_open_dev(const char *dev, rtdamp_endpoint **out);

/* Closes (and, if rtdamp_endpoint_open created it, destroys) an endpoint.
 * NULL is ignored. */
void rtdamp_endpoint_close(rtdamp_endpoint *ep);

/* The endpoint's file descriptor, for poll/epoll (do not close it). */
int rtdamp_endpoint_fd(const rtdamp_endpoint *ep);

/*
 * Sends one message of `len` bytes (1..RTDAMP_MAX_PAYLOAD). Waits at most
 * `timeout_ms` for room (-1: forever, 0: do not wait). Returns 0, or
 * -ETIMEDOUT (nothing was written), -EMSGSIZE, -EPIPE (endpoint gone)...
 *
 * Timeouts >= 0 (here and in rtdamp_recv) run against a monotonic
 * deadline: a signal handled during the wait does not end it early, the
 * wait resumes for the time left, and the call does not return -EINTR.
 * With -1 the call blocks in write()/read() itself, which a handler
 * installed without SA_RESTART interrupts: -EINTR.
 */
int rtdamp_send(rtdamp_endpoint *ep, const void *buf, size_t len, int timeout_ms);

/*
 * Receives one message into `buf` (`cap` bytes; a longer message is
 * truncated). Waits at most `timeout_ms` (-1: forever, 0: do not wait).
 * Returns the message length, or -ETIMEDOUT, -EPIPE...
 */
ssize_t rtdamp_recv(rtdamp_endpoint *ep, void *buf, size_t cap, int timeout_ms);

/* Starts / stops a remote processor through the host library's lifecycle
 * layer (docs/daemon-cli.md "Remote processor states"); returns once the
 * kernel has acted. Start: boots an offline processor, attaches a detached
 * one, recovers a crashed one (`recover`), does nothing to a running or
 * attached one. Stop: stops a running or attached one, recovers a crashed
 * one first and attaches a detached one first (the kernel refuses `stop`
 * in both states on Linux 6.12), does nothing to an offline one.
 * -EBUSY when the core did not power off after a stop request (this stop
 * or an earlier one; the driver's core_state reads "stuck"): it stays on
 * until the next reboot, and both refuse until then (rtdamp_last_error()
 * says "reboot needed"). */
int rtdamp_rproc_start(const char *rproc);
int rtdamp_rproc_stop(const char *rproc);

/* Reads a remote processor's state into *out. */
int rtdamp_rproc_state(const char *rproc, rtdamp_state *out);

/* "offline", "running"... ; "unknown" for other values. */
const char *rtdamp_state_name(rtdamp_state state);

/*
 * The bulk channel (/dev/rtd-amp-bulkN, docs/protocol.md "The bulk
 * channel"): records of up to rtdamp_bulk_max_payload() bytes (522224)
 * through shared-memory rings, to the firmware and back. Needs the
 * application group. A full ring is back-pressure: sending waits (at most
 * `timeout_ms`; -1 forever, 0 not at all) for the firmware to free room,
 * and nothing is dropped. Errors: -ETIMEDOUT, -EMSGSIZE (too long),
 * -ECONNRESET (the firmware restarted: close and open again), -EPROTO (the
 * firmware corrupted the rings), or an errno of open/mmap.
 */
typedef struct rtdamp_bulk rtdamp_bulk;

/* Opens and maps a bulk device (NULL: /dev/rtd-amp-bulk0). */
int rtdamp_bulk_open(const char *dev, rtdamp_bulk **out);
/* Unmaps and closes; NULL is ignored. Pointers handed out become invalid. */
void rtdamp_bulk_close(rtdamp_bulk *b);
/* The device's descriptor: POLLIN when the firmware rang (do not close it). */
int rtdamp_bulk_fd(const rtdamp_bulk *b);
/* The longest record payload (0 for NULL). */
size_t rtdamp_bulk_max_payload(rtdamp_bulk *b);

/* One copy: sends `len` bytes with `tag`. */
int rtdamp_bulk_send(rtdamp_bulk *b, const void *buf, size_t len, uint32_t tag, int timeout_ms);
/* One copy: receives the next record into `buf` (`cap` bytes; a longer
 * record stays queued: -EMSGSIZE); its tag into *tag (may be NULL).
 * Returns the record's length. */
ssize_t rtdamp_bulk_recv(rtdamp_bulk *b, void *buf, size_t cap, uint32_t *tag, int timeout_ms);

/*
 * Zero-copy send: *out points at `len` bytes of space in the ring; fill
 * them, then rtdamp_bulk_commit(b, len, used, tag) sends the first `used`
 * bytes. Nothing is sent without the commit; one reservation at a time.
 */
int rtdamp_bulk_reserve(rtdamp_bulk *b, size_t len, void **out, int timeout_ms);
int rtdamp_bulk_commit(rtdamp_bulk *b, size_t reserved, size_t used, uint32_t tag);

/*
 * Zero-copy receive: *out points at the next record in the ring (its
 * length is returned, its tag in *tag, which may be NULL); read it, then
 * rtdamp_bulk_release(b) frees it. Until then it stays the next record.
 */
ssize_t rtdamp_bulk_recv_borrowed(rtdamp_bulk *b, const void **out, uint32_t *tag,
				  int timeout_ms);
int rtdamp_bulk_release(rtdamp_bulk *b);

/* Message about the calling thread's last failure ("" if none). Valid until
 * the thread's next librtdamp call. */
const char *rtdamp_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* RTDAMP_H */
