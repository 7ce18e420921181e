# protocol/ — Kafka codecs, record batches, compression; depends on common/.
protocol_SRCS := $(wildcard protocol/*.c)
