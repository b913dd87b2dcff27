# virtio-gpu blob resources and host-visible memory for QEMU 7.2 (Debian 12)
#
#   make demo     build, boot a Linux guest on the device, print a report
#   make          fetch the Debian base, apply the series, build QEMU + qtests
#   make check    build, then run the test suites (qtests, the series
#                 applied to a fresh unpack, a Linux guest on this build
#                 and on Debian's package built with the series); ends
#                 "N passed, N failed"
#   make bench    run the benchmarks, printing figures
#   make fuzz     libFuzzer on the device for FUZZ_SECONDS (600)
#   make soak     boot the guest SOAK_RUNS times (100) on ring-filling
#                 bursts; ends "soak: R runs, H hangs, median run S s"
#   make check-asan  the tests and the guest on an ASan/UBSan/LSan build
#   make check-venus the guest lane alone (with venus, as in make check)
#   make check-udmabuf  the udmabuf lane alone: a Debian 6.12 kernel as an
#                 L1 host under TCG runs the tests that need /dev/udmabuf
#   make soak-udmabuf  (Debian 13) the udmabuf lane's venus part,
#                 SOAK_RUNS times (5); ends "soak: R runs, F failed, ..."
#   make check-libvirt  the libvirt lane alone, every line (in make check):
#                 libvirtd, installed from the line's Debian, boots the
#                 guest in three domains under its sandbox, and sees
#                 QEMU refuse a fourth (docs/libvirt.md)
#   make bench-guest-vram  (Debian 13) in that L1 host, guest_vram=on
#                 against host-allocated venus memory: the device's map
#                 cycle, and a Vulkan client's allocations in an L2 guest
#   make check-bisect  build after each patch of the series, in order
#   make bench-compare  the guest workload on this build and on upstream
#                 QEMU 10.0 (Debian 13), interleaved; a table and a PNG
#   make peer     unpack Debian 13's QEMU 10.0 + virglrenderer 1.1 (the
#                 upstream peer, run by scripts/bench/peer-qemu.sh)
#   make deb      Debian's qemu package with the series, built by
#                 dpkg-buildpackage (x86 only; DEB_FULL=1 for all), then
#                 the guest lane against the packaged binary
#   make series   export the series as git format-patch files, and check that
#                 they apply to a fresh unpack with git am and with quilt
#   make clean    remove everything derived, keeping the download cache
#   make distclean  remove build/ entirely

