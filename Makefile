# rangewatch — one plain GNU Makefile: `make`, `make test`, `make bench`, `make demo`,
# `make asan`, `make fuzz`. Libraries come from Debian through pkg-config; `make deps`
# installs what is missing (as root) or prints the exact apt-get line (otherwise).

CC      ?= cc
PKGS    := libpcap libcares libcurl ncursesw sqlite3 jansson inih
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -pthread -Imonitor -Iprobes -Iui
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS  += $(PKG_LIBS) -lm -pthread

# Debian packages: what building needs, and what the tests and the demo run against.
BUILD_DEBS := build-essential pkg-config libpcap-dev libc-ares-dev libcurl4-openssl-dev \
              libncurses-dev libsqlite3-dev libjansson-dev libinih-dev libcmocka-dev
TEST_DEBS  := clang tshark tcpdump tcpreplay swaks python3-aiosmtpd python3-scapy nftables \
              rbldnsd dnsperf tmux iproute2
DEMO_DEBS  := rbldnsd tmux python3-aiosmtpd python3-scapy tcpreplay iproute2

# VARIANT=asan builds everything again with AddressSanitizer+UBSan into build/asan, bin/asan;
# VARIANT=tsan with ThreadSanitizer into build/tsan, bin/tsan (the daemon and the unit tests
# of what its two threads share: `make tsan-test`).
VARIANT ?= release
ifeq ($(VARIANT),asan)
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
  BIN := bin/asan
else ifeq ($(VARIANT),tsan)
  # ThreadSanitizer: the capture thread and what it shares with the main loop (capthread.h)
  CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=thread
  BIN := bin/tsan
else
  BIN := bin
endif
B := build/$(VARIANT)

# monitor/ and probes/ form one library both binaries link; each binary has its own main.
LIB_SRC  := $(filter-out monitor/rangewatchd.c,$(wildcard monitor/*.c)) $(wildcard probes/*.c)
UI_SRC   := $(wildcard ui/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
UI_OBJ   := $(UI_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

.PHONY: all asan tsan-test test unit integration fuzz fuzz-short bench demo soak deps deps-test deps-demo clean
all: $(BIN)/rangewatchd $(BIN)/rangewatch

# V=1 shows the whole commands.
Q := $(if $(V),,@)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(B)/librw.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BIN)/rangewatchd: $(B)/monitor/rangewatchd.o $(B)/librw.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/rangewatch: $(UI_OBJ) $(B)/librw.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(B)/librw.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -MF $@.d $(LDFLAGS) -o $@ $< $(B)/librw.a $(LDLIBS) -lcmocka

$(B)/bench/%: bench/%.c $(B)/librw.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/librw.a $(LDLIBS)

asan:
	$(MAKE) VARIANT=asan all unit-bins

unit-bins: $(UNIT_BIN)

# The whole suite, twice: the release build, then the ASan+UBSan build; then each fuzz
# target for a few seconds. Integration tests drive the real binaries against real peers.
test: deps-test
	$(MAKE) all unit-bins
	$(MAKE) unit integration
	$(MAKE) VARIANT=asan all unit-bins
	$(MAKE) VARIANT=asan unit integration
	$(MAKE) tsan-test
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-10} FUZZ_RESULTS=
	@echo "make test: all suites passed"

# What the capture thread shares with the main loop, under ThreadSanitizer: the ring's unit
# test and the daemon capturing live on a veth across a minute's work (the CLI that asks it
# is the release one: it has no threads).
TSAN_UNITS := test_ring test_capture
tsan-test: all
	$(MAKE) VARIANT=tsan bin/tsan/rangewatchd $(TSAN_UNITS:%=build/tsan/tests/%)
	ln -sf ../rangewatch bin/tsan/rangewatch
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66" tests/run-unit.sh $(TSAN_UNITS:%=build/tsan/tests/%)
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66" RW_BIN=$(CURDIR)/bin/tsan RW_VARIANT=tsan \
	    tests/integration/capture_live_veth.sh

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

integration: $(BIN)/rangewatchd $(BIN)/rangewatch
	@RW_BIN=$(CURDIR)/$(BIN) RW_VARIANT=$(VARIANT) tests/run-integration.sh

# libFuzzer targets need clang; each runs FUZZ_SECONDS (default 60) and fails on a crash.
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_RESULTS ?= bench/RESULTS.md
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RESULTS=$(FUZZ_RESULTS) tests/fuzz/run.sh $(FUZZ_SRC:tests/fuzz/%.c=%)

bench: all $(BENCH_BIN)
	@bench/run.sh

demo: deps-demo all
	@tests/demo.sh

# An hour of replayed traffic watched for leaks (bench/soak.sh; not part of make test), under
# nice: it shares the machine. SOAK_MINUTES=3 for a quick look.
SOAK_MINUTES ?= 60
soak: all $(B)/bench/gen_capture
	@SOAK_MINUTES=$(SOAK_MINUTES) RW_BIN=$(CURDIR)/$(BIN) SOAK_GEN=$(CURDIR)/$(B)/bench/gen_capture \
	    nice -n 10 bench/soak.sh

# Installs missing Debian packages when root; otherwise prints the exact command and stops.
define need_debs
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing Debian packages; run:"; echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call need_debs,$(BUILD_DEBS))
deps-test: deps
	$(call need_debs,$(TEST_DEBS))
deps-demo: deps
	$(call need_debs,$(DEMO_DEBS))

clean:
	rm -rf build bin tests/out

-include $(shell find build -name '*.d' 2>/dev/null)
