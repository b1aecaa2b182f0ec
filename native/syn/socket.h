// The SYN engine's sockets (plain C++, no N-API).
//
// Receive: one packet socket (AF_PACKET, SOCK_DGRAM, every protocol and interface) that sees
// replies before netfilter, so the nftables guard (syn/nft.h) may drop SYN-ACKs after we read
// them, on loopback, veth and real NICs alike. A classic BPF filter queues only what can answer
// a SYN of ours: IPv4/IPv6 TCP to the scanner's source ports, and ICMP/ICMPv6 destination
// unreachable; outgoing copies are ignored (PACKET_IGNORE_OUTGOING, and the filter checks too).
// Its drop count (PACKET_STATISTICS) is what reached the socket and found no room: receive-path loss.
//
// Send: IPPROTO_RAW sockets per family (the IP header is ours: source address and port, ID, TTL),
// written with sendmmsg in batches.
#pragma once
#include <cstdint>
#include <string>

namespace sonde {

// -1 with *error on failure (CAP_NET_RAW).
int OpenSynReceiver(uint16_t port_lo, uint16_t port_hi, std::string* error);
// Replaces the receiver's filter: TCP to ports lo..hi (lo > hi: none), ICMP unreachables.
bool SetSynReceiverPorts(int fd, uint16_t port_lo, uint16_t port_hi);
// Packets dropped for lack of buffer since the last call (the kernel resets the count on read).
uint64_t TakeReceiverDrops(int fd);

// A raw sender of whole IPv4 (family 4) or IPv6 datagrams; -1 with errno set.
int OpenRawSender(int family);

// A packet socket that only sends (protocol 0: it receives nothing), whole IP datagrams handed to
// the interface with the link-layer header the kernel writes from sockaddr_ll (SOCK_DGRAM),
// PACKET_QDISC_BYPASS (no queueing discipline: the driver's queue is the only one); -1 when none.
int OpenPacketSender();

// PACKET_TX_RING (TPACKET_V2, packet_mmap.rst) on one interface: frames written into a ring shared
// with the kernel, handed over by one send() for all of them, with PACKET_QDISC_BYPASS. Frames
// carry their Ethernet header (written here from the next hop's and the interface's addresses).
class TxRing {
 public:
  TxRing() = default;
  ~TxRing() { Close(); }
  TxRing(const TxRing&) = delete;
  TxRing& operator=(const TxRing&) = delete;
  bool Open(int ifindex, std::string* error);
  void Close();
  bool open() const { return fd_ >= 0; }
  int ifindex() const { return ifindex_; }
  // The IP datagram's room in the next free frame after an Ethernet header to `dst_mac` with
  // `ethertype`; nullptr when the ring is full (Flush, then try again next turn).
  uint8_t* Next(const uint8_t* dst_mac, uint16_t ethertype);
  void Commit(size_t ip_len);  // the frame written by the last Next goes out with the next Flush
  // Asks the kernel to send the committed frames; false when it could not take them now.
  bool Flush();
  static constexpr size_t kMaxIp = 128;

 private:
  int fd_ = -1, ifindex_ = 0;
  uint8_t* ring_ = nullptr;
  size_t ring_len_ = 0, frame_size_ = 0, frames_ = 0, cur_ = 0, unsent_ = 0;
  uint8_t src_mac_[6] = {};
  uint8_t* frame_ = nullptr;
};

}  // namespace sonde
