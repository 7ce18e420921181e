/* sl_hash.h — the hashes Kafka's partitioning and coordinator lookup depend on. */
#ifndef SL_HASH_H
#define SL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Kafka's murmur2 (Java Utils.murmur2), seed 0x9747b28c; returns the signed result.
 * murmur2("21") == -973932308. */
int32_t sl_murmur2(const void *data, size_t len);
/* Java's toPositive(murmur2(key)) % partitions, as the Java producer partitions keys. */
int32_t sl_murmur2_partition(const void *key, size_t len, int32_t partitions);
/* Java String.hashCode of a UTF-8 string, computed over its UTF-16 code units
 * (invalid UTF-8 bytes count as U+FFFD). */
int32_t sl_java_string_hash(const char *utf8, size_t len);
/* abs(javaHashCode(s)) % partitions, with abs(INT_MIN) = 0 as Kafka's Utils.abs. */
int32_t sl_java_hash_partition(const char *utf8, size_t len, int32_t partitions);
/* 64-bit FNV-1a, for in-memory hash tables. */
uint64_t sl_fnv1a64(const void *data, size_t len);

#endif
