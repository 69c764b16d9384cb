/* Broken on purpose: built for an adapter ABI version this router does not speak. */
#include <weft/adapter.h>
static const char *const types[] = {"WrongVersionChain", 0};
static const weft_adapter_v1 table = {.struct_size = sizeof(weft_adapter_v1), .abi_version = 99,
                                      .name = "wrong-version", .version = "0", .stub_types = types};
__attribute__((visibility("default"))) const weft_adapter_v1 *weft_adapter_entry_v1(void) { return &table; }
