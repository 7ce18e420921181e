# tools/ — the `sluice` command-line tools: one binary, one file per command (tools/tools.h).
# Not a library in MODULES: the sources compile through the generic $(B)/obj/%.o rule and
# link into $(B)/bin/sluice with the project libraries and librdkafka. Uses only public
# headers of other modules.
#
# tools/tools_test*.c are the Check unit tests of the parts without a client library
# (option parser, histogram, token bucket, payload files); they build into
# $(B)/bin/tools-unit-tests, which `make test-tools` runs before the integration test.
tools_TEST_SRCS := $(wildcard tools/tools_test*.c)
tools_SRCS := $(filter-out $(tools_TEST_SRCS),$(wildcard tools/*.c))
tools_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(tools_SRCS))
tools_TEST_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(tools_TEST_SRCS)) \
                   $(B)/obj/tools/tools_opt.o $(B)/obj/tools/tools_util.o
RDKAFKA_LIBS := $(shell pkg-config --libs rdkafka 2>/dev/null || echo -lrdkafka)

BINS += $(B)/bin/sluice

$(tools_OBJS) $(tools_TEST_OBJS): | $$(GEN_HDRS)

$(B)/bin/sluice: $(tools_OBJS) $$(LIBS)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(RDKAFKA_LIBS) $(LDLIBS)

$(B)/bin/tools-unit-tests: $(tools_TEST_OBJS) $(B)/lib/libcommon.a
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

# The tools' unit tests, then both perf tools against librdkafka's in-process mock cluster.
.PHONY: test-tools
test-tools: $(B)/bin/sluice $(B)/bin/tools-unit-tests
	$(B)/bin/tools-unit-tests
	SLUICE_BIN=$(B)/bin/sluice $(PYTHON) -m pytest -q -p no:cacheprovider \
	    tests/integration/test_0001_perf_tools_mock.py

TEST_TARGETS += test-tools
ASAN_TARGETS += test-tools
