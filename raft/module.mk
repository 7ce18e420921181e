# raft/ — the pure KRaft state machine (raft_core*.c, raft_log*.c); depends on common/ only.
# Its drivers (transport, log files) come later and will add their own sources here.
raft_SRCS := $(wildcard raft/raft_core*.c raft/raft_log*.c)
