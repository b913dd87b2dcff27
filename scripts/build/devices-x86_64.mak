# The minimal x86_64 device set the series is built and tested with
# (configure --without-default-devices --with-devices-x86_64=...).
CONFIG_I440FX=y
CONFIG_Q35=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_GPU=y
CONFIG_VIRTIO_VGA=y
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_9P=y
CONFIG_SERIAL_ISA=y
CONFIG_VGA_PCI=y
CONFIG_PARALLEL=y
CONFIG_E1000_PCI=y
CONFIG_E1000E_PCI_EXPRESS=y
