# tests/crash — kill -9 crash tests. crash_storage: a child appends to a partition log,
# the parent SIGKILLs it at random points (seeded; the seed is printed) and a fresh child
# checks that every acknowledged batch survived, byte for byte (tests/crash/crash_storage.c).
# crash_clean: the same for compaction — a child appends keyed records and cleans in small
# steps, is SIGKILLed at random points, and the parent checks that no latest record of a key
# was lost and that nothing overlaps (tests/crash/crash_clean.c).
#
#   make test-crash [CRASH_ARGS="--seed N --kills N"]     (part of `make test` and `make asan`)
#   make test-crash-clean [CRASH_CLEAN_ARGS="--seed N --kills N"]   (likewise)
CRASH_ARGS ?=
CRASH_CLEAN_ARGS ?=
TEST_OBJS  += $(B)/obj/tests/crash/crash_storage.o $(B)/obj/tests/crash/crash_clean.o
BINS       += $(B)/bin/crash_storage $(B)/bin/crash_clean

$(B)/bin/crash_storage: $(B)/obj/tests/crash/crash_storage.o $$(LIBS)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: test-crash
test-crash: $(B)/bin/crash_storage
	$(B)/bin/crash_storage $(CRASH_ARGS)
TEST_TARGETS += test-crash
ASAN_TARGETS += test-crash

$(B)/bin/crash_clean: $(B)/obj/tests/crash/crash_clean.o $$(LIBS)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: test-crash-clean
test-crash-clean: $(B)/bin/crash_clean
	$(B)/bin/crash_clean $(CRASH_CLEAN_ARGS)
TEST_TARGETS += test-crash-clean
ASAN_TARGETS += test-crash-clean
