# tests/crash — kill -9 crash tests. crash_storage: a child appends to a partition log,
# the parent SIGKILLs it at random points (seeded; the seed is printed) and a fresh child
# checks that every acknowledged batch survived, byte for byte (tests/crash/crash_storage.c).
#
#   make test-crash [CRASH_ARGS="--seed N --kills N"]     (part of `make test` and `make asan`)
CRASH_ARGS ?=
TEST_OBJS  += $(B)/obj/tests/crash/crash_storage.o
BINS       += $(B)/bin/crash_storage

$(B)/bin/crash_storage: $(B)/obj/tests/crash/crash_storage.o $$(LIBS)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: test-crash
test-crash: $(B)/bin/crash_storage
	$(B)/bin/crash_storage $(CRASH_ARGS)
TEST_TARGETS += test-crash
ASAN_TARGETS += test-crash
