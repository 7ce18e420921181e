/* sl_crc32c.h — CRC-32C (Castagnoli), as Kafka's RecordBatch v2 uses it.
 *
 * Polynomial 0x1EDC6F41 (reflected 0x82F63B78), initial value and final xor 0xFFFFFFFF;
 * crc32c("123456789") == 0xE3069283. Uses the SSE4.2 crc32 instruction (three
 * interleaved streams for long inputs) when the CPU has it, else a slicing-by-8 table;
 * both give identical results. Thread-safe after sl_crc32c_init (called lazily). */
#ifndef SL_CRC32C_H
#define SL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC of data. */
uint32_t sl_crc32c(const void *data, size_t len);
/* Continue a CRC: sl_crc32c_update(sl_crc32c(a), b) == sl_crc32c(a || b). Start with 0. */
uint32_t sl_crc32c_update(uint32_t crc, const void *data, size_t len);
/* The table implementation alone, for tests that compare both paths. */
uint32_t sl_crc32c_update_sw(uint32_t crc, const void *data, size_t len);
/* True when the hardware path is in use. */
bool sl_crc32c_hw_available(void);

#endif
