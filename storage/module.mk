# storage/ — the partition log: segments, indexes, recovery, retention; depends on
# protocol/ and common/.
storage_SRCS := $(wildcard storage/*.c)
