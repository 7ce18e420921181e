# sluice — one non-recursive GNU Makefile. Each module lists its sources in
# <dir>/module.mk; objects go to $(B)/obj, libraries to $(B)/lib, binaries to $(B)/bin,
# generated sources to $(B)/gen. `make help` lists the targets.

B   ?= build
SAN ?=
CC  ?= cc
V   ?=
# Quiet by default: print "CC file"; `make V=1` shows whole command lines.
ifeq ($(V),1)
Q :=
QUIET_CC =
QUIET_LINK =
else
Q := @
QUIET_CC = @printf '  CC    %s\n' $<;
QUIET_LINK = @printf '  LINK  %s\n' $@;
endif
PYTHON ?= /usr/bin/python3

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wvla -Wimplicit-fallthrough -Wno-format-zero-length
PKGS := libevent libevent_pthreads openssl libzstd liblz4 zlib libprotobuf-c jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lsnappy

ifeq ($(SAN),1)
OPT        := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined -DSL_DEBUG_BUILD
MALLOC_LIB :=
else
OPT        := -O2
MALLOC_LIB := -ljemalloc
endif

CPPFLAGS := -D_GNU_SOURCE -I. -I$(B)/gen $(PKG_CFLAGS)
CFLAGS   := -std=c11 -g $(OPT) $(WARN) -pthread -MMD -MP
LDFLAGS  := -pthread $(filter -fsanitize=%,$(OPT))
LDLIBS   := $(PKG_LIBS) $(MALLOC_LIB) -lm

# Link order: a module before the modules it depends on.
MODULES := broker controller metadata raft storage protocol common

.DEFAULT_GOAL := all
.PHONY: all deps test check-unit asan fuzz format format-check clean help run

# Per-module source lists and extra rules. A module.mk sets <module>_SRCS (its .c files)
# and may set <module>_GEN_OBJS (objects built from generated sources under $(B)/gen) and
# add generated headers to GEN_HDRS.
GEN_HDRS :=
BINS     :=
# Module files may name $$(LIBS) in prerequisites (second expansion): LIBS is known
# only after every module file has been read.
.SECONDEXPANSION:
include $(wildcard */module.mk) $(wildcard tests/*/module.mk)

define module_lib
$(1)_OBJS := $$(patsubst %.c,$(B)/obj/%.o,$$($(1)_SRCS)) $$($(1)_GEN_OBJS)
$(B)/lib/lib$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	@rm -f $$@
	$(Q)$$(AR) rcs $$@ $$^
ALL_OBJS += $$($(1)_OBJS)
endef
$(foreach m,$(MODULES),$(if $($(m)_SRCS),$(eval $(call module_lib,$(m)))))

# Libraries that exist, in link order.
LIBS := $(foreach m,$(MODULES),$(if $($(m)_SRCS),$(B)/lib/lib$(m).a))

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -Wno-shadow -c $< -o $@

# Every object waits for generated headers (order-only: -MMD tracks real use).
$(ALL_OBJS) $(TEST_OBJS): | $(GEN_HDRS)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

all: deps $(BINS) $(B)/bin/unit-tests

deps:
	@scripts/deps.sh

check-unit: deps $(B)/bin/unit-tests
	$(B)/bin/unit-tests

# The README's test command: everything that runs in CI.
test: all check-unit $(TEST_TARGETS)
	@echo "make test: all suites passed"

asan:
	$(MAKE) B=build/asan SAN=1 check-unit $(ASAN_TARGETS)

# A local 3-controller + 3-broker cluster (scripts/cluster.sh; CLUSTER_DIR and BASE_PORT
# place it). Prints BOOTSTRAP=… and how to use it.
run: all
	@BIN_DIR=$(abspath $(B))/bin scripts/cluster.sh start
	@echo ""
	@echo "Try it:"
	@echo "  kcat -L -b 127.0.0.1:$${BASE_PORT:-9092}"
	@echo "  echo hello | kcat -P -b 127.0.0.1:$${BASE_PORT:-9092} -t hello.kafka"
	@echo "  kcat -C -b 127.0.0.1:$${BASE_PORT:-9092} -t hello.kafka -e"
	@echo "  $(B)/bin/sluice topics --bootstrap-server 127.0.0.1:$${BASE_PORT:-9092} --create --topic t1 --partitions 6 --replication-factor 3"
	@echo "  $(B)/bin/sluice console-producer --bootstrap-server 127.0.0.1:$${BASE_PORT:-9092} --topic t1"
	@echo "  $(B)/bin/sluice console-consumer --bootstrap-server 127.0.0.1:$${BASE_PORT:-9092} --topic t1 --from-beginning"
	@echo "  scripts/cluster.sh status | stop | kill b1 | restart b1"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

help:
	@echo "make            build everything (installs missing Debian packages as root)"
	@echo "make run        build and start a local 3-controller + 3-broker cluster"
	@echo "make test       unit, replay, simulation, crash and integration suites"
	@echo "make asan       the unit and integration suites under ASan + UBSan"
	@echo "make fuzz       build libFuzzer targets (clang) into build/fuzz"
	@echo "make bench      print performance figures (see docs/performance.md)"
