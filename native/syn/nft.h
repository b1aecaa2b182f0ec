// The nftables table that keeps the local kernel from answering the scan's SYN-ACKs (plain C++,
// no N-API). A SYN-ACK to a port the kernel never connected from gets a RST from the kernel
// (RFC 9293 3.10.7.1), which would tear down the half-open connection on the target before our
// own RST and, worse, make a scan look like a flood of resets. The engine reads replies on a
// packet socket (before netfilter), so an input rule may drop them right after: the kernel never
// sees them. The table, named sonde_syn_<pid>, holds for the engine's source port ranges:
//   - prerouting, priority raw: SYN-ACKs to those ports dropped (RSTs pass: the kernel ignores
//     them), the rest untracked;
//   - output, priority raw: our SYNs and RSTs untracked, so a million probes never fill conntrack.
// Made through libnftables (nft_run_cmd_from_buffer), loaded with dlopen so the addon still loads
// on a host without nftables (the scan then refuses to start, saying why), never by running `nft`.
// Removed when the engine closes, and a table left by a process that is gone is removed at the
// next start.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sonde {

class NftGuard {
 public:
  NftGuard() = default;
  ~NftGuard() { Remove(); }
  NftGuard(const NftGuard&) = delete;
  NftGuard& operator=(const NftGuard&) = delete;

  // Makes the table for these (merged, sorted) port ranges, replacing what it held, in one
  // transaction; an empty list removes it. false with *error (libnftables missing, no CAP_NET_ADMIN).
  bool Apply(const std::vector<std::pair<uint16_t, uint16_t>>& ranges, std::string* error);
  void Remove();
  const std::string& table() const { return table_; }

 private:
  bool Run(const std::string& cmd, std::string* error);
  bool Load(std::string* error);
  void RemoveStale();

  void* lib_ = nullptr;
  void* ctx_ = nullptr;
  std::string table_;
  bool made_ = false;
};

}  // namespace sonde
