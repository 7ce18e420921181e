# controller/ — sluice-controller. Depends on common, protocol, storage, raft, metadata.
controller_SRCS := $(filter-out controller/controller_bin.c,$(wildcard controller/*.c))
BINS += $(B)/bin/sluice-controller

$(B)/bin/sluice-controller: $(B)/obj/controller/controller_bin.o $$(LIBS)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
