// Engine thread -> JS callback through one Napi::ThreadSafeFunction, the plumbing every engine's
// N-API glue shares (icmp_glue, trace_glue, bpf_glue carry batches; stream_glue notifications).
// The rules it keeps: an engine thread only ever posts (non-blocking: a full or closing queue
// must never stall the engine); a batch that cannot be queued, or arrives after the environment
// closed, is freed and dropped; the function is released once, after the engine thread was
// joined, so nothing posts to a released function. N-API glue only: engines stay plain C++.
#pragma once
#include <napi.h>

#include <memory>
#include <utility>

namespace sonde {

// The ThreadSafeFunction's life: started once, ref'd/unref'd on the JS thread, released once.
class JsCallback {
 public:
  // ref false: the callback alone does not keep the event loop alive.
  void Start(Napi::Env env, Napi::Function cb, const char* name, bool ref) {
    // At environment teardown Node finalizes the function itself, before the wrap's own finalizer
    // may call Release(): releasing it then locks a destroyed mutex (abort in uv_mutex_lock). The
    // flag is shared, so it outlives whichever of the two goes first.
    auto finalized = std::make_shared<bool>(false);
    finalized_ = finalized;
    tsfn_ = Napi::ThreadSafeFunction::New(env, cb, name, 0, 1, [finalized](Napi::Env) { *finalized = true; });
    released_ = false;
    if (!ref) tsfn_.Unref(env);
  }
  void Ref(Napi::Env env) {
    if (!released_ && !*finalized_) tsfn_.Ref(env);
  }
  void Unref(Napi::Env env) {
    if (!released_ && !*finalized_) tsfn_.Unref(env);
  }
  // Call only once the engine thread is joined (or was never started).
  void Release() {
    if (!released_) {
      if (!*finalized_) tsfn_.Release();
      released_ = true;
    }
  }
  bool released() const { return released_; }
  const Napi::ThreadSafeFunction& tsfn() const { return tsfn_; }

 private:
  Napi::ThreadSafeFunction tsfn_;
  std::shared_ptr<bool> finalized_ = std::make_shared<bool>(false);
  bool released_ = true;  // nothing to release before Start
};

// Batches of T: the engine thread posts them through a Sender, the JS thread turns each into JS
// values in `deliver` (typed arrays, never one object per packet where it can be avoided).
template <typename T>
class BatchDelivery : public JsCallback {
 public:
  using Deliver = void (*)(Napi::Env env, Napi::Function cb, T& batch);

  // Copyable (fits a std::function sink) and holds its own handle of the function.
  class Sender {
   public:
    Sender(Napi::ThreadSafeFunction tsfn, Deliver deliver) : tsfn_(std::move(tsfn)), deliver_(deliver) {}
    void operator()(T&& batch) const {
      auto* item = new Item{deliver_, std::move(batch)};
      if (tsfn_.NonBlockingCall(item, Call) != napi_ok) delete item;  // env closing: the batch goes nowhere
    }

   private:
    Napi::ThreadSafeFunction tsfn_;
    Deliver deliver_;
  };

  // After Start: what the engine thread calls with each batch.
  Sender MakeSender(Deliver deliver) const { return Sender(tsfn(), deliver); }

 private:
  struct Item {
    Deliver deliver;
    T batch;
  };
  static void Call(Napi::Env env, Napi::Function cb, Item* item) {
    std::unique_ptr<Item> own(item);
    if (env == nullptr || cb.IsEmpty()) return;  // finalizing: no JS to call
    own->deliver(env, cb, own->batch);
  }
};

}  // namespace sonde
