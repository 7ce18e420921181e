# tests/sim — the deterministic Raft simulation (raft-sim). It compiles the pure raft
# core itself with -DSL_FAILPOINTS (so libraft.a never carries the planted bugs) and
# links it with libcommon.a only: the core depends on common/ and nothing else.
#   make test-sim            SIM_SEEDS seeds, every invariant after every event
#   make test-sim-planted    each planted bug must be caught by the checker
#   tests/sim/run --seed N   replay one seed; --minutes M for random seeds
SIM_SRCS := $(wildcard tests/sim/sim_*.c)
SIM_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(SIM_SRCS))
SIM_RAFT_SRCS := $(filter raft/raft_core% raft/raft_log%,$(raft_SRCS))
SIM_RAFT_OBJS := $(patsubst %.c,$(B)/obj/sim-fp/%.o,$(SIM_RAFT_SRCS))
# Not in TEST_OBJS: nothing here needs generated headers, so the simulation builds even
# while another module's code generation is broken.

$(B)/obj/sim-fp/%.o: %.c
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(CPPFLAGS) $(CFLAGS) -DSL_FAILPOINTS -c $< -o $@

$(B)/bin/raft-sim: $(SIM_OBJS) $(SIM_RAFT_OBJS) $(B)/lib/libcommon.a
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(MALLOC_LIB) -lm

# ASan/UBSan runs are ~5x slower: fewer seeds there.
SIM_SEEDS ?= $(if $(SAN),0-999,0-9999)
SIM_PLANTED_SEEDS ?= 0-999
SIM_FAILPOINTS := skip_durable double_vote minority_hw blip_election

.PHONY: test-sim test-sim-planted
test-sim: $(B)/bin/raft-sim
	$(B)/bin/raft-sim --seeds $(SIM_SEEDS)

test-sim-planted: $(B)/bin/raft-sim
	@for fp in $(SIM_FAILPOINTS); do \
	    $(B)/bin/raft-sim --seeds $(SIM_PLANTED_SEEDS) --failpoint $$fp --expect-fail || exit 1; \
	done

TEST_TARGETS += test-sim test-sim-planted
ASAN_TARGETS += test-sim
