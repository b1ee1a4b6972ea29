// A persistent deadline watchdog for guest code running on a V8 thread.
//
// `call(fn, a, b, ms)` calls fn(a, b) on the calling thread with a deadline.
// One watchdog thread per isolate sleeps until the armed deadline; if the call
// is still running then, it asks V8 to terminate execution
// (Isolate::TerminateExecution is documented as callable from any thread).
// Back in C++, the call cancels the termination (so the thread stays usable,
// exactly what node's vm timeout does) and returns the `timedOut` sentinel.
//
// The common path costs two atomic stores, a clock read and one C++ -> JS
// call: no thread is created and no syscall is made per call. The watchdog
// thread is woken (a futex) only when a call's deadline is earlier than the
// time it is already sleeping until, which for a steady deadline means about
// once per deadline period, or when it had gone idle.
//
// Correctness of the hand-off: the state word packs a generation and one of
// IDLE / ARMED / FIRING / FIRED. The watchdog may only move ARMED(g) to
// FIRING(g) by compare-and-swap, so it can never terminate a later call (a
// new generation), and never runs TerminateExecution after the call has
// disarmed. If the call finds the state no longer ARMED(g) when it disarms,
// termination was requested: it waits for FIRED(g) and cancels it before any
// other JavaScript runs.
#include <node.h>
#include <v8.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace {

using v8::Context;
using v8::External;
using v8::Function;
using v8::FunctionCallbackInfo;
using v8::FunctionTemplate;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::String;
using v8::Symbol;
using v8::TryCatch;
using v8::Value;

constexpr uint64_t kIdle = 0, kArmed = 1, kFiring = 2, kFired = 3;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class Watchdog {
 public:
  explicit Watchdog(Isolate* isolate) : isolate_(isolate), thread_([this] { Run(); }) {}

  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  bool Armed() const { return (state_.load() & 3) == kArmed; }

  // JS thread: arms the deadline of a new call; returns its generation.
  uint64_t Arm(int64_t deadline_ns) {
    uint64_t gen = ++gen_;
    deadline_.store(deadline_ns);
    state_.store((gen << 2) | kArmed);
    if (wake_at_.load() > deadline_ns) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_one();
    }
    return gen;
  }

  // JS thread: the call returned. True when termination was requested (and is now cancelled).
  bool Disarm(uint64_t gen) {
    uint64_t expected = (gen << 2) | kArmed;
    if (state_.compare_exchange_strong(expected, (gen << 2) | kIdle)) return false;
    while (state_.load() == ((gen << 2) | kFiring)) std::this_thread::yield();
    isolate_->CancelTerminateExecution();
    state_.store((gen << 2) | kIdle);
    fired_++;
    return true;
  }

  uint64_t Fired() const { return fired_; }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      uint64_t s = state_.load();
      if ((s & 3) != kArmed) {
        // Publish "sleeping until woken", then look again: Arm stores the state
        // before it reads wake_at_, so one of the two sees the other.
        wake_at_.store(INT64_MAX);
        s = state_.load();
        if ((s & 3) != kArmed) {
          cv_.wait(lock);
          continue;
        }
      }
      int64_t deadline = deadline_.load();
      if (NowNs() >= deadline) {
        uint64_t expected = s;
        if (state_.compare_exchange_strong(expected, (s & ~uint64_t{3}) | kFiring)) {
          isolate_->TerminateExecution();
          state_.store((s & ~uint64_t{3}) | kFired);
        }
        continue;
      }
      wake_at_.store(deadline);
      cv_.wait_until(lock, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline)));
    }
  }

  Isolate* const isolate_;
  std::atomic<uint64_t> state_{0};
  std::atomic<int64_t> deadline_{0};
  std::atomic<int64_t> wake_at_{INT64_MAX};
  uint64_t gen_ = 0;
  uint64_t fired_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

struct Addon {
  Watchdog watchdog;
  v8::Global<Symbol> timed_out;
  explicit Addon(Isolate* isolate) : watchdog(isolate) {}
};

// call(fn, a, b, ms): fn(a, b), or the `timedOut` symbol when the deadline stopped it.
void Call(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  Local<Context> context = isolate->GetCurrentContext();
  Addon* addon = static_cast<Addon*>(info.Data().As<External>()->Value());
  if (!info[0]->IsFunction()) {
    isolate->ThrowException(v8::Exception::TypeError(String::NewFromUtf8Literal(isolate, "call: fn must be a function")));
    return;
  }
  Local<Function> fn = info[0].As<Function>();
  Local<Value> argv[2] = {info[1], info[2]};
  double ms = info[3]->IsNumber() ? info[3].As<v8::Number>()->Value() : 0;
  if (ms > 1e12) ms = 1e12;  // "no deadline" (Infinity) is 31 years; keeps the ns arithmetic in range
  if (addon->watchdog.Armed()) {
    // Nested: the outer call's deadline already covers this one.
    Local<Value> result;
    if (fn->Call(context, v8::Undefined(isolate), 2, argv).ToLocal(&result)) info.GetReturnValue().Set(result);
    return;
  }
  if (!(ms > 0)) {
    info.GetReturnValue().Set(addon->timed_out.Get(isolate));
    return;
  }
  int64_t deadline = NowNs() + static_cast<int64_t>(ms * 1e6);
  uint64_t gen = addon->watchdog.Arm(deadline);
  TryCatch try_catch(isolate);
  v8::MaybeLocal<Value> result = fn->Call(context, v8::Undefined(isolate), 2, argv);
  bool fired = addon->watchdog.Disarm(gen);
  if (fired || try_catch.HasTerminated()) {
    isolate->CancelTerminateExecution();
    info.GetReturnValue().Set(addon->timed_out.Get(isolate));
    return;
  }
  if (try_catch.HasCaught()) {
    try_catch.ReThrow();
    return;
  }
  info.GetReturnValue().Set(result.ToLocalChecked());
}

// fired(): how many calls the watchdog has stopped (for tests and metrics).
void Fired(const FunctionCallbackInfo<Value>& info) {
  Addon* addon = static_cast<Addon*>(info.Data().As<External>()->Value());
  info.GetReturnValue().Set(static_cast<double>(addon->watchdog.Fired()));
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  Isolate* isolate = context->GetIsolate();
  Addon* addon = new Addon(isolate);
  Local<Symbol> timed_out = Symbol::New(isolate, String::NewFromUtf8Literal(isolate, "micron.watchdog.timedOut"));
  addon->timed_out.Reset(isolate, timed_out);
  node::AddEnvironmentCleanupHook(isolate, [](void* p) { delete static_cast<Addon*>(p); }, addon);
  Local<External> data = External::New(isolate, addon);
  Local<Object> target = exports;
  target->Set(context, String::NewFromUtf8Literal(isolate, "call"), FunctionTemplate::New(isolate, Call, data)->GetFunction(context).ToLocalChecked()).Check();
  target->Set(context, String::NewFromUtf8Literal(isolate, "fired"), FunctionTemplate::New(isolate, Fired, data)->GetFunction(context).ToLocalChecked()).Check();
  target->Set(context, String::NewFromUtf8Literal(isolate, "timedOut"), timed_out).Check();
}
