// libFuzzer harness for the Router Advertisement parser: any bytes must parse without reading
// out of bounds, and what a successful parse returns must be consistent with the input size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "packet/ndp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size heap copy, so a read one past the end is a heap overflow under ASan.
  std::vector<uint8_t> pkt(data, data + size);
  sonde::RouterAdvert ra;
  sonde::RaParseStatus st = sonde::ParseRouterAdvert(pkt.empty() ? nullptr : pkt.data(), pkt.size(), &ra);
  if (st != sonde::RaParseStatus::kOk) return 0;
  // Every option is at least 8 bytes and adds at most one entry to one list.
  size_t max_opts = (size - 16) / 8;
  size_t total = ra.prefixes.size() + ra.routes.size() + ra.rdnss.size() + ra.dnssl.size() + ra.unknown_options.size() +
                 ra.ignored_options + (ra.has_mtu ? 1 : 0);
  if (total > max_opts) std::abort();
  if (ra.source_lladdr.size() > size) std::abort();
  for (const auto& p : ra.prefixes) {
    if (p.length > 128) std::abort();
  }
  for (const auto& r : ra.routes) {
    if (r.length > 128 || r.preference == sonde::RouterPreference::kReserved) std::abort();
  }
  for (const auto& d : ra.dnssl) {
    for (const auto& name : d.domains) {
      if (name.empty() || name.size() > 4 * 255) std::abort();
    }
  }
  return 0;
}
