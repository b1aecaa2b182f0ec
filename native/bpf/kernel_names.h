// Names from the running kernel for what the drop tracer reports (bpf/kernel_names.cc). Plain C++.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace sonde {

// Drop reason names of the running kernel, from its BTF (enum skb_drop_reason), value -> name without
// the SKB_DROP_REASON_ prefix. Empty when the kernel has no BTF or no such enum.
const std::map<uint32_t, std::string>& DropReasonNames();
std::string DropReasonName(uint32_t reason);

// Resolves a kernel text address to "symbol+0xoff" through /proc/kallsyms (read once, cached).
// Returns "0x<hex>" when the address is unknown or kallsyms hides addresses (kptr_restrict).
std::string KernelSymbol(uint64_t addr);

// Returns freed heap to the system (after the one-time loads above and the BPF object's load).
void ReleaseFreedMemory();

// Inode of this process's network namespace (/proc/self/ns/net), 0 on error.
uint32_t SelfNetnsInode();

}  // namespace sonde