# BASE picks the line: the Debian release whose qemu package the series
# applies to (scripts/lines/BASE.conf, patches/BASE/).  make check runs
# every line.
LINES    := $(patsubst scripts/lines/%.conf,%,$(wildcard scripts/lines/*.conf))
BASE     ?= debian12
ifeq ($(filter $(BASE),$(LINES)),)
$(error BASE=$(BASE) is no line of this repository; lines: $(LINES))
endif
export BASE

B        := build/$(BASE)
OBJ      := $(B)/obj
TREE     := $(B)/qemu
SRC      := $(B)/base
PEER     := build/peer
# the guest scripts run this QEMU unless told otherwise
export QEMU ?= $(CURDIR)/$(OBJ)/qemu-system-x86_64
QTESTS   := tests/qtest/qos-test tests/qtest/virtio-gpu-region-test
NINJA    ?= ninja
JOBS     ?= $(shell nproc)

# A line that is not the machine's release (LINE_ROOT=1 in its conf)
# configures, builds and runs its tests in its own Debian root.
LINE_ROOT := $(shell sed -n 's/^LINE_ROOT=\([0-9]*\).*/\1/p' scripts/lines/$(BASE).conf)
RUN       := $(if $(LINE_ROOT),scripts/root/run-in-root.sh $(B)/os/root)
ROOT_STAMP := $(if $(LINE_ROOT),$(B)/os/.stamp)

NEW_FILES     := $(shell find hw-display include-hw tests-qtest -type f 2>/dev/null)
SERIES_INPUTS := $(shell find patches/$(BASE) -type f 2>/dev/null) $(NEW_FILES) scripts/lines/$(BASE).conf
DEB_STAMP     := $(B)/deb/.built

.PHONY: all build check check-line check-files root check-asan check-udmabuf soak-udmabuf check-libvirt check-libvirt-line libvirt-deps bench-guest-vram check-bisect deb peer bench-compare check-venus bench demo guest soak fuzz venus series check-series clean distclean deps FORCE
all: build

deps:
	@scripts/deps.sh

$(SRC)/src/.stamp: scripts/fetch-base.sh | deps
	@scripts/fetch-base.sh $(SRC)

$(B)/tree.stamp: $(SRC)/src/.stamp scripts/apply-series.sh $(SERIES_INPUTS) | deps
	@scripts/apply-series.sh "$$(cat $(SRC)/src/.stamp)" $(TREE)
	@touch $@

# Configured once; meson regenerates itself when a meson.build changes.
$(OBJ)/build.ninja: scripts/build/configure.sh scripts/build/devices-x86_64.mak | $(B)/tree.stamp $(ROOT_STAMP)
	@echo "configure: $(OBJ)$(if $(RUN), in $(B)/os/root) (log: $(B)/configure.log)"
	@rm -rf $(OBJ)
	@$(RUN) scripts/build/configure.sh $(TREE) $(OBJ) > $(B)/configure.log 2>&1 || \
	    { tail -n 30 $(B)/configure.log; echo "error: configure failed, see $(B)/configure.log" >&2; exit 1; }

build: $(B)/tree.stamp $(OBJ)/build.ninja
	@$(RUN) $(NINJA) -C $(OBJ) -j$(JOBS) qemu-system-x86_64 $(QTESTS) \
	    $$($(RUN) scripts/build/modules.sh $(OBJ))

# The guest: Debian 12's kernel, busybox and the in-guest test program.
GUEST_IMG := $(B)/guest/img/initrd.gz
GUEST_INPUTS := $(wildcard scripts/guest/*)
$(GUEST_IMG): $(GUEST_INPUTS) scripts/lines/$(BASE).conf | deps $(ROOT_STAMP)
	@$(RUN) scripts/guest/fetch-kernel.sh $(B)/guest/kernel > $(B)/guest-kernel.path
	@$(RUN) scripts/guest/build-initramfs.sh "$$(cat $(B)/guest-kernel.path)" $(B)/guest/img
guest: $(GUEST_IMG)

# The guest's venus driver: the line's own Mesa (LINE_VENUS_ICD, in its
# root), or built from Debian 12's Mesa source (the one Mesa that speaks
# virglrenderer 0.10.4's venus; about 4 minutes once).
LINE_VENUS_ICD := $(shell sed -n 's/^LINE_VENUS_ICD=\([^ ]*\).*/\1/p' scripts/lines/$(BASE).conf)
VENUS_ICD := $(or $(LINE_VENUS_ICD),$(B)/guest/venus-mesa/virtio_icd.json)
VENUS_DEP := $(if $(LINE_VENUS_ICD),,$(VENUS_ICD))
ifeq ($(LINE_VENUS_ICD),)
$(VENUS_ICD): scripts/guest/build-venus.sh | $(SRC)/src/.stamp deps
	@scripts/guest/build-venus.sh $(SRC) $(B)/guest/venus-mesa > /dev/null
endif
venus: $(VENUS_DEP)

# The udmabuf lane's L1 host: a Debian 6.12 kernel (LINE_L1_KERNEL) with
# /dev/udmabuf built in, and an initramfs that mounts the root over 9p.
L1_IMG := $(B)/l1/img/initrd.gz
$(L1_IMG): scripts/udmabuf/init scripts/guest/build-initramfs.sh \
           scripts/guest/fetch-kernel.sh scripts/lines/$(BASE).conf | deps $(ROOT_STAMP)
	@$(RUN) scripts/guest/fetch-kernel.sh $(B)/l1/kernel l1 > $(B)/l1-kernel.path
	@$(RUN) scripts/guest/build-initramfs.sh "$$(cat $(B)/l1-kernel.path)" $(B)/l1/img l1

# Every line, one after the other.
check:
	@for l in $(LINES); do \
	    $(MAKE) --no-print-directory BASE=$$l check-line || exit 1; \
	done

# One line (BASE): the new files equal their counterparts in the patched
# tree, the series applies to a fresh unpack, the tests pass: the qtests,
# and the lanes the line's conf names in LINE_LANES (guest, deb,
# udmabuf).  A lane a line does not have yet is named as not checked.
LINE_LANES := $(shell sed -n 's/^LINE_LANES="\(.*\)".*/\1/p' scripts/lines/$(BASE).conf)
lane = $(filter $(1),$(LINE_LANES))
check-line: build check-files check-series $(if $(call lane,deb),$(DEB_STAMP)) \
	    $(if $(call lane,guest),$(GUEST_IMG) $(VENUS_DEP)) \
	    $(if $(call lane,udmabuf),$(L1_IMG)) $(if $(call lane,libvirt),libvirt-deps)
	@$(foreach l,guest deb udmabuf libvirt,$(if $(call lane,$(l)),,echo "check: $(BASE): no $(l) lane on this line yet (docs/$(BASE).md): NOT CHECKED";))
	@$(if $(call lane,guest),GUEST_IMG_DIR=$(B)/guest/img VENUS_ICD=$(VENUS_ICD)) \
	    $(if $(call lane,deb),DEB_DIR=$(B)/deb) \
	    $(if $(call lane,libvirt),LIBVIRT_QEMU=$(LIBVIRT_QEMU)) \
	    $(if $(call lane,udmabuf),L1_IMG_DIR=$(B)/l1/img) $(RUN) scripts/run-tests.sh $(OBJ)

# The libvirt lane: libvirt from the line's Debian (on the machine, or in
# the line's root) boots the guest lane's guest in three domains under
# its default sandbox and sees QEMU refuse a fourth (docs/libvirt.md), on the packaged QEMU where the
# line has the deb lane (which unpacks it first).
LIBVIRT_PKGS := libvirt-daemon-system libvirt-clients
LIBVIRT_QEMU := $(CURDIR)/$(if $(call lane,deb),$(B)/deb/root/usr/bin,$(OBJ))/qemu-system-x86_64
libvirt-deps: | deps $(ROOT_STAMP)
	@$(if $(LINE_ROOT),scripts/root/install.sh $(B)/os/root,scripts/deps.sh) $(LIBVIRT_PKGS)

# The guest lane alone, with venus (also part of make check).
check-venus: build $(GUEST_IMG) $(VENUS_DEP)
	@$(RUN) python3 scripts/guest/run-guest.py $(B)/guest/img --venus $(VENUS_ICD)

# The udmabuf lane alone (part of make check where LINE_LANES has it).
check-udmabuf: build $(L1_IMG) $(GUEST_IMG)
	@$(RUN) python3 scripts/udmabuf/run-l1.py $(B)/l1/img $(OBJ) --guest $(B)/guest/img

# The libvirt lane alone, every line (part of make check where
# LINE_LANES has it).
check-libvirt:
	@for l in $(LINES); do \
	    $(MAKE) --no-print-directory BASE=$$l check-libvirt-line || exit 1; \
	done

check-libvirt-line: build $(GUEST_IMG) $(VENUS_DEP) libvirt-deps \
		    $(if $(call lane,deb),$(DEB_STAMP))
	@$(if $(call lane,deb),DEB_UNPACK_ONLY=1 $(RUN) scripts/deb/test-deb.sh $(B)/deb $(B)/guest/img $(VENUS_ICD))
	@$(RUN) scripts/libvirt/run-lane.sh $(LIBVIRT_QEMU) $(B)/guest/img $(VENUS_ICD) $(OBJ)/libvirt

# The udmabuf lane's venus part (Debian 13), SOAK_RUNS times (default 5)
# in one L1 host: the guest_vram qtest, then the venus L2 guest.  A stuck
# L2 prints where its threads and its guest stand.
soak-udmabuf: build $(L1_IMG) $(GUEST_IMG)
	@$(RUN) python3 scripts/udmabuf/run-l1.py $(B)/l1/img $(OBJ) --guest $(B)/guest/img \
	    --soak $(or $(SOAK_RUNS),5) --timeout $$(( $(or $(SOAK_RUNS),5) * 1200 + 600 ))

# guest_vram=on's figures, which need udmabuf: in the L1 host.
bench-guest-vram: build $(L1_IMG) $(GUEST_IMG)
	@$(RUN) python3 scripts/udmabuf/run-l1.py $(B)/l1/img $(OBJ) --bench --timeout 1800 --guest $(B)/guest/img

# The guest booted SOAK_RUNS times (default 100) on a workload that
# fills the control ring; a hang prints the queue state and the guest's
# blocked tasks.  QEMU=/path/to/qemu-system-x86_64 soaks another build.
soak: build $(GUEST_IMG)
	@$(RUN) python3 scripts/guest/soak.py $(B)/guest/img

demo: build $(GUEST_IMG) $(VENUS_DEP)
	@$(RUN) python3 scripts/guest/run-guest.py $(B)/guest/img --venus $(VENUS_ICD) \
	    --demo $(B)/demo-frame.png

# The same tests, the guest lane included, on a build with
# AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer (without
# -Werror: gcc warns about upstream code under ASan; the normal build
# keeps -Werror; and as one binary, without modules).  Any sanitizer report fails the run.
ASAN_OBJ := $(B)/obj-asan
$(ASAN_OBJ)/build.ninja: scripts/build/configure.sh scripts/build/devices-x86_64.mak | $(B)/tree.stamp $(ROOT_STAMP)
	@echo "configure: $(ASAN_OBJ) (log: $(B)/configure-asan.log)"
	@rm -rf $(ASAN_OBJ)
	@SANITIZE=1 QEMU_CONFIGURE_EXTRA="--disable-werror --disable-modules" $(RUN) scripts/build/configure.sh $(TREE) $(ASAN_OBJ) \
	    > $(B)/configure-asan.log 2>&1 || \
	    { tail -n 30 $(B)/configure-asan.log; echo "error: configure failed" >&2; exit 1; }

check-asan: $(B)/tree.stamp $(ASAN_OBJ)/build.ninja $(GUEST_IMG)
	@$(RUN) $(NINJA) -C $(ASAN_OBJ) -j$(JOBS) qemu-system-x86_64 $(QTESTS)
	@ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 \
	    UBSAN_OPTIONS=print_stacktrace=1 GUEST_IMG_DIR=$(B)/guest/img GUEST_TIMEOUT=900 \
	    TIMEOUT_MULTIPLIER=15 \
	    $(RUN) scripts/run-tests.sh $(ASAN_OBJ)

# Benchmarks print figures; they are not part of make check.
bench: build $(GUEST_IMG)
	@echo "== the host-visible region, through its qtest tester object"
	@$(RUN) env -C $(OBJ) QTEST_QEMU_BINARY=./qemu-system-x86_64 \
	    ./tests/qtest/virtio-gpu-region-test -m perf -p /x86_64/virtio-gpu/region/bench | grep '^#' | grep -v '^# \(Start\|End\|starting\|random\)'
	@echo "== virgl blob commands, through the libqos driver"
	@$(RUN) env -C $(OBJ) QTEST_QEMU_BINARY=./qemu-system-x86_64 \
	    ./tests/qtest/qos-test -m perf -p /x86_64/pc/i440FX-pcihost/pci-bus-pc/pci-bus/virtio-gpu-gl-pci-blob/virtio-gpu-blob/virtio-gpu-blob-tests/bench \
	    2>/dev/null | grep '^#' | grep -v '^# \(Start\|End\|starting\|random\)'
	@echo "== venus shm blobs from a Linux guest, subregions against the static heap"
	@$(RUN) python3 scripts/bench/guest-heap.py $(B)/guest/img

# libFuzzer on the device for FUZZ_SECONDS (600); crashes kept under
# build/BASE/fuzz/crashes.  A clang build of its own (build/BASE/obj-fuzz).
fuzz: $(B)/tree.stamp
	@scripts/fuzz.sh $(TREE) $(B)/obj-fuzz $(B)/fuzz $${FUZZ_SECONDS:-600}

series: $(B)/tree.stamp
	@scripts/export-series.sh $(TREE) $(B)/series

# The same guest workload (Debian 12's guest image) on both lines' builds
# and on the upstream peer, stock Debian 13, interleaved (BENCH_ROUNDS,
# default 3; BENCH_SOAK_RUNS soak runs each, default 5); prints
# "compare FIGURE ours= ours13= upstream= ratio= ratio13=" lines and
# draws build/bench-compare.png.  Not part of make check.
bench-compare: peer
	@$(MAKE) --no-print-directory BASE=debian12 build guest
	@$(MAKE) --no-print-directory BASE=debian13 build
	@scripts/deps.sh python3-matplotlib
	@QEMU=$(CURDIR)/build/debian12/obj/qemu-system-x86_64 \
	    /usr/bin/python3 scripts/bench/bench-compare.py build/debian12/guest/img

# The Debian root a line builds in when it is not the machine's own
# release (Debian 13's needs meson 1.5, Debian 12 has 1.0): mmdebstrap
# of the line's suite with qemu's build dependencies, under build/BASE/os.
root: $(B)/os/.stamp
$(B)/os/.stamp: scripts/root/make-root.sh
	@scripts/deps.sh mmdebstrap
	@scripts/root/make-root.sh $(B)/os

# The upstream peer for comparisons: Debian 13's QEMU 10.0 and
# virglrenderer 1.1, unpacked under build/peer (about 730 MB).
peer:
	@scripts/bench/prepare-peer.sh $(PEER)

# Debian's own package with the series in debian/patches, restricted to
# the x86 system emulator unless DEB_FULL=1; the .debs land in build/BASE/deb
# (docs/distro.md).  make check builds it once per series change and
# runs the guest lane on its binary too; make deb always rebuilds.
$(DEB_STAMP): $(SRC)/src/.stamp $(SERIES_INPUTS) scripts/deb/build-deb.sh \
              scripts/deb/add-series.sh | series $(ROOT_STAMP)
	@$(RUN) scripts/deb/build-deb.sh $(SRC) $(B)/series $(B)/deb
	@touch $@
deb: $(GUEST_IMG) $(VENUS_DEP)
	@rm -f $(DEB_STAMP)
	@$(MAKE) --no-print-directory $(DEB_STAMP)
	@$(RUN) scripts/deb/test-deb.sh $(B)/deb $(B)/guest/img $(VENUS_ICD)

# Every patch of the series builds, in order (a developer check).
check-bisect: $(B)/tree.stamp
	@scripts/check-bisect.sh $(TREE) $(B)/obj-bisect

check-files: $(B)/tree.stamp
	@scripts/check-new-files.sh $(TREE)

check-series: series
	@scripts/check-series.sh $(SRC) $(B)/series

clean:
	rm -rf $(OBJ) $(ASAN_OBJ) $(B)/obj-fuzz $(TREE) $(TREE).stage $(B)/dev $(B)/series \
	    $(B)/guest/img $(B)/l1/img $(B)/*.stamp $(B)/*.log $(B)/*.path $(B)/*.png \
	    $(B)/deb/src $(B)/deb/root $(B)/deb/*.deb $(DEB_STAMP)

distclean:
	rm -rf build
