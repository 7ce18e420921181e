/* sl_addr.h — socket address text for logs ("127.0.0.1:9092", "[::1]:9092"). */
#ifndef SL_ADDR_H
#define SL_ADDR_H

#include <stddef.h>

struct sockaddr;

#define SL_ADDR_TEXT_MAX 64 /* enough for any IPv6 address, brackets and port */

/* Format sa into out (at least SL_ADDR_TEXT_MAX bytes); "?" for unknown families. */
void sl_addr_format(const struct sockaddr *sa, char *out, size_t out_size);

#endif
