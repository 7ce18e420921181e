# tests/bench — benchmark programs, one binary $(B)/bin/bench_<name> per
# tests/bench/bench_<name>.c (linked with the project libraries). They print figures and
# never fail on a number. Built by `make all` so they keep compiling.
#
#   make bench-protocol       CRC-32C, codecs, protocol decoding (seconds)
#   make bench-storage        append/read/fsync, compaction, Raft commit latency and
#                             failover on this disk (minutes)
#   make bench                all of it, then the cluster benches
BENCH_NAMES := $(sort $(patsubst tests/bench/bench_%.c,%,$(wildcard tests/bench/bench_*.c)))
BENCH_BINS  := $(patsubst %,$(B)/bin/bench_%,$(BENCH_NAMES))
TEST_OBJS   += $(patsubst %,$(B)/obj/tests/bench/bench_%.o,$(BENCH_NAMES))
BENCH_LIBS  := $(shell pkg-config --libs rdkafka 2>/dev/null) # bench_e2e is a Kafka client
BINS        += $(BENCH_BINS)

# $$$$(LIBS): call turns it into $$(LIBS), eval into $(LIBS) for the second expansion.
define bench_rule
$(B)/bin/bench_$(1): $(B)/obj/tests/bench/bench_$(1).o $$$$(LIBS)
	@mkdir -p $$(@D)
	$$(QUIET_LINK)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$(BENCH_LIBS)
endef
$(foreach n,$(BENCH_NAMES),$(eval $(call bench_rule,$(n))))

.PHONY: bench-protocol bench-storage
bench-protocol: $(B)/bin/bench_crc $(B)/bin/bench_protocol_decode
	@set -e; for b in $^; do echo "== $$b"; $$b; done

bench-storage: $(B)/bin/bench_storage $(B)/bin/bench_storage_clean $(B)/bin/bench_raft
	@echo "== bench_storage"; $(B)/bin/bench_storage
	@echo "== bench_storage_clean"; $(B)/bin/bench_storage_clean
	@echo "== bench_raft latency"; $(B)/bin/bench_raft latency
	@echo "== bench_raft failover"; $(B)/bin/bench_raft failover --runs 20

# make bench: every figure, in order — the bench binaries above, then the cluster benches
# (scripts/bench.sh, scripts/bench-groups.sh, scripts/bench-controller.sh) against this
# build's binaries. Not part of `make test`; takes about half an hour.
.PHONY: bench
bench: $(BINS)
	$(MAKE) --no-print-directory bench-protocol
	$(MAKE) --no-print-directory bench-storage
	BIN_DIR=$(abspath $(B))/bin scripts/bench.sh
	BIN_DIR=$(abspath $(B))/bin scripts/bench-groups.sh
	BIN_DIR=$(abspath $(B))/bin scripts/bench-controller.sh
