# tests/chaos — the chaos suite: a real cluster under seeded faults (SIGKILL, SIGSTOP,
# SIGTERM rolling restarts; network cuts with scripts/chaos.sh --netns), idempotent acks=all
# producers and a consumer group, then a checker over the recorded histories
# (docs/reliability.md).
#   make test-chaos              checker unit tests, bug replays, the short local runs below
#                                (about 2.5 minutes)
#   make test-chaos-failpoint    a failpoint build ($(B)/fp) with ack_before_replication on:
#                                the same kind of run must report lost records
#   scripts/chaos.sh --minutes N --seed S [--netns] [--failpoint NAME]   longer runs
#
# CHAOS_FAILPOINTS=1 compiles the failpoint hooks (common/sl_failpoint.h) into everything
# built with this B; use it only with a build directory of its own.
ifeq ($(CHAOS_FAILPOINTS),1)
CPPFLAGS += -DSL_FAILPOINTS
endif

CHAOS_BINS := $(B)/bin/sluice-controller $(B)/bin/sluice-broker $(B)/bin/sluice
CHAOS_RUN := $(PYTHON) tests/chaos/chaos.py --bin-dir $(B)/bin
# The short set: fixed seeds, each with the fault kinds it exercises (local processes).
CHAOS_SHORT_S ?= 40
CHAOS_SHORT := \
    "--seed 101 --cycle --faults kill_leader,kill_two_brokers,stall_followers_kill_leader,kill_controller" \
    "--seed 202 --cycle --faults pause_broker,rolling_restart,pause_controller,kill_broker"

.PHONY: test-chaos test-chaos-checker test-chaos-failpoint
test-chaos-checker:
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/chaos/test_checker.py

# test_regressions.py: short replays of the bugs the suite found (real cluster)
test-chaos: test-chaos-checker $(CHAOS_BINS)
	SLUICE_BIN_DIR=$(B)/bin $(PYTHON) -m pytest -q -p no:cacheprovider \
	    tests/chaos/test_regressions.py
	@for run in $(CHAOS_SHORT); do \
	    $(CHAOS_RUN) --seconds $(CHAOS_SHORT_S) $$run || exit 1; \
	done

# Failpoint binaries live in their own build directory ($(B)/fp), never mixed with these.
test-chaos-failpoint: $(CHAOS_BINS)
	$(MAKE) B=$(B)/fp CHAOS_FAILPOINTS=1 $(B)/fp/bin/sluice-controller \
	    $(B)/fp/bin/sluice-broker $(B)/fp/bin/sluice
	@# the failpoint build carries the switchboard; the release build none of it
	nm $(B)/fp/bin/sluice-broker | grep -q ' T sl_failpoint_on$$'
	! nm $(B)/bin/sluice-broker $(B)/bin/sluice-controller | grep -q sl_failpoint
	$(PYTHON) tests/chaos/chaos.py --bin-dir $(B)/fp/bin --seconds $(CHAOS_SHORT_S) \
	    --seed 303 --cycle --faults stall_followers_kill_leader,kill_leader \
	    --heal-timeout 30 --failpoint ack_before_replication --expect-violation

TEST_TARGETS += test-chaos test-chaos-failpoint
