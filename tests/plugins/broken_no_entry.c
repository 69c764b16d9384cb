/* Broken on purpose: a shared library that exports no adapter entry point. */
__attribute__((visibility("default"))) int weft_not_an_adapter(void) { return 42; }
