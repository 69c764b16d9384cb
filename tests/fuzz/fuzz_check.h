// What every harness shares: a property check that stops the fuzzer with a message when a round trip breaks.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                                        \
  do {                                                                                                                \
    if (!(cond)) {                                                                                                    \
      std::fprintf(stderr, "property failed at %s:%d: %s\n", __FILE__, __LINE__, what);                              \
      std::abort();                                                                                                   \
    }                                                                                                                 \
  } while (0)
