// The stream engine's min-heap of probe slots by deadline (DeadlineHeap in stream/engine_impl.h):
// each slot knows its position, so a finished probe leaves the heap in O(log n).
#include "stream/engine_impl.h"

namespace sonde {

void DeadlineHeap::Up(size_t pos) {
  uint32_t idx = heap_[pos];
  int64_t key = (*slots_)[idx].deadline;
  while (pos > 0) {
    size_t parent = (pos - 1) / 2;
    if (Key(parent) <= key) break;
    Place(pos, heap_[parent]);
    pos = parent;
  }
  Place(pos, idx);
}

void DeadlineHeap::Down(size_t pos) {
  uint32_t idx = heap_[pos];
  int64_t key = (*slots_)[idx].deadline;
  size_t n = heap_.size();
  while (true) {
    size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && Key(child + 1) < Key(child)) child++;
    if (Key(child) >= key) break;
    Place(pos, heap_[child]);
    pos = child;
  }
  Place(pos, idx);
}

void DeadlineHeap::Push(uint32_t idx) {
  heap_.push_back(idx);
  Up(heap_.size() - 1);
}

void DeadlineHeap::Remove(uint32_t idx) {
  int32_t pos = (*slots_)[idx].heap_pos;
  if (pos < 0) return;
  (*slots_)[idx].heap_pos = -1;
  uint32_t last = heap_.back();
  heap_.pop_back();
  if (static_cast<size_t>(pos) == heap_.size()) return;
  Place(static_cast<size_t>(pos), last);
  Down(static_cast<size_t>(pos));
  Up(static_cast<size_t>((*slots_)[last].heap_pos));
}

}  // namespace sonde
