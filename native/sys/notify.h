// sd_notify(3) protocol without libsystemd: one datagram to $NOTIFY_SOCKET.
#pragma once
#include <string>

namespace sonde {

// Sends `state` (e.g. "READY=1\nSTATUS=listening") to the socket named by `socket_path`
// (a filesystem path, or "@name" for an abstract socket). Returns 0 or -errno.
int NotifySend(const std::string& socket_path, const std::string& state);

}  // namespace sonde
