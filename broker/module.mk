# broker/ — sluice-broker. Depends on common, protocol, storage, raft, metadata.
broker_SRCS := $(filter-out broker/broker_bin.c,$(wildcard broker/*.c))
BINS += $(B)/bin/sluice-broker

$(B)/bin/sluice-broker: $(B)/obj/broker/broker_bin.o $$(LIBS)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
