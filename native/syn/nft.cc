#include "syn/nft.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace sonde {
namespace {

// libnftables' API (libnftables(3)); declared here because only the runtime library is needed.
using CtxNew = void* (*)(uint32_t flags);
using CtxFree = void (*)(void* ctx);
using RunCmd = int (*)(void* ctx, const char* buf);
using BufferOn = int (*)(void* ctx);
using GetBuffer = const char* (*)(void* ctx);

struct Api {
  CtxNew ctx_new = nullptr;
  CtxFree ctx_free = nullptr;
  RunCmd run = nullptr;
  BufferOn buffer_output = nullptr, buffer_error = nullptr;
  GetBuffer get_output = nullptr, get_error = nullptr;
};

Api api;

std::string Ports(const std::vector<std::pair<uint16_t, uint16_t>>& ranges) {
  std::string s = "{ ";
  for (size_t i = 0; i < ranges.size(); i++) {
    if (i) s += ", ";
    s += std::to_string(ranges[i].first);
    if (ranges[i].second != ranges[i].first) s += "-" + std::to_string(ranges[i].second);
  }
  return s + " }";
}

}  // namespace

bool NftGuard::Load(std::string* error) {
  if (ctx_ != nullptr) return true;
  if (lib_ == nullptr) lib_ = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib_ == nullptr) {
    *error = "the SYN scan needs libnftables (Debian package libnftables1) to keep the kernel from resetting its connections";
    return false;
  }
  api.ctx_new = reinterpret_cast<CtxNew>(dlsym(lib_, "nft_ctx_new"));
  api.ctx_free = reinterpret_cast<CtxFree>(dlsym(lib_, "nft_ctx_free"));
  api.run = reinterpret_cast<RunCmd>(dlsym(lib_, "nft_run_cmd_from_buffer"));
  api.buffer_output = reinterpret_cast<BufferOn>(dlsym(lib_, "nft_ctx_buffer_output"));
  api.buffer_error = reinterpret_cast<BufferOn>(dlsym(lib_, "nft_ctx_buffer_error"));
  api.get_output = reinterpret_cast<GetBuffer>(dlsym(lib_, "nft_ctx_get_output_buffer"));
  api.get_error = reinterpret_cast<GetBuffer>(dlsym(lib_, "nft_ctx_get_error_buffer"));
  if (!api.ctx_new || !api.ctx_free || !api.run || !api.buffer_output || !api.buffer_error || !api.get_output || !api.get_error) {
    *error = "libnftables lacks nft_ctx_new/nft_run_cmd_from_buffer";
    return false;
  }
  ctx_ = api.ctx_new(0);
  if (ctx_ == nullptr) {
    *error = "nft_ctx_new failed";
    return false;
  }
  api.buffer_output(ctx_);
  api.buffer_error(ctx_);
  table_ = "sonde_syn_" + std::to_string(getpid());
  RemoveStale();
  return true;
}

bool NftGuard::Run(const std::string& cmd, std::string* error) {
  if (api.run(ctx_, cmd.c_str()) == 0) return true;
  if (error) {
    std::string e = api.get_error(ctx_);
    while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
    *error = "nftables: " + (e.empty() ? std::string("command refused (needs CAP_NET_ADMIN)") : e);
  }
  return false;
}

// Tables of engines whose process is gone (killed before it could remove its own).
void NftGuard::RemoveStale() {
  if (!Run("list tables inet", nullptr)) return;
  std::string out = api.get_output(ctx_);
  size_t at = 0;
  const std::string key = "table inet sonde_syn_";
  while ((at = out.find(key, at)) != std::string::npos) {
    at += key.size();
    long pid = std::strtol(out.c_str() + at, nullptr, 10);
    struct stat st;
    if (pid > 0 && stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0) {
      Run("delete table inet sonde_syn_" + std::to_string(pid), nullptr);
    }
  }
}

bool NftGuard::Apply(const std::vector<std::pair<uint16_t, uint16_t>>& ranges, std::string* error) {
  if (ranges.empty()) {
    Remove();
    return true;
  }
  if (!Load(error)) return false;
  std::string ports = Ports(ranges);
  // add + delete + make, one transaction: the table is replaced whole, never half there.
  std::string cmd = "add table inet " + table_ + "\ndelete table inet " + table_ + "\ntable inet " + table_ + " {\n" +
                    "  chain pre {\n    type filter hook prerouting priority raw; policy accept;\n" +
                    "    tcp dport " + ports + " tcp flags & (syn | ack) == (syn | ack) drop\n" +
                    "    tcp dport " + ports + " notrack\n  }\n" +
                    "  chain out {\n    type filter hook output priority raw; policy accept;\n" +
                    "    tcp sport " + ports + " notrack\n  }\n}\n";
  if (!Run(cmd, error)) return false;
  made_ = true;
  return true;
}

void NftGuard::Remove() {
  if (made_ && ctx_ != nullptr) Run("add table inet " + table_ + "\ndelete table inet " + table_, nullptr);
  made_ = false;
  if (ctx_ != nullptr) api.ctx_free(ctx_);
  ctx_ = nullptr;
}

}  // namespace sonde
