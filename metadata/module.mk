# metadata/ — metadata records (protobuf), the image, snapshots, topic config rules.
# Depends on common/ and libprotobuf-c; used by controller/ and broker/.
metadata_SRCS := $(wildcard metadata/*.c)
metadata_PROTOS := metadata/metadata.proto metadata/metadata_rpc.proto
metadata_GEN_OBJS := $(patsubst %.proto,$(B)/obj/gen/%.pb-c.o,$(metadata_PROTOS))
GEN_HDRS += $(patsubst %.proto,$(B)/gen/%.pb-c.h,$(metadata_PROTOS))

$(B)/gen/metadata/%.pb-c.c $(B)/gen/metadata/%.pb-c.h: metadata/%.proto
	@mkdir -p $(B)/gen
	@printf '  PROTO %s\n' $<
	$(Q)protoc-c --proto_path=. --c_out=$(B)/gen $<

# metadata_rpc.proto imports metadata.proto
$(B)/gen/metadata/metadata_rpc.pb-c.c: $(B)/gen/metadata/metadata.pb-c.h
