# controller/ — sluice-controller. Depends on common, protocol, storage, raft, metadata.
# The process (core, broker RPCs, admin) joins once the Raft drivers exist; until then
# only the pure decision files are built (and unit-tested).
controller_SRCS := controller/controller_partition.c controller/controller_placement.c
