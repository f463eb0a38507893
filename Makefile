# rangewatch — one plain GNU Makefile: `make`, `make test`, `make bench`, `make demo`,
# `make asan`, `make fuzz`. Libraries come from Debian through pkg-config; `make deps`
# installs what is missing (as root) or prints the exact apt-get line (otherwise).

CC      ?= cc
PKGS    := libpcap libcares libcurl ncursesw sqlite3 jansson inih libmicrohttpd
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -pthread -Imonitor -Iprobes -Iui
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS  += $(PKG_LIBS) -lm -pthread
# GMime (MIME of complaint reports) only in the client: the daemon never parses mail
GMIME_CFLAGS = $(shell pkg-config --cflags gmime-3.0 2>/dev/null)
GMIME_LIBS   = $(shell pkg-config --libs gmime-3.0 2>/dev/null)

# Debian packages: what building needs, and what the tests and the demo run against.
BUILD_DEBS := build-essential pkg-config libpcap-dev libc-ares-dev libcurl4-openssl-dev \
              libncurses-dev libsqlite3-dev libjansson-dev libinih-dev libcmocka-dev \
              libmicrohttpd-dev libgmime-3.0-dev
TEST_DEBS  := clang tshark tcpdump tcpreplay swaks python3-aiosmtpd python3-scapy nftables \
              rbldnsd dnsperf tmux iproute2 prometheus curl mandoc man-db debhelper dpkg-dev \
              lintian adduser softflowd pmacct nfdump nfdump-sflow
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

.PHONY: all asan tsan-test test unit integration fuzz fuzz-short bench demo soak deps deps-test deps-demo \
        clean install uninstall deb
all: $(BIN)/rangewatchd $(BIN)/rangewatch

# V=1 shows the whole commands.
Q := $(if $(V),,@)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(B)/librw.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BIN)/rangewatchd: $(B)/monitor/rangewatchd.o $(B)/librw.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UI_OBJ): PKG_CFLAGS += $(GMIME_CFLAGS)

$(BIN)/rangewatch: $(UI_OBJ) $(B)/librw.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(GMIME_LIBS)

# the unit test of ui/arf.c links it and GMime
$(B)/tests/test_arf: tests/unit/test_arf.c $(B)/ui/arf.o $(B)/librw.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) $(GMIME_CFLAGS) -MMD -MP -MF $@.d $(LDFLAGS) -o $@ $< \
	    $(B)/ui/arf.o $(B)/librw.a $(LDLIBS) $(GMIME_LIBS) -lcmocka

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
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-8} FUZZ_RESULTS=
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

# `make install` (PREFIX, DESTDIR as usual): the binaries, the man pages, the systemd unit
# (its paths follow PREFIX), the hook examples and the Grafana/Prometheus files under
# $(DATADIR), and etc/ as the defaults in $(SYSCONFDIR)/rangewatch, which the daemon reads
# by default (/etc/rangewatch/rangewatch.conf, built in: with another SYSCONFDIR give the
# daemon and the client -c): a config already there is never replaced.
# The Debian package (debian/) is this with PREFIX=/usr and the unit in /lib/systemd/system.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/rangewatch
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
MAN1 := ui/rangewatch.1
MAN5 := monitor/rangewatch.conf.5 probes/rangewatch-dnsbl.conf.5
MAN8 := monitor/rangewatchd.8
ETC_FILES := etc/rangewatch.conf etc/dnsbl.conf etc/prefixes.txt etc/customers.csv
install: $(BIN)/rangewatchd $(BIN)/rangewatch
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(DATADIR)/hooks $(DESTDIR)$(DATADIR)/grafana $(DESTDIR)$(DATADIR)/prometheus \
	    $(DESTDIR)$(SYSCONFDIR)/rangewatch
	install -m 755 $(BIN)/rangewatch $(DESTDIR)$(BINDIR)/rangewatch
	install -m 755 $(BIN)/rangewatchd $(DESTDIR)$(SBINDIR)/rangewatchd
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	sed 's|/usr/sbin/rangewatchd|$(SBINDIR)/rangewatchd|g' etc/rangewatchd.service \
	    >$(DESTDIR)$(UNITDIR)/rangewatchd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/rangewatchd.service
	install -m 755 etc/hooks/*.sh $(DESTDIR)$(DATADIR)/hooks/
	install -m 644 etc/hooks/README.md $(DESTDIR)$(DATADIR)/hooks/
	install -m 644 etc/grafana/rangewatch.json $(DESTDIR)$(DATADIR)/grafana/
	install -m 644 etc/prometheus/rangewatch.rules.yml $(DESTDIR)$(DATADIR)/prometheus/
	@for f in $(ETC_FILES); do \
	  d=$(DESTDIR)$(SYSCONFDIR)/rangewatch/$${f#etc/}; \
	  if [ -e "$$d" ]; then echo "  kept    $$d (already there)"; \
	  else install -m 644 "$$f" "$$d" && echo "  INSTALL $$d"; fi; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/rangewatch $(DESTDIR)$(SBINDIR)/rangewatchd \
	    $(DESTDIR)$(UNITDIR)/rangewatchd.service
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8)))
	rm -rf $(DESTDIR)$(DATADIR)
	@echo "left alone: $(DESTDIR)$(SYSCONFDIR)/rangewatch (your config) and the state folder"

# The Debian package from a clean copy of the tree (the build never dirties this one):
# ../rangewatch_VERSION_ARCH.deb under build/deb/. `make package-test` builds, installs,
# checks and purges it (tests/integration/package.sh; the machine must be root).
deb:
	@tests/integration/package.sh --build-only

clean:
	rm -rf build bin tests/out

-include $(shell find build -name '*.d' 2>/dev/null)
