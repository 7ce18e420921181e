# protocol/ — Kafka codecs, record batches, compression; depends on common/.
protocol_SRCS := $(wildcard protocol/*.c)

# Message codecs generated from protocol/schema/ by protocol/gen/protocol_gen.py (rerun
# when the schema or the generator changes). protocol_gen.c goes into libprotocol.a;
# protocol_gen_test.c (fill/equal helpers) only into the unit-test binary.
PROTOCOL_GEN_DIR := $(B)/gen/protocol
PROTOCOL_GEN_OUT := $(addprefix $(PROTOCOL_GEN_DIR)/,protocol_gen.h protocol_gen.c \
                    protocol_gen_test.h protocol_gen_test.c)
PROTOCOL_GEN_IN  := protocol/gen/protocol_gen.py $(wildcard protocol/schema/*.json) \
                    protocol/schema/errors.tsv

$(PROTOCOL_GEN_OUT) &: $(PROTOCOL_GEN_IN)
	@mkdir -p $(PROTOCOL_GEN_DIR)
	@printf '  GEN   %s\n' $(PROTOCOL_GEN_DIR)/protocol_gen.c
	$(Q)$(PYTHON) protocol/gen/protocol_gen.py protocol/schema $(PROTOCOL_GEN_DIR)

GEN_HDRS += $(PROTOCOL_GEN_DIR)/protocol_gen.h $(PROTOCOL_GEN_DIR)/protocol_gen_test.h
$(B)/lib/libprotocol.a: $(B)/obj/gen/protocol/protocol_gen.o
UNIT_EXTRA_OBJS += $(B)/obj/gen/protocol/protocol_gen_test.o
