/* protocol_errors.c — mapping internal SL_* errors to Kafka error codes. The code table
 * itself (names, retriable) is generated from protocol/schema/errors.tsv into
 * protocol_gen.c. Internal errors map to Kafka codes once, where a response is built. */
#include "protocol/protocol.h"

#include "common/sl_err.h"

#include <errno.h>

int16_t protocol_error_from_sl(int err) {
    if (err >= 0) return PROTOCOL_ERR_NONE; /* SL_OK, and SL_AGAIN is not an error */
    switch (err) {
    case SL_E_SHORT:
    case SL_E_CORRUPT:
        return PROTOCOL_ERR_CORRUPT_MESSAGE;
    case SL_E_TOO_LARGE:
        return PROTOCOL_ERR_MESSAGE_TOO_LARGE;
    case SL_E_INVALID:
        return PROTOCOL_ERR_INVALID_REQUEST;
    case SL_E_NOT_FOUND:
        return PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    case SL_E_EXISTS:
        return PROTOCOL_ERR_TOPIC_ALREADY_EXISTS;
    case SL_E_UNSUPPORTED:
        return PROTOCOL_ERR_UNSUPPORTED_VERSION;
    case SL_E_CONFIG:
        return PROTOCOL_ERR_INVALID_CONFIG;
    case SL_E_FATAL: /* a fail-stop log: the partition's storage is gone */
        return PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
    case SL_E_RANGE:
        return PROTOCOL_ERR_OFFSET_OUT_OF_RANGE;
    case SL_E_TIMEOUT:
        return PROTOCOL_ERR_REQUEST_TIMED_OUT;
    case SL_E_CLOSED:
        return PROTOCOL_ERR_NETWORK_EXCEPTION;
    case SL_E_FENCED:
        return PROTOCOL_ERR_FENCED_LEADER_EPOCH;
    /* a failed write or fsync: the replica's log directory failed */
    case -EIO:
    case -ENOSPC:
    case -EROFS:
    case -EDQUOT:
        return PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
    default: /* SL_E_INTERNAL, SL_E_STATE and any other errno */
        return PROTOCOL_ERR_UNKNOWN_SERVER_ERROR;
    }
}
