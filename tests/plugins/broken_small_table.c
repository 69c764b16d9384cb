/* Broken on purpose: claims a table smaller than the verbs every version-1 adapter must provide. */
#include <weft/adapter.h>
static int32_t op(const weft_open_args_v1 *a, weft_chain **o, char *e, size_t n) { return WEFT_E_INTERNAL; }
static void cl(weft_chain *c) {}
static const char *const types[] = {"SmallChain", 0};
static const weft_adapter_v1 table = {.struct_size = 16, .abi_version = WEFT_ADAPTER_ABI_VERSION,
                                      .name = "small", .version = "0", .stub_types = types, .open = op, .close = cl};
__attribute__((visibility("default"))) const weft_adapter_v1 *weft_adapter_entry_v1(void) { return &table; }
