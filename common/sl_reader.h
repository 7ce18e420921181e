/* sl_reader.h — a read-only, bounds-checked cursor over bytes it does not own.
 *
 * Every read checks what remains. A short or malformed read sets a sticky error
 * (SL_E_SHORT or SL_E_CORRUPT), moves the cursor to the end and returns 0 / a null
 * view, so a decoder can read a whole structure and test sl_reader_err(r) once —
 * but it must test it before trusting any value it will allocate or loop on.
 * Length-prefixed sections are read through sl_reader_sub so a bad section cannot
 * run into the next. Integers are big-endian. Not thread-safe. */
#ifndef SL_READER_H
#define SL_READER_H

#include "common/sl_view.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_reader {
    const uint8_t *p;   /* next byte */
    const uint8_t *end; /* one past the last byte */
    int err;            /* 0, or the first error (sticky) */
} sl_reader;

void sl_reader_init(sl_reader *r, const void *data, size_t len);
static inline size_t sl_reader_remaining(const sl_reader *r) {
    return (size_t)(r->end - r->p);
}
static inline int sl_reader_err(const sl_reader *r) {
    return r->err;
}
/* Record an error (keeps the first one) and move to the end. */
void sl_reader_fail(sl_reader *r, int err);

int8_t sl_reader_i8(sl_reader *r);
uint8_t sl_reader_u8(sl_reader *r);
bool sl_reader_bool(sl_reader *r); /* any non-zero byte is true */
int16_t sl_reader_i16(sl_reader *r);
uint16_t sl_reader_u16(sl_reader *r);
int32_t sl_reader_i32(sl_reader *r);
uint32_t sl_reader_u32(sl_reader *r);
int64_t sl_reader_i64(sl_reader *r);
double sl_reader_f64(sl_reader *r);
uint32_t sl_reader_uvarint(sl_reader *r);  /* ≤ 5 bytes, else SL_E_CORRUPT */
uint64_t sl_reader_uvarlong(sl_reader *r); /* ≤ 10 bytes, else SL_E_CORRUPT */
int32_t sl_reader_varint(sl_reader *r);
int64_t sl_reader_varlong(sl_reader *r);

/* n raw bytes: a pointer into the input, valid as long as the input; NULL on error. */
const uint8_t *sl_reader_bytes(sl_reader *r, size_t n);
void sl_reader_skip(sl_reader *r, size_t n);
/* Split off the next n bytes as *sub (which starts without error) and advance r.
 * On a short input, r fails and *sub is empty with the same error. */
void sl_reader_sub(sl_reader *r, size_t n, sl_reader *sub);

#endif
