// libFuzzer harness for the trace parsers: the first byte picks the parser (raw IPv4 read, ICMPv6
// message, IPv6 TCP segment), the rest is the packet, copied into an exact-size heap buffer so a
// read past the end is a heap overflow under ASan.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "packet/trace.h"

static volatile uint32_t sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::vector<uint8_t> pkt(data + 1, data + size);
  const uint8_t* p = pkt.empty() ? nullptr : pkt.data();
  static const uint8_t src[16] = {0xfd, 0x5e};
  sonde::TraceParsed out;
  bool ok = false;
  switch (data[0] % 3) {
    case 0: ok = sonde::ParseTrace4(p, pkt.size(), &out); break;
    case 1: ok = sonde::ParseTrace6Icmp(p, pkt.size(), &out); break;
    default: ok = sonde::ParseTrace6Tcp(p, pkt.size(), src, &out); break;
  }
  if (ok) sink = out.key + out.gen + out.flow + out.dport + out.dst[15] + out.from[3];
  return 0;
}
