# tools/ — the `sluice` command-line tools: one binary, one file per command (tools/tools.h).
# Not a library in MODULES: the sources compile through the generic $(B)/obj/%.o rule and
# link into $(B)/bin/sluice with the project libraries and librdkafka. Uses only public
# headers of other modules.
#
# The unit tests of the parts that do not need librdkafka (option parser, histogram, token
# bucket, payload files, text helpers, group helpers, dump-log) are tests/unit/test_tools.c,
# linked into the common unit-test binary with the objects below.
tools_SRCS := $(wildcard tools/*.c)
tools_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(tools_SRCS))
RDKAFKA_LIBS := $(shell pkg-config --libs rdkafka 2>/dev/null || echo -lrdkafka)

UNIT_EXTRA_OBJS += $(B)/obj/tools/tools_opt.o $(B)/obj/tools/tools_util.o \
                   $(B)/obj/tools/tools_text.o $(B)/obj/tools/tools_kafka.o \
                   $(B)/obj/tools/tools_groups.o $(B)/obj/tools/tools_groups_reset.o \
                   $(B)/obj/tools/tools_dump_log.o

BINS += $(B)/bin/sluice

$(tools_OBJS): | $$(GEN_HDRS)

# Only the libraries whose public headers the tools include (link order: dependents first),
# so the CLI builds even while the broker or controller does not.
TOOLS_LIBS := $(B)/lib/libstorage.a $(B)/lib/libprotocol.a $(B)/lib/libcommon.a

$(B)/bin/sluice: $(tools_OBJS) $(TOOLS_LIBS)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(RDKAFKA_LIBS) $(LDLIBS)

# The tools against librdkafka's in-process mock cluster: the perf tools (0001) and the
# admin and console tools (0030).
.PHONY: test-tools
test-tools: $(B)/bin/sluice
	SLUICE_BIN=$(B)/bin/sluice $(PYTHON) -m pytest -q -p no:cacheprovider \
	    tests/integration/test_0001_perf_tools_mock.py \
	    $(wildcard tests/integration/test_0030_*.py)

# Every command line of the user's notes against a real 3 + 3 cluster (test_0031).
.PHONY: test-tools-cluster
test-tools-cluster: $(B)/bin/sluice $(B)/bin/sluice-broker $(B)/bin/sluice-controller
	SLUICE_BIN_DIR=$(abspath $(B)/bin) $(PYTHON) -m pytest -q -p no:cacheprovider \
	    $(wildcard tests/integration/test_0031_*.py)

TEST_TARGETS += test-tools test-tools-cluster
ASAN_TARGETS += test-tools
