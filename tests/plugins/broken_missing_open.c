/* Broken on purpose: a table without open and close. */
#include <weft/adapter.h>
static const char *const types[] = {"NoOpenChain", 0};
static const weft_adapter_v1 table = {.struct_size = sizeof(weft_adapter_v1), .abi_version = WEFT_ADAPTER_ABI_VERSION,
                                      .name = "no-open", .version = "0", .stub_types = types};
__attribute__((visibility("default"))) const weft_adapter_v1 *weft_adapter_entry_v1(void) { return &table; }
