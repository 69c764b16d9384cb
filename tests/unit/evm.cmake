weft_add_unit_test(evm_core_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/evm_core_test.cpp LIBS weft_evm_core)
weft_add_unit_test(evm_codec_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/evm_codec_test.cpp LIBS weft_evm_core)

# The codec compared byte for byte with ethers (tests/evm/ethers_compare.sh): node writes ethers' answers for
# tests/evm/ethers_cases.json, then evm_ethers_test checks the C++ codec against them. It runs only through that
# script, so it is built here without a ctest entry of its own.
add_executable(evm_ethers_test ${CMAKE_SOURCE_DIR}/tests/unit/doctest_main.cpp ${CMAKE_CURRENT_LIST_DIR}/evm_ethers_test.cpp)
target_link_libraries(evm_ethers_test PRIVATE doctest::doctest weft_evm_core PkgConfig::SECP256K1)
set_target_properties(evm_ethers_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
add_test(NAME evm_ethers_compare COMMAND sh ${CMAKE_SOURCE_DIR}/tests/evm/ethers_compare.sh
                                         $<TARGET_FILE:evm_ethers_test> ${CMAKE_CURRENT_BINARY_DIR}/evm_ethers)
set_tests_properties(evm_ethers_compare PROPERTIES FIXTURES_REQUIRED evm_npm ENVIRONMENT "NODE_PATH=${WEFT_NODE_MODULES}"
                                                   LABELS unit TIMEOUT 300)
# The Solidity stubs' own tests (stubs/evm: the XA proxy and the HTLC) on a real anvil node, which the script starts
# on a free loopback port and stops itself. Node or the npm packages missing is a failure, never a skip.
add_test(NAME evm_stubs_solidity COMMAND node ${CMAKE_SOURCE_DIR}/tests/evm/stubs_test.js)
set_tests_properties(evm_stubs_solidity PROPERTIES FIXTURES_REQUIRED evm_npm ENVIRONMENT "NODE_PATH=${WEFT_NODE_MODULES}"
                                                   LABELS unit TIMEOUT 180)
weft_add_unit_test(evm_nonces_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/evm_nonces_test.cpp LIBS weft_evm_chain)
weft_add_unit_test(evm_host_rpc_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/evm_host_rpc_test.cpp
                   LIBS weft_evm_rpc weft_plugin_host)

# A tool the EVM integration tests run: one adapter, one subscription, its records printed as lines.
add_executable(weft_adapter_probe ${CMAKE_SOURCE_DIR}/tests/evm/adapter_probe.cpp)
target_link_libraries(weft_adapter_probe PRIVATE weft_plugin_host)
set_target_properties(weft_adapter_probe PROPERTIES OUTPUT_NAME adapter-probe RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
