# The Fabric adapter: unit tests of its config and messages, and the set-up of its integration test against a real
# Fabric network: the test chaincode's npm packages (tests/fabric/chaincode) and Fabric's binaries, unpacked into the
# build tree from the release archive WEFT_FABRIC_ARCHIVE names at test time (`make test` sets it when the project's
# shared copy is present). Without an archive the Fabric integration test reports itself skipped, with the reason.
# The tests that start a Fabric network (an orderer, two peers, chaincode servers) run one at a time
# (RESOURCE_LOCK fabric_network): two networks at once on a 2-core machine starved each other's peers of CPU, and
# each network takes a dozen loopback ports; the other tests still run beside them.
weft_add_unit_test(fabric_messages_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/fabric_messages_test.cpp LIBS weft_fabric_chain)

set(WEFT_FABRIC_NODE_MODULES ${CMAKE_BINARY_DIR}/fabric-npm/node_modules)
add_test(NAME fabric_npm_deps COMMAND ${CMAKE_SOURCE_DIR}/scripts/npm-deps.sh ${CMAKE_BINARY_DIR}/fabric-npm
                                      ${CMAKE_SOURCE_DIR}/tests/fabric/chaincode)
set_tests_properties(fabric_npm_deps PROPERTIES FIXTURES_SETUP fabric_npm LABELS setup TIMEOUT 900)
add_test(NAME fabric_binaries COMMAND ${CMAKE_SOURCE_DIR}/scripts/fabric-unpack.sh ${CMAKE_BINARY_DIR}/fabric)
set_tests_properties(fabric_binaries PROPERTIES FIXTURES_SETUP fabric_bin LABELS setup TIMEOUT 300)

if(TEST it_test_fabric_adapter)
  set_tests_properties(it_test_fabric_adapter PROPERTIES
    ENVIRONMENT "${WEFT_IT_ENV};WEFT_FABRIC_DIR=${CMAKE_BINARY_DIR}/fabric;WEFT_FABRIC_CHAINCODE_MODULES=${WEFT_FABRIC_NODE_MODULES}"
    FIXTURES_REQUIRED "fabric_npm;fabric_bin" RESOURCE_LOCK fabric_network TIMEOUT 600)
endif()

# A tool the Fabric integration test runs: the adapter opened through its C table with a host of its own (one P-256
# identity from PEM files), one subscription, its records printed as lines.
add_executable(weft_fabric_probe ${CMAKE_SOURCE_DIR}/tests/fabric/fabric_probe.cpp)
target_link_libraries(weft_fabric_probe PRIVATE weft_plugin_host OpenSSL::Crypto)
set_target_properties(weft_fabric_probe PROPERTIES OUTPUT_NAME fabric-probe RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

# The chaincode stubs (stubs/fabric/, XA and HTLC) on a network of their own: the same Fabric binaries and fabric-shim.
if(TEST it_test_fabric_xa_htlc)
  set_tests_properties(it_test_fabric_xa_htlc PROPERTIES
    ENVIRONMENT "${WEFT_IT_ENV};WEFT_FABRIC_DIR=${CMAKE_BINARY_DIR}/fabric;WEFT_FABRIC_CHAINCODE_MODULES=${WEFT_FABRIC_NODE_MODULES}"
    FIXTURES_REQUIRED "fabric_npm;fabric_bin" RESOURCE_LOCK fabric_network TIMEOUT 600)
endif()
# XA across anvil, Fabric and the reference chain at once: anvil and solc from the EVM tests' npm packages too.
if(TEST it_test_fabric_evm_xa)
  set_tests_properties(it_test_fabric_evm_xa PROPERTIES
    ENVIRONMENT "${WEFT_IT_ENV};WEFT_FABRIC_DIR=${CMAKE_BINARY_DIR}/fabric;WEFT_FABRIC_CHAINCODE_MODULES=${WEFT_FABRIC_NODE_MODULES}"
    FIXTURES_REQUIRED "evm_npm;fabric_npm;fabric_bin" RESOURCE_LOCK fabric_network TIMEOUT 600)
endif()
