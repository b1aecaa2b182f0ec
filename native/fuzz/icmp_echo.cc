// libFuzzer harness for the reply parsers: the first byte picks the parser (raw IPv4 with IP
// header, ping-socket IPv4, ICMPv6, quoted echo), the rest is the packet. Every pointer the parser
// returns is read to its full length so ASan catches any out-of-bounds view.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "packet/icmp_echo.h"

static volatile uint32_t sink;

static void Touch(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i < n; i++) s += p[i];
  sink = s;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // Copy into an exact-size heap buffer so a read one past the end is a heap overflow.
  std::vector<uint8_t> pkt(data + 1, data + size);
  const uint8_t* p = pkt.empty() ? nullptr : pkt.data();
  sonde::ParsedIcmp out;
  bool ok = false;
  switch (data[0] & 3) {
    case 0: ok = sonde::ParseIcmp4(p, pkt.size(), true, &out); break;
    case 1: ok = sonde::ParseIcmp4(p, pkt.size(), false, &out); break;
    case 2: ok = sonde::ParseIcmp6(p, pkt.size(), &out); break;
    default: ok = sonde::ParseQuotedEcho(p, pkt.size(), (data[0] & 4) ? 6 : 4, &out); break;
  }
  if (!ok) return 0;
  if (out.payload) Touch(out.payload, out.payload_len);
  if (out.has_original && out.orig_payload) Touch(out.orig_payload, out.orig_payload_len);
  sonde::ProbeStamp st;
  sonde::ReadStamp(out.payload, out.payload_len, &st);
  sonde::ReadStamp(out.orig_payload, out.orig_payload_len, &st);
  return 0;
}
