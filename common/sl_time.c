#include "common/sl_time.h"
#include "common/sl_err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t sl_now_ns(void) {
    return clock_ns(CLOCK_MONOTONIC);
}

int64_t sl_now_us(void) {
    return clock_ns(CLOCK_MONOTONIC) / 1000;
}

int64_t sl_now_ms(void) {
    return clock_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t sl_wall_ms(void) {
    return clock_ns(CLOCK_REALTIME) / 1000000;
}

void sl_time_format_iso(int64_t wall_ms, char *out, size_t out_size) {
    time_t secs = (time_t)(wall_ms / 1000);
    int ms = (int)(wall_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int sl_time_parse_iso(const char *s, int64_t *wall_ms_out) {
    int y, mo, d, h, mi, sec, consumed = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6) {
        return SL_E_INVALID;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || h < 0 ||
        mi < 0 || sec < 0) {
        return SL_E_INVALID;
    }
    const char *p = s + consumed;
    int ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3) ms = ms * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0) return SL_E_INVALID;
        for (; digits < 3; digits++) ms *= 10;
    }
    int64_t offset_min = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2) return SL_E_INVALID;
        offset_min = (int64_t)oh * 60 + om;
        if (*p == '-') offset_min = -offset_min;
        p += 1 + n;
    }
    if (*p != '\0') return SL_E_INVALID;
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    *wall_ms_out = secs * 1000 + ms;
    return SL_OK;
}
