# tests/unit — one Check suite per module (tests/unit/test_<module>.c exporting
# Suite *<module>_suite(void)); main.c runs every suite that exists.
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_SUITES := $(sort $(patsubst tests/unit/test_%.c,%,$(wildcard tests/unit/test_*.c)))
TEST_OBJS += $(patsubst %.c,$(B)/obj/%.o,$(UNIT_SRCS))
GEN_HDRS += $(B)/gen/unit_suites.h

# Rewritten only when the list of suites changes.
$(B)/gen/unit_suites.h: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' $(foreach s,$(UNIT_SUITES),"SUITE($(s))") > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(B)/bin/unit-tests: $(patsubst %.c,$(B)/obj/%.o,$(UNIT_SRCS)) $$(LIBS)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

.PHONY: FORCE
FORCE:
