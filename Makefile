# Watch N Chill (C edition). One non-recursive Makefile; objects under build/.
#
#   make run     build, install what is missing, start the whole stack on 127.0.0.1:$(PORT)
#   make test    every test: CUnit (ASan+UBSan), integration, web unit, browser
#   make bench   the load benchmark (tests/bench), make bench-sync the sync benchmark

BUILD    := build
CC       ?= cc
PKGS     := hiredis json-c
WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 \
            -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
OPT      ?= -O2 -g
CFLAGS   ?=
LDFLAGS  ?=

ifeq ($(SANITIZE),1)
  BUILD := build/san
  OPT   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=address,undefined
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Each binary links only what it uses: the core needs hiredis; the worker adds json-c and
# libsodium (room passwords).
CORE_LIBS  = $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis) -lpthread
FCGI_LIBS  = $(shell pkg-config --libs json-c libsodium 2>/dev/null || echo -ljson-c -lsodium) $(CORE_LIBS)
PKG_LIBS   = $(FCGI_LIBS)
ALL_CFLAGS = $(WARN) $(OPT) $(PKG_CFLAGS) -Icore -Ifcgi -Itests/unit $(CFLAGS)

# core/: what both daemons use (errors, log, config, buffers, ids, SHA-256, validators, the
# store, the room-operation layer, the publisher). fcgi/: the worker only. pushd/: the timers.
CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
FCGI_SRC := $(filter-out fcgi/main.c,$(wildcard fcgi/*.c))
FCGI_OBJ := $(FCGI_SRC:%.c=$(BUILD)/%.o)
LIB_SRC  := $(CORE_SRC) $(FCGI_SRC)
FCGI_BIN := $(BUILD)/wnc-fcgi
PUSHD_BIN:= $(BUILD)/wnc-pushd
ADMIN_OBJ:= $(patsubst %.c,$(BUILD)/%.o,$(wildcard admin/*.c))
ADMIN_BIN:= $(BUILD)/wnc-admin
UNIT_BIN := $(BUILD)/wnc-unit
UNIT_SRC := $(wildcard tests/unit/*.c tests/unit/core/*.c tests/unit/fcgi/*.c)
ALL_OBJ  := $(CORE_OBJ) $(FCGI_OBJ) $(BUILD)/fcgi/main.o $(BUILD)/pushd/main.o $(ADMIN_OBJ) \
            $(UNIT_SRC:%.c=$(BUILD)/%.o)

.PHONY: all build deps run run-cluster test test-cluster test-unit test-unit-san test-integration test-web-unit \
        test-browser test-faults soak bench bench-quick bench-sync bench-sync-quick format format-check clean

all: build
# build never installs anything: make deps (called by make run and make test) does.
build: $(FCGI_BIN) $(PUSHD_BIN) $(ADMIN_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(FCGI_BIN): $(CORE_OBJ) $(FCGI_OBJ) $(BUILD)/fcgi/main.o
	$(CC) $(LDFLAGS) -o $@ $^ $(FCGI_LIBS)

$(PUSHD_BIN): $(CORE_OBJ) $(BUILD)/pushd/main.o
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

# wnc-admin, the operator's CLI: like pushd, core and hiredis only.
$(ADMIN_BIN): $(CORE_OBJ) $(ADMIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

$(UNIT_BIN): $(CORE_OBJ) $(FCGI_OBJ) $(UNIT_SRC:%.c=$(BUILD)/%.o)
	$(CC) $(LDFLAGS) -o $@ $^ $(FCGI_LIBS) -lcunit

-include $(ALL_OBJ:.o=.d)
-include tests/bench/bench.mk

# Dependencies: apt packages and npm tooling, installed only when missing.
.PHONY: deps-c
deps-c:
	@scripts/deps.sh c
deps:
	@scripts/deps.sh all

run: deps-c build
	@scripts/stack.sh

# The scale-out shape on one machine (docs/scaling.md): a 3+3 Redis Cluster, WNC_INSTANCES
# instances on PORT+1..PORT+N and a balancer on PORT.
run-cluster: deps-c build
	@scripts/cluster.sh

# ---- install ------------------------------------------------------------------------------
# make install PREFIX=/usr/local DESTDIR=: the binaries and wnc-render-nginx (scripts/
# render-nginx.sh) in BINDIR; the Lua library, the web root and the nginx site template with its
# includes in SHAREDIR; the systemd units in UNITDIR (under /usr/local/lib/systemd/system
# systemd finds them); the example configuration as SYSCONFDIR/wnc/wnc.env.example. The units
# and the example name the default PREFIX's paths: rewritten for another. README "Production".
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SHAREDIR   ?= $(PREFIX)/share/wnc
DOCDIR     ?= $(PREFIX)/share/doc/wnc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
UNITS      := systemd/wnc-fcgi.socket systemd/wnc-fcgi.service systemd/wnc-pushd.service
PREFIX_SED := sed -e 's|/usr/local/bin|$(BINDIR)|g' -e 's|/usr/local/share/wnc|$(SHAREDIR)|g' \
                  -e 's|/usr/local/share/doc/wnc|$(DOCDIR)|g'

.PHONY: install test-install
install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/nginx $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/wnc
	install -m 0755 $(FCGI_BIN) $(PUSHD_BIN) $(ADMIN_BIN) $(DESTDIR)$(BINDIR)/
	install -m 0755 scripts/render-nginx.sh $(DESTDIR)$(BINDIR)/wnc-render-nginx
	rm -rf $(DESTDIR)$(SHAREDIR)/sql $(DESTDIR)$(SHAREDIR)/web
	install -d $(DESTDIR)$(SHAREDIR)/sql
	install -m 0644 sql/*.lua $(DESTDIR)$(SHAREDIR)/sql/
	cp -R web $(DESTDIR)$(SHAREDIR)/web && chmod -R u=rwX,go=rX $(DESTDIR)$(SHAREDIR)/web
	install -m 0644 nginx/wnc-site.conf.in nginx/wnc-fastcgi.conf nginx/wnc-headers.conf \
	  $(DESTDIR)$(SHAREDIR)/nginx/
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	for u in $(UNITS); do \
	  $(PREFIX_SED) $$u > $(DESTDIR)$(UNITDIR)/$${u#systemd/} && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$${u#systemd/} || exit 1; done
	$(PREFIX_SED) systemd/wnc.env.example > $(DESTDIR)$(SYSCONFDIR)/wnc/wnc.env.example
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/wnc/wnc.env.example

# Installs into a temporary DESTDIR, verifies the units, runs the installed stack behind a
# system-style nginx configuration (tests/install).
test-install: build
	node --test --test-concurrency=1 tests/install/

# ---- tests --------------------------------------------------------------------------------
test: deps build
	$(MAKE) --no-print-directory test-unit-san
	$(MAKE) --no-print-directory test-integration
	$(MAKE) --no-print-directory test-install
	$(MAKE) --no-print-directory test-web-unit
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory bench-sync-quick
	$(MAKE) --no-print-directory bench-quick
	@echo "make test: all suites passed"

test-unit: $(UNIT_BIN)
	scripts/unit.sh $(UNIT_BIN)

test-unit-san:
	$(MAKE) --no-print-directory SANITIZE=1 test-unit

test-integration: build
	node --test --test-concurrency=1 tests/integration/

test-web-unit:
	@if ls tests/web/*.test.mjs >/dev/null 2>&1; then node --test tests/web/; fi

# Fault injection against a loaded stack (kills, reload, Redis outages); bounded, in CI.
test-faults: deps build
	node --test --test-concurrency=1 tests/faults/

# The scale-out tests (tests/cluster/), then integration suites against the balancer of 2
# instances (WNC_TEST_CLUSTER=1: tests/lib/stack.mjs starts the cluster, and subscribeWs
# returns a stream once it is live). In .ci/run. The others look at one Redis' keys (presence),
# one instance's logs or one nginx's workers: they assume the single machine.
CLUSTER_SUITES := tests/integration/video.test.mjs tests/integration/hostile.test.mjs \
	tests/integration/watch.test.mjs tests/integration/access.test.mjs tests/integration/rooms.test.mjs
# nchan 1.3.7 is built (once, cached) before a test starts a cluster: scripts/cluster.sh loads
# it, and a first build (about 30 s) would eat into a test's start-up time.
test-cluster: deps build
	@scripts/nchan-build.sh >/dev/null
	node --test --test-concurrency=1 --test-timeout=300000 tests/cluster/
	WNC_TEST_CLUSTER=1 node --test --test-concurrency=1 --test-timeout=300000 $(CLUSTER_SUITES)

# 30 minutes of churn (SOAK_MINUTES) with RSS sampled; not in CI.
soak: deps build
	node tests/soak/soak.mjs

test-browser: build
	@if ls tests/browser/*.test.mjs >/dev/null 2>&1; then node --test --test-concurrency=1 tests/browser/; fi

bench-sync: build
	node tests/sync/bench-sync.mjs

bench-sync-quick: build
	@if [ -f tests/sync/bench-sync.mjs ]; then node tests/sync/bench-sync.mjs --quick; fi

bench: build $(LOADGEN) $(ECHO_FLOOR)
	scripts/bench.sh

bench-quick: build $(LOADGEN) $(ECHO_FLOOR)
	@if [ -x scripts/bench.sh ]; then scripts/bench.sh --quick; fi

# ---- fuzzing (tests/fuzz/README.md) ---------------------------------------------------------
# libFuzzer drivers for the hand-written parsers, built with clang whatever CC is. Each driver
# links only the fcgi sources it needs, compiled with coverage and ASan+UBSan under build/fuzz/
# (only events needs the whole library). make fuzz runs every target for
# FUZZ_SECONDS, make fuzz-smoke for FUZZ_SMOKE_SECONDS (CI), make fuzz-<target> one of them.
FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_DIR           := build/fuzz
FUZZ_SAN           := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS        := $(WARN) -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -Icore -Ifcgi -Itests/fuzz
FUZZ_TARGETS       := jsonx valid http wire publish addr proc events metrics cluster exec
FUZZ_SRC_jsonx     := fcgi/jsonx.c core/log.c core/valid.c
FUZZ_SRC_valid     := core/valid.c
FUZZ_SRC_wire      := fcgi/wire.c core/buf.c core/log.c core/valid.c
FUZZ_SRC_http      := fcgi/http.c fcgi/wire.c core/addr.c core/buf.c core/cluster.c core/config.c core/err.c core/log.c core/valid.c \
                      core/metrics.c
FUZZ_SRC_publish   := core/publish.c core/buf.c core/log.c core/valid.c core/metrics.c
FUZZ_SRC_addr      := core/addr.c
FUZZ_SRC_metrics   := core/metrics.c core/nchan.c core/publish.c core/buf.c core/log.c core/valid.c
FUZZ_SRC_proc      := core/proc.c
FUZZ_SRC_cluster   := core/cluster.c
FUZZ_SRC_events    := $(LIB_SRC)
FUZZ_SRC_exec      := $(LIB_SRC)
FUZZ_LIBS_jsonx    := -ljson-c
FUZZ_LIBS_http     := -lpthread
FUZZ_LIBS_publish  := -lpthread
FUZZ_LIBS_metrics  := -lpthread -lm
FUZZ_LIBS_events   := $(PKG_LIBS) -lpthread
FUZZ_LIBS_exec     := $(PKG_LIBS) -lpthread
FUZZ_BINS          := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz-%)
FUZZ_OBJ           := $(sort $(foreach t,$(FUZZ_TARGETS),$(FUZZ_SRC_$(t)) tests/fuzz/fuzz_$(t).c) \
                        tests/fuzz/fuzz.c)
FUZZ_OBJ           := $(FUZZ_OBJ:%.c=$(FUZZ_DIR)/obj/%.o)

.PHONY: fuzz fuzz-smoke fuzz-build $(FUZZ_TARGETS:%=fuzz-%)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

define FUZZ_LINK
$(FUZZ_DIR)/fuzz-$(1): $(FUZZ_DIR)/obj/tests/fuzz/fuzz_$(1).o $(FUZZ_DIR)/obj/tests/fuzz/fuzz.o \
                       $(FUZZ_SRC_$(1):%.c=$(FUZZ_DIR)/obj/%.o)
	$$(FUZZ_CC) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $$(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_LINK,$(t))))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_DIR)/fuzz-%
	tests/fuzz/run.sh $(FUZZ_SECONDS) $*

-include $(FUZZ_OBJ:.o=.d)
# ---- end of fuzzing -------------------------------------------------------------------------

format:
	clang-format -i core/*.[ch] fcgi/*.[ch] pushd/*.c admin/*.[ch] tests/unit/*.[ch] tests/unit/*/*.[ch] tests/fuzz/*.[ch] tests/bench/*.[ch]

format-check:
	clang-format --dry-run --Werror core/*.[ch] fcgi/*.[ch] pushd/*.c admin/*.[ch] tests/unit/*.[ch] tests/unit/*/*.[ch] tests/fuzz/*.[ch] tests/bench/*.[ch]

clean:
	rm -rf build
