# raft/ — the pure KRaft state machine (raft_core*.c, raft_log.c: common/ only) and its
# drivers (raft_net.c, raft_wire.c, raft_store.c, raft_driver*.c: libevent, protobuf-c,
# jansson, protocol/ and storage/). tests/sim builds its own copy of the core alone.
raft_SRCS := $(wildcard raft/*.c)
raft_PROTOS := raft/raft.proto
raft_GEN_OBJS := $(patsubst %.proto,$(B)/obj/gen/%.pb-c.o,$(raft_PROTOS))
GEN_HDRS += $(patsubst %.proto,$(B)/gen/%.pb-c.h,$(raft_PROTOS))

$(B)/gen/raft/%.pb-c.c $(B)/gen/raft/%.pb-c.h: raft/%.proto
	@mkdir -p $(B)/gen
	@printf '  PROTO %s\n' $<
	$(Q)protoc-c --proto_path=. --c_out=$(B)/gen $<
