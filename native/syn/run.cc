// The parts of a scan run that are not the loop: the answered set, the cookie hash, counters, the
// send batch, and the scanner's source ports with the guard and receive filter that follow them.
// The loop itself (Begin, Step, Send, Finish) is in engine.cc.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/engine_io.h"
#include "syn/engine.h"
#include "syn/engine_impl.h"
#include "syn/socket.h"

namespace sonde {

// ---- AnsweredSet, SynRun, TxBatch

void AnsweredSet::Init(uint64_t n) {
  if (n <= kBitsetMax) {
    size_t words = static_cast<size_t>((n + 63) / 64);
    bits_.reset(new std::atomic<uint64_t>[words]);
    for (size_t i = 0; i < words; i++) bits_[i].store(0, std::memory_order_relaxed);
  }
}

bool AnsweredSet::TestAndSet(uint64_t i) {
  if (bits_) {
    uint64_t m = uint64_t{1} << (i & 63);
    return (bits_[i >> 6].fetch_or(m, std::memory_order_relaxed) & m) == 0;
  }
  std::lock_guard<std::mutex> lk(mu_);
  return set_.insert(i).second;
}

bool AnsweredSet::Test(uint64_t i) {
  if (bits_) return (bits_[i >> 6].load(std::memory_order_relaxed) >> (i & 63)) & 1;
  std::lock_guard<std::mutex> lk(mu_);
  return set_.count(i) != 0;
}

uint64_t SynRun::Hash(uint8_t family, const uint8_t* local, const uint8_t* target, uint16_t dport) const {
  uint8_t m[36];
  size_t n = family == 4 ? 4 : 16;
  std::memcpy(m, local, n);
  std::memcpy(m + n, target, n);
  m[2 * n] = static_cast<uint8_t>(dport >> 8);
  m[2 * n + 1] = static_cast<uint8_t>(dport);
  return SipHash24(key, m, 2 * n + 2);
}

SynCounters SynRun::Snapshot() const {
  SynCounters c;
  c.sent = sent;
  c.refused = refused;
  c.total = shard_total;
  c.received = received;
  c.validated = validated;
  c.foreign = foreign;
  c.duplicates = duplicates;
  c.open = open;
  c.closed = closed_ports;
  c.filtered = filtered;
  return c;
}

void TxBatch::Init(int sock) {
  fd = sock;
  bufs.resize(kSize);
  msgs.resize(kSize);
  iov.resize(kSize);
  addrs.resize(kSize);
  owner.resize(kSize);
}

void TxBatch::Commit(size_t len, int family, const uint8_t* dst, SynRun* run) {
  size_t i = count++;
  iov[i] = iovec{bufs[i].data(), len};
  msgs[i] = mmsghdr{};
  msgs[i].msg_hdr.msg_name = &addrs[i];
  msgs[i].msg_hdr.msg_namelen = FillSockaddr(family, dst, 0, &addrs[i]);
  msgs[i].msg_hdr.msg_iov = &iov[i];
  msgs[i].msg_hdr.msg_iovlen = 1;
  owner[i] = run;
}

void TxBatch::CommitLink(size_t len, const sockaddr_ll& to, SynRun* run) {
  size_t i = count++;
  iov[i] = iovec{bufs[i].data(), len};
  msgs[i] = mmsghdr{};
  std::memcpy(&addrs[i], &to, sizeof(to));
  msgs[i].msg_hdr.msg_name = &addrs[i];
  msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_ll);
  msgs[i].msg_hdr.msg_iov = &iov[i];
  msgs[i].msg_hdr.msg_iovlen = 1;
  owner[i] = run;
}

bool TxBatch::Flush(std::atomic<uint64_t>* errors) {
  while (head < count) {
    int r = sendmmsg(fd, &msgs[head], static_cast<unsigned>(count - head), MSG_DONTWAIT);
    if (r > 0) {
      for (size_t i = head; i < head + static_cast<size_t>(r); i++)
        if (owner[i] != nullptr) owner[i]->sent.fetch_add(1, std::memory_order_relaxed);
      head += static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)) return false;
    (*errors)++;  // EPERM (a local firewall), ENETUNREACH...: this datagram is lost, the rest goes on
    if (owner[head] != nullptr) owner[head]->refused.fetch_add(1, std::memory_order_relaxed);
    head++;
  }
  head = count = 0;
  return true;
}

// ---- source ports

namespace {

bool EphemeralRange(int* lo, int* hi) {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  return static_cast<bool>(f >> *lo >> *hi);
}

}  // namespace

bool DefaultSourcePorts(uint16_t* lo, uint16_t* hi, std::string* error) {
  int elo = 32768, ehi = 60999;
  EphemeralRange(&elo, &ehi);
  if (ehi + 1000 <= 65535) {
    *lo = static_cast<uint16_t>(ehi + 1);
    *hi = static_cast<uint16_t>(ehi + 1000);
    return true;
  }
  if (elo - 1000 >= 1024) {
    *lo = static_cast<uint16_t>(elo - 1000);
    *hi = static_cast<uint16_t>(elo - 1);
    return true;
  }
  *error = "no 1000 source ports outside the kernel's ephemeral range (net.ipv4.ip_local_port_range " + std::to_string(elo) + " " +
           std::to_string(ehi) + "): give sourcePorts";
  return false;
}

bool CheckSourcePorts(uint16_t lo, uint16_t hi, std::string* error) {
  int elo = 0, ehi = -1;
  if (lo < 1 || hi < lo) {
    *error = "sourcePorts must be 1..65535 with lo <= hi";
    return false;
  }
  if (EphemeralRange(&elo, &ehi) && lo <= ehi && hi >= elo) {
    *error = "sourcePorts " + std::to_string(lo) + "-" + std::to_string(hi) + " overlap the kernel's ephemeral range " +
             std::to_string(elo) + "-" + std::to_string(ehi) +
             " (net.ipv4.ip_local_port_range): this host's own connections would lose their SYN-ACKs to the scan's guard";
    return false;
  }
  return true;
}

// ---- the guard and the receive filter follow the ports of the running runs

bool SynEngine::Impl::ApplyPorts(std::string* error) {
  std::vector<std::pair<uint16_t, uint16_t>> merged;
  for (auto& [r, n] : port_refs) {
    (void)n;
    if (!merged.empty() && r.first <= merged.back().second + 1) merged.back().second = std::max(merged.back().second, r.second);
    else merged.push_back(r);
  }
  if (!guard.Apply(merged, error)) return false;
  uint16_t lo = merged.empty() ? 1 : merged.front().first, hi = merged.empty() ? 0 : merged.back().second;
  return SetSynReceiverPorts(rx_fd, lo, hi) || (error && (*error = "SO_ATTACH_FILTER failed", false));
}

bool SynEngine::Impl::AcquirePorts(uint16_t lo, uint16_t hi, std::string* error) {
  std::lock_guard<std::mutex> lk(ports_mu);
  if (port_refs[{lo, hi}]++ > 0) return true;
  if (ApplyPorts(error)) return true;
  port_refs.erase({lo, hi});
  std::string ignored;
  ApplyPorts(&ignored);
  return false;
}

void SynEngine::Impl::ReleasePorts(uint16_t lo, uint16_t hi) {
  std::lock_guard<std::mutex> lk(ports_mu);
  auto it = port_refs.find({lo, hi});
  if (it == port_refs.end() || --it->second > 0) return;
  port_refs.erase(it);
  std::string ignored;
  ApplyPorts(&ignored);
}

}  // namespace sonde
