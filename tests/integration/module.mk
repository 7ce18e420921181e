# tests/integration — real clients (kcat, confluent-kafka-python, kafka-python, kafkajs,
# Burrow) against real sluice-controller/sluice-broker processes on 127.0.0.1.
#   make test-integration            every test_*.py here (except the tools/deploy ones,
#                                    which have their own targets)
#   make test-integration T=0011     one file (by number)
INTEGRATION_FILES = $(if $(T),$(wildcard tests/integration/test_$(T)*.py),\
    $(filter-out tests/integration/test_0001_% tests/integration/test_0002_% tests/integration/test_003%,\
    $(wildcard tests/integration/test_00*.py)))

.PHONY: test-integration
test-integration: $(B)/bin/sluice-controller $(B)/bin/sluice-broker $(B)/bin/sluice
	SLUICE_BIN_DIR=$(B)/bin SLUICE_BUILD_DIR=$(B) $(PYTHON) -m pytest -q -p no:cacheprovider \
	    $(INTEGRATION_FILES)

TEST_TARGETS += test-integration
ASAN_TARGETS += test-integration
