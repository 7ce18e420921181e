/* sl_time.h — clocks.
 * Monotonic clocks (sl_now_*) measure intervals and deadlines; the wall clock
 * (sl_wall_ms) stamps records and logs. Thread-safe. */
#ifndef SL_TIME_H
#define SL_TIME_H

#include <stddef.h>
#include <stdint.h>

int64_t sl_now_ms(void); /* monotonic milliseconds */
int64_t sl_now_us(void); /* monotonic microseconds */
int64_t sl_now_ns(void); /* monotonic nanoseconds */
int64_t sl_wall_ms(void); /* Unix epoch milliseconds */

/* Format epoch ms as "2026-11-24T10:00:00.123Z" into out (≥ 25 bytes). */
void sl_time_format_iso(int64_t wall_ms, char *out, size_t out_size);

/* Parse "YYYY-MM-DDTHH:mm:SS[.sss]" with optional "Z" or "+hh:mm"/"-hh:mm" (no zone =
 * UTC) into epoch ms. Returns 0, or SL_E_INVALID. */
int sl_time_parse_iso(const char *s, int64_t *wall_ms_out);

#endif
