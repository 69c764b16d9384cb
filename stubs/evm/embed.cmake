# cmake -DIN=stubs.json -DOUT=stub_artifacts.cpp -P embed.cmake: the compiled stubs as one C++ string (see
# adapters/evm/stub_artifacts.h).
file(READ ${IN} text)
string(FIND "${text}" ")weft\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} holds the raw-string delimiter")
endif()
# Split into pieces well under compilers' string-literal limits; adjacent literals concatenate.
string(LENGTH "${text}" n)
set(body "")
set(pos 0)
while(pos LESS n)
  string(SUBSTRING "${text}" ${pos} 8000 piece)
  string(APPEND body "    R\"weft(${piece})weft\"\n")
  math(EXPR pos "${pos} + 8000")
endwhile()
file(WRITE ${OUT}.tmp "// Generated at build time from the Solidity stubs; do not edit.\n"
                      "namespace weft::evm {\nconst char *stub_artifacts_json() {\n  return\n${body}  ;\n}\n}\n")
file(RENAME ${OUT}.tmp ${OUT})
