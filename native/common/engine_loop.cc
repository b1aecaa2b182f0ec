#include "common/engine_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sonde {

LoopCore::~LoopCore() { StopThread(); }

bool LoopCore::Open(std::string* error, int idle_ms) {
  idle_ms_ = idle_ms;
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || evfd_ < 0 || !Watch(evfd_, kWakeTag)) {
    if (error) *error = std::string("epoll/eventfd: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool LoopCore::Watch(int fd, uint32_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = tag;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void LoopCore::Unwatch(int fd) {
  epoll_event ev{};  // ignored by EPOLL_CTL_DEL, but kernels before 2.6.9 wanted one
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev);
}

int LoopCore::Wait(int wait_ms, bool has_next, int64_t next, epoll_event* evs, int cap) {
  int64_t wait = wait_ms < 0 ? idle_ms_ : wait_ms;
  if (has_next) wait = std::min<int64_t>(wait, std::max<int64_t>(0, (next - Now(CLOCK_MONOTONIC) + 999999) / 1000000));
  int n = epoll_wait(epfd_, evs, cap, static_cast<int>(wait));
  int kept = 0;
  for (int i = 0; i < n; i++) {
    if (evs[i].data.u32 == kWakeTag) {
      uint64_t v;
      while (read(evfd_, &v, sizeof(v)) > 0) {
      }
    } else {
      evs[kept++] = evs[i];
    }
  }
  return kept;  // 0 also on EINTR: the turn goes on as after a timeout
}

void LoopCore::Wake() {
  uint64_t one = 1;
  ssize_t w = write(evfd_, &one, sizeof(one));
  (void)w;  // EAGAIN only with the counter saturated, and then the thread is awake anyway
}

void LoopCore::StopThread() {
  std::lock_guard<std::mutex> lk(stop_mu_);
  stop_ = true;
  if (thread_.joinable()) {
    Wake();
    thread_.join();
  }
  if (epfd_ >= 0) close(epfd_);
  if (evfd_ >= 0) close(evfd_);
  epfd_ = evfd_ = -1;
}

}  // namespace sonde
