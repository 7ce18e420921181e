/* sluice-controller's entry point (kept out of libcontroller.a). */
#include "controller/controller.h"

int main(int argc, char **argv) {
    return controller_main(argc, argv);
}
