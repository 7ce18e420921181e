/* sluice-broker's entry point (kept out of libbroker.a). */
#include "broker/broker.h"

int main(int argc, char **argv) {
    return broker_main(argc, argv);
}
