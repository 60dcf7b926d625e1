//! Virtio constants both roles need (legacy interface, 32-bit features).

/// Device id of an RPMsg virtio device (`VIRTIO_ID_RPMSG`).
pub const VIRTIO_ID_RPMSG: u32 = 7;
/// RPMsg feature bit: the remote supports name-service announcements.
pub const VIRTIO_RPMSG_F_NS: u32 = 0;

/// Device status bits, written by the driver into the vdev resource.
pub mod status {
    /// The guest noticed the device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// The guest knows how to drive it.
    pub const DRIVER: u8 = 2;
    /// The driver is ready: the device may use the rings from now on.
    pub const DRIVER_OK: u8 = 4;
    /// Feature negotiation done (not used by the legacy interface).
    pub const FEATURES_OK: u8 = 8;
    /// The device hit an error and needs a reset.
    pub const NEEDS_RESET: u8 = 0x40;
    /// The driver gave up on the device.
    pub const FAILED: u8 = 0x80;
    /// What Linux's virtio core has written once `virtio_rpmsg_bus` probed:
    /// ACKNOWLEDGE | DRIVER | DRIVER_OK.
    pub const LINUX_READY: u8 = ACKNOWLEDGE | DRIVER | DRIVER_OK;

    /// Whether the device may touch the rings (DRIVER_OK set, FAILED clear).
    pub const fn driver_ok(status: u8) -> bool {
        status & DRIVER_OK != 0 && status & FAILED == 0
    }
}
