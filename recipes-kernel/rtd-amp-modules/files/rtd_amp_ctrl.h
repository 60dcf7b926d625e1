/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control page shared with the firmware (docs/kernel.md).
 * Generated from rust/crates/amp-ctrl-page/src/lib.rs; do not edit:
 * AMP_CTRL_BLESS=1 cargo test -p amp-ctrl-page regenerates it.
 */
#ifndef __RTD_AMP_CTRL_H
#define __RTD_AMP_CTRL_H

/* Size of the page, bytes. */
#define CTRL_SIZE		0x1000
/* Layout version this firmware and driver speak (1: no attach fields). */
#define CTRL_LAYOUT_VERSION	2
/* "RAMP" (LE): the page was initialised by an rtd-amp firmware. */
#define CTRL_MAGIC_VALUE	0x504d4152
/* "STOP" (as a big-endian word): Linux asks the firmware to stop. */
#define CTRL_STOP_VALUE		0x53544f50
/* u32: CTRL_MAGIC_VALUE, written by the firmware at entry. */
#define CTRL_MAGIC		0x0
/* u32: CTRL_LAYOUT_VERSION of the firmware that wrote the page. */
#define CTRL_VERSION		0x4
/* u32: firmware state, one of the STATE_* values. */
#define CTRL_FW_STATE		0x8
/* u32: CTRL_STOP_VALUE when Linux asks for a stop (Linux writes it). */
#define CTRL_STOP_REQ		0xc
/* u32: crash records written so far (wrapping). */
#define CTRL_CRASH_SEQ		0x10
/* u32 (v2): size in bytes of the loaded resource table. */
#define CTRL_RSC_SIZE		0x14
/* u64 (v2): physical address of the loaded resource table. */
#define CTRL_RSC_ADDR		0x18
/* u64 (v2): CNTPCT_EL0 when the firmware started serving. */
#define CTRL_RUN_CNT		0x20
/* u64 (v2): CNTFRQ_EL0 as the firmware reads it (ticks per second). */
#define CTRL_RUN_FRQ		0x28
/* u32 (v2): times Linux re-initialised virtio (status reset) since entry. */
#define CTRL_VIRTIO_RESETS	0x30
/* Crash record (0x40..0x13F), valid once the state is crashed. */
#define CTRL_CRASH		0x40
/* u32: kind of the crash, one of the CRASH_KIND_* values. */
#define CTRL_CRASH_KIND		0x40
/* u64: ESR_EL1. */
#define CTRL_CRASH_ESR		0x48
/* u64: ELR_EL1, the faulting instruction. */
#define CTRL_CRASH_ELR		0x50
/* u64: FAR_EL1, the faulting address. */
#define CTRL_CRASH_FAR		0x58
/* u64: SPSR_EL1. */
#define CTRL_CRASH_SPSR		0x60
/* u64: stack pointer at the exception. */
#define CTRL_CRASH_SP		0x68
/* u64[8]: x0..x7 at the exception. */
#define CTRL_CRASH_X0		0x70
/* Registers in the crash record. */
#define CTRL_CRASH_NR_X		8
/* char[128]: NUL-terminated message (panic text or exception class). */
#define CTRL_CRASH_MSG		0xb0
/* Bytes of the crash message, terminator included. */
#define CTRL_CRASH_MSG_LEN	128
/* u32: CurrentEL.EL at the firmware's entry (boot stamp, 0x200..0x2FF). */
#define CTRL_ST_ENTRY_EL	0x200
/* u32: the SGI the firmware takes as Linux's doorbell. */
#define CTRL_ST_SGI		0x204
/* u32: the interrupt id (SPI + 32) the firmware raises towards Linux. */
#define CTRL_ST_SPI		0x208
/* u32: CTRL_ST_MAGIC_VALUE once the stamp is complete (written last). */
#define CTRL_ST_MAGIC		0x20c
/* u64: CNTFRQ_EL0 at entry. */
#define CTRL_ST_CNTFRQ		0x210
/* u64: CNTPCT_EL0 at the firmware's first Rust instruction. */
#define CTRL_ST_ENTRY_CNT	0x218
/* u64: the AMP window's physical base the firmware was built for. */
#define CTRL_ST_WINDOW		0x220
/* u64: MPIDR_EL1 of the core the firmware runs on. */
#define CTRL_ST_MPIDR		0x228
/* u64: doorbell SGIs received since entry. */
#define CTRL_ST_SGIS		0x230
/* u64: doorbell SPIs raised since entry. */
#define CTRL_ST_SPIS		0x238
/* End of the boot-stamp block. */
#define CTRL_ST_END		0x300
/* "STMP" (LE): the boot stamp is complete. */
#define CTRL_ST_MAGIC_VALUE	0x504d5453
/* u32: doorbell ping sequence number (Linux's debug build writes it). */
#define CTRL_PING_SEQ		0x300
/* u32: the firmware copies the sequence number here, then rings back. */
#define CTRL_PING_ACK		0x304
/* u32: service samples taken (doorbell received to first one sent). */
#define CTRL_SVC_COUNT		0x308
/* u32: largest service time, ns. */
#define CTRL_SVC_MAX		0x30c
/* u64: sum of the service times, ns. */
#define CTRL_SVC_SUM		0x310
/* u32: pings answered. */
#define CTRL_PINGS		0x318
/* u16[SVC_BINS]: service-time histogram (wrapping counters). */
#define CTRL_SVC_HIST		0x320
/* Bins of the service-time histogram (0x320..0x37F). */
#define CTRL_SVC_BINS		48
/* Firmware state: not running (Linux zeroed the page). */
#define CTRL_STATE_OFF		0
/* Firmware state: initialising. */
#define CTRL_STATE_BOOTING	1
/* Firmware state: serving. */
#define CTRL_STATE_RUNNING	2
/* Firmware state: a crash record is in the page. */
#define CTRL_STATE_CRASHED	3
/* Firmware state: acknowledged a stop request, about to call CPU_OFF. */
#define CTRL_STATE_STOPPING	4
/* Crash kind: synchronous exception. */
#define CTRL_CRASH_KIND_SYNC	1
/* Crash kind: unexpected IRQ vector. */
#define CTRL_CRASH_KIND_IRQ	2
/* Crash kind: unexpected FIQ vector. */
#define CTRL_CRASH_KIND_FIQ	3
/* Crash kind: SError. */
#define CTRL_CRASH_KIND_SERROR	4
/* Crash kind: Rust panic. */
#define CTRL_CRASH_KIND_PANIC	5
/* Smallest resource table the driver accepts (header, no entries). */
#define CTRL_RSC_MIN_SIZE	16
/* Largest resource table the driver accepts when attaching. */
#define CTRL_RSC_MAX_SIZE	0x1000
/* Resource-table entry type (vendor range 128..=512) of the stop/crash contract. */
#define CTRL_RSC_CONTRACT_TYPE	170
/* Bytes of the contract entry's body (the type word not included). */
#define CTRL_CONTRACT_LEN	16
/* "RAMC" (LE): the entry is an rtd-amp contract, not another vendor's. */
#define CTRL_CONTRACT_MAGIC_VALUE	0x434d4152
/* Stop/crash contract version this firmware and driver speak. */
#define CTRL_CONTRACT_VERSION	1
/* Flag: the firmware serves the stop request from an interrupt. */
#define CTRL_CONTRACT_F_STOP_IRQ	1
/* Every flag contract version 1 defines; other bits must be zero. */
#define CTRL_CONTRACT_FLAGS_KNOWN	1
/* u32: CTRL_CONTRACT_MAGIC_VALUE (offsets from the body's start). */
#define CTRL_CONTRACT_OFF_MAGIC	0
/* u32: CTRL_CONTRACT_VERSION the firmware implements. */
#define CTRL_CONTRACT_OFF_VERSION	4
/* u32: the control-page CTRL_LAYOUT_VERSION the firmware writes. */
#define CTRL_CONTRACT_OFF_CTRL_VERSION	8
/* u32: CTRL_CONTRACT_F_* flags. */
#define CTRL_CONTRACT_OFF_FLAGS	12

#endif /* __RTD_AMP_CTRL_H */
