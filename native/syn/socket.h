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

}  // namespace sonde
