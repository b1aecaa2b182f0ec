// libFuzzer harness for the SYN scan's reply parsers (packet/tcp_syn.cc): the first byte picks
// IPv4 or IPv6, the rest is the packet, copied into an exact-size heap buffer so a read past the
// end is a heap overflow under ASan.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "packet/tcp_syn.h"

static volatile uint32_t sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::vector<uint8_t> pkt(data + 1, data + size);
  const uint8_t* p = pkt.empty() ? nullptr : pkt.data();
  sonde::SynReply r;
  bool ok = data[0] % 2 == 0 ? sonde::ParseSynReply4(p, pkt.size(), &r) : sonde::ParseSynReply6(p, pkt.size(), &r);
  if (ok) sink = r.cookie + r.sport + r.dport + r.target[15] + r.local[3] + r.icmp_code + static_cast<uint32_t>(r.kind);
  return 0;
}
