#include "sys/notify.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace sonde {

int NotifySend(const std::string& socket_path, const std::string& state) {
  if (socket_path.empty()) return -EINVAL;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) return -ENAMETOOLONG;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path.size());
  // systemd marks abstract sockets with a leading '@'; on the wire that byte is NUL (unix(7)).
  if (addr.sun_path[0] == '@') {
    addr.sun_path[0] = '\0';
  } else {
    len += 1;  // include the terminating NUL of a path socket
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                     reinterpret_cast<sockaddr*>(&addr), len);
  int err = n < 0 ? -errno : 0;
  close(fd);
  return err;
}

}  // namespace sonde
