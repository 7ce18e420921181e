# common/ — small libraries shared by every module; depends on nothing else here.
common_SRCS := $(wildcard common/*.c)
