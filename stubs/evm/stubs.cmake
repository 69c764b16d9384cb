# The Solidity stubs (XA proxy, HTLC), compiled at build time with the pinned solc from npm (tests/evm/package.json,
# evmVersion paris: no PUSH0) and embedded in the EVM adapter, so that deploy_stubs needs nothing at run time.
# Included from adapters/evm/CMakeLists.txt; defines the static library weft_evm_stubs.
set(WEFT_STUB_SOURCES ${CMAKE_SOURCE_DIR}/stubs/evm/WeftXAProxy.sol ${CMAKE_SOURCE_DIR}/stubs/evm/WeftXAResource.sol
                      ${CMAKE_SOURCE_DIR}/stubs/evm/WeftHTLC.sol)
set(WEFT_STUB_JSON ${CMAKE_BINARY_DIR}/stubs/evm/stubs.json)
set(WEFT_STUB_CPP ${CMAKE_BINARY_DIR}/stubs/evm/stub_artifacts.cpp)
find_program(WEFT_NODE node)
add_custom_command(
  OUTPUT ${WEFT_STUB_JSON}
  COMMAND ${CMAKE_SOURCE_DIR}/scripts/npm-deps.sh ${CMAKE_BINARY_DIR}/npm
  COMMAND ${CMAKE_COMMAND} -E env NODE_PATH=${CMAKE_BINARY_DIR}/npm/node_modules
          node ${CMAKE_SOURCE_DIR}/tests/evm/compile.js ${WEFT_STUB_JSON} ${WEFT_STUB_SOURCES}
  DEPENDS ${WEFT_STUB_SOURCES} ${CMAKE_SOURCE_DIR}/tests/evm/compile.js ${CMAKE_SOURCE_DIR}/tests/evm/package-lock.json
  COMMENT "Compiling the Solidity stubs with the pinned solc"
  VERBATIM)
add_custom_command(
  OUTPUT ${WEFT_STUB_CPP}
  COMMAND ${CMAKE_COMMAND} -DIN=${WEFT_STUB_JSON} -DOUT=${WEFT_STUB_CPP} -P ${CMAKE_SOURCE_DIR}/stubs/evm/embed.cmake
  DEPENDS ${WEFT_STUB_JSON} ${CMAKE_SOURCE_DIR}/stubs/evm/embed.cmake
  VERBATIM)
add_library(weft_evm_stubs STATIC ${WEFT_STUB_CPP})
set_target_properties(weft_evm_stubs PROPERTIES POSITION_INDEPENDENT_CODE ON)
