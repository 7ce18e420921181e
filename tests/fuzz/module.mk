# tests/fuzz — one libFuzzer target per decoder, tests/fuzz/fuzz_<target>.c, each defining
# LLVMFuzzerTestOneInput (and optionally fuzz_target_accepts, see replay_main.c).
#
#   make test-fuzz-replay         replay tests/fuzz/corpus/<target>/ and check that
#                                 tests/fuzz/rejected/<target>/ is refused (gcc, no libFuzzer;
#                                 part of `make test` and `make asan`)
#   make fuzz                     build build/fuzz/<target> with clang -fsanitize=fuzzer,address,
#                                 undefined (every source recompiled by clang into build/fuzz/obj)
#   make fuzz-run T=<target> [FUZZ_SECONDS=300]
#                                 fuzz one target; new inputs go to build/fuzz/corpus/<target>/,
#                                 crashes to build/fuzz/artifacts/<target>/
FUZZ_TARGETS := $(sort $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_DIR     := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_REPLAY_BINS := $(patsubst %,$(B)/bin/replay_%,$(FUZZ_TARGETS))
FUZZ_OBJS := $(patsubst %,$(B)/obj/tests/fuzz/fuzz_%.o,$(FUZZ_TARGETS))
TEST_OBJS += $(FUZZ_OBJS) $(B)/obj/tests/fuzz/replay_main.o

# $$$$(LIBS): call turns it into $$(LIBS), eval into $(LIBS) for the second expansion.
define fuzz_replay_rule
$(B)/bin/replay_$(1): $(B)/obj/tests/fuzz/fuzz_$(1).o $(B)/obj/tests/fuzz/replay_main.o $$$$(LIBS)
	@mkdir -p $$(@D)
	$$(QUIET_LINK)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_replay_rule,$(t))))

.PHONY: test-fuzz-replay fuzz-targets fuzz-run
test-fuzz-replay: $(FUZZ_REPLAY_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    $(B)/bin/replay_$$t tests/fuzz/corpus/$$t --rejected tests/fuzz/rejected/$$t; \
	done
TEST_TARGETS += test-fuzz-replay
ASAN_TARGETS += test-fuzz-replay

# The libFuzzer build is this Makefile run again with B=build/fuzz, clang, the sanitizer
# flags of SAN=1 and coverage instrumentation. Warnings stay on but do not stop it: a
# clang-only warning elsewhere must not keep the decoders from being fuzzed.
fuzz:
	$(MAKE) B=$(FUZZ_DIR) CC=clang SAN=1 FUZZ_BUILD=1 fuzz-targets

ifeq ($(FUZZ_BUILD),1)
CFLAGS += -fsanitize=fuzzer-no-link -Wno-error
FUZZ_BINS := $(patsubst %,$(B)/%,$(FUZZ_TARGETS))
define fuzz_bin_rule
$(B)/$(1): $(B)/obj/tests/fuzz/fuzz_$(1).o $$$$(LIBS)
	@mkdir -p $$(@D)
	$$(QUIET_LINK)$$(CC) $$(LDFLAGS) -fsanitize=fuzzer -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_bin_rule,$(t))))
fuzz-targets: $(FUZZ_BINS)
endif

# Seeds come from the checked-in corpus and rejected inputs; libFuzzer writes new ones
# into the first directory only.
fuzz-run: fuzz
	@test -n "$(T)" || { echo "usage: make fuzz-run T=<target> [FUZZ_SECONDS=300]" >&2; exit 2; }
	@mkdir -p $(FUZZ_DIR)/corpus/$(T) $(FUZZ_DIR)/artifacts/$(T)
	$(FUZZ_DIR)/$(T) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$(T)/ \
	    $(if $(wildcard tests/fuzz/$(T).dict),-dict=tests/fuzz/$(T).dict) \
	    $(FUZZ_DIR)/corpus/$(T) $(wildcard tests/fuzz/corpus/$(T) tests/fuzz/rejected/$(T))
