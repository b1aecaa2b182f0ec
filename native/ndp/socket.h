// One router-discovery exchange on one interface: a raw ICMPv6 socket sends Router Solicitations
// to ff02::2 and collects Router Advertisements until a deadline. Blocking: run it off the JS
// thread (glue/ndp.cc runs it in an AsyncWorker).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "packet/ndp.h"

namespace sonde {

struct NdpLinkInfo {
  unsigned index = 0;
  uint16_t hw_type = 0;          // ARPHRD_*
  std::vector<uint8_t> hw_addr;  // current address (EUI-64 source, RFC 4291 App. A)
  std::vector<uint8_t> perm_addr;  // permanent address (ETHTOOL_GPERMADDR); Linux hashes it for RFC 7217
  uint16_t dev_id = 0;
};

// Returns false with errno-style text in `error` when the interface does not exist.
bool NdpLookupLink(const std::string& name, NdpLinkInfo* out, std::string* error);

struct NdpDiscoverOptions {
  unsigned ifindex = 0;
  std::vector<uint8_t> lladdr;  // for the source link-layer address option
  int timeout_ms = 5000;
  int resend_ms = 4000;       // RFC 4861 §10: RTR_SOLICITATION_INTERVAL
  int max_solicitations = 3;  // RFC 4861 §10: MAX_RTR_SOLICITATIONS
};

struct NdpReceived {
  Ip6Bytes source{};
  int hop_limit = -1;
  double at_ms = 0;  // since the first solicitation
  RaParseStatus parse = RaParseStatus::kOk;
  RaEnvelopeStatus envelope = RaEnvelopeStatus::kOk;
  RouterAdvert ra;
};

struct NdpDiscoverResult {
  std::string error;  // empty on success; names the failing step and errno text
  bool has_source = false;
  Ip6Bytes source{};  // link-local address the solicitations were sent from (when has_source)
  int solicitations = 0;
  std::vector<NdpReceived> received;
};

NdpDiscoverResult NdpDiscover(const NdpDiscoverOptions& opts);

}  // namespace sonde
