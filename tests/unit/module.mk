# tests/unit — one Check suite per module (tests/unit/test_<module>.c exporting
# Suite *<module>_suite(void)); main.c runs every suite that exists.
# `make check-unit UNIT_ONLY="storage common"` builds and runs only those suites.
UNIT_ONLY ?=
UNIT_ALL_SUITES := $(sort $(patsubst tests/unit/test_%.c,%,$(wildcard tests/unit/test_*.c)))
UNIT_SUITES := $(if $(UNIT_ONLY),$(filter $(UNIT_ONLY),$(UNIT_ALL_SUITES)),$(UNIT_ALL_SUITES))
UNIT_SRCS := tests/unit/main.c $(patsubst %,tests/unit/test_%.c,$(UNIT_SUITES))
UNIT_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(UNIT_SRCS)) $(UNIT_EXTRA_OBJS)
TEST_OBJS += $(UNIT_OBJS)
GEN_HDRS += $(B)/gen/unit_suites.h

# Rewritten only when the list of suites changes.
$(B)/gen/unit_suites.h: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' $(foreach s,$(UNIT_SUITES),"SUITE($(s))") > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(B)/bin/unit-tests: $$(UNIT_OBJS) $$(LIBS)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

.PHONY: FORCE
FORCE:
