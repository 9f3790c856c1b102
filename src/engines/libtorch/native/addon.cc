// The N-API half of ferry's libtorch engine: a Session of `instances` TorchScript modules, each
// on its own thread (never the event loop's, never libuv's shared pool). Jobs go to an instance
// with the batch buffers borrowed; results come back to the event loop through one thread-safe
// function, outputs as external ArrayBuffers over the result tensors' memory (no copy).
#include <napi.h>

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "instance.h"

namespace {

struct Event {
  enum class Kind { Loaded, Done, Exited } kind;
  size_t instance = 0;
  uint64_t job = 0;
  std::string error;
  ferry::ModuleInfo info;
  ferry::RunOutcome outcome;
};

class Session;

/**
 * What the channel (thread-safe function) knows of its session. The channel can outlive the
 * session (collected, its channel released) or go first (torn down at exit): each side clears
 * its pointer in the other, and the channel's finalizer, which runs last, frees the link.
 */
struct Link {
  Session* session = nullptr;
};

void deliver(Napi::Env env, Napi::Function, Link* link, Event* event);
using Channel = Napi::TypedThreadSafeFunction<Link, Event, deliver>;

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Session", {
      InstanceMethod<&Session::Ready>("ready"),
      InstanceMethod<&Session::Run>("run"),
      InstanceMethod<&Session::Close>("close"),
    });
  }

  /** new Session(path, { instances, intraOpThreads, optimizedExecution, inferenceMode, optimizeForInference, extraFiles }) */
  explicit Session(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Session>(info), ready_(Napi::Promise::Deferred::New(info.Env())) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
      throw Napi::TypeError::New(env, "new Session(path, options)");
    }
    Napi::Object o = info[1].As<Napi::Object>();
    ferry::InstanceOptions options;
    options.path = info[0].As<Napi::String>().Utf8Value();
    size_t instances = o.Get("instances").As<Napi::Number>().Uint32Value();
    if (instances == 0) throw Napi::RangeError::New(env, "instances must be at least 1");
    options.intraOpThreads = o.Get("intraOpThreads").As<Napi::Number>().Int32Value();
    options.optimizedExecution = o.Get("optimizedExecution").ToBoolean();
    options.inferenceMode = o.Get("inferenceMode").ToBoolean();
    options.optimizeForInference = o.Get("optimizeForInference").ToBoolean();
    if (o.Has("extraFiles")) {
      Napi::Array names = o.Get("extraFiles").As<Napi::Array>();
      for (uint32_t i = 0; i < names.Length(); i++) options.extraFiles.push_back(names.Get(i).As<Napi::String>().Utf8Value());
    }
    readyPromise_ = Napi::Persistent(ready_.Promise());
    link_ = new Link{this};
    channel_ = Channel::New(env, "ferry-libtorch", 0, 1, link_, [](Napi::Env, void*, Link* link) {
      if (link->session) link->session->channelGone();
      delete link;
    });
    channel_.Unref(env);
    hold(env);  // loading
    for (size_t i = 0; i < instances; i++) {
      instances_.push_back(std::make_unique<ferry::Instance>(
          options,
          [this, i](const std::string& error, ferry::ModuleInfo moduleInfo) {
            post(new Event{Event::Kind::Loaded, i, 0, error, std::move(moduleInfo), {}});
          },
          [this, i] { post(new Event{Event::Kind::Exited, i, 0, {}, {}, {}}); }));
    }
  }

  ~Session() override {
    // Reached only when nothing is in flight (pending work holds a strong reference), or at
    // process exit: let the threads end without posting to a channel that is going away.
    finalizing_ = true;
    for (auto& instance : instances_) instance->stop();
    for (auto& instance : instances_) instance->join();
    if (link_) {
      link_->session = nullptr;
      if (!released_) channel_.Release();
    }
  }

  /** The channel is finalized (released, or torn down at exit): no thread may post any more. */
  void channelGone() {
    finalizing_ = true;
    for (auto& instance : instances_) instance->stop();
    for (auto& instance : instances_) instance->join();
    link_ = nullptr;
    released_ = true;
  }

  void onEvent(Napi::Env env, Event& event) {
    switch (event.kind) {
      case Event::Kind::Loaded: onLoaded(env, event); break;
      case Event::Kind::Done: onDone(env, event); break;
      case Event::Kind::Exited: onExited(env); break;
    }
  }

 private:
  /** Resolves with { arguments, returns, extraFiles, intraOpThreads } once every instance has loaded; rejects with torch's reason. */
  Napi::Value Ready(const Napi::CallbackInfo&) { return readyPromise_.Value(); }

  /** run(instance, inputs: { data: ArrayBuffer, byteOffset, byteLength, datatype, shape }[]) -> Promise<{ outputs, computeMs }> */
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    uint32_t index = info[0].As<Napi::Number>().Uint32Value();
    if (closing_ || index >= instances_.size() || loaded_ < instances_.size()) {
      deferred.Reject(Napi::Error::New(env, closing_ ? "the session is closed" : "no such instance, or the session is not loaded").Value());
      return deferred.Promise();
    }
    Napi::Array list = info[1].As<Napi::Array>();
    std::vector<ferry::TensorIn> inputs;
    inputs.reserve(list.Length());
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Object t = list.Get(i).As<Napi::Object>();
      Napi::ArrayBuffer buffer = t.Get("data").As<Napi::ArrayBuffer>();
      size_t offset = t.Get("byteOffset").As<Napi::Number>().Int64Value();
      size_t length = t.Get("byteLength").As<Napi::Number>().Int64Value();
      if (offset + length > buffer.ByteLength()) {
        deferred.Reject(Napi::RangeError::New(env, "input view is outside its buffer").Value());
        return deferred.Promise();
      }
      ferry::TensorIn in;
      in.data = static_cast<char*>(buffer.Data()) + offset;
      in.byteLength = length;
      in.datatype = t.Get("datatype").As<Napi::String>().Utf8Value();
      Napi::Array shape = t.Get("shape").As<Napi::Array>();
      for (uint32_t d = 0; d < shape.Length(); d++) in.shape.push_back(shape.Get(d).As<Napi::Number>().Int64Value());
      inputs.push_back(std::move(in));
    }
    uint64_t job = nextJob_++;
    jobs_.emplace(job, deferred);
    hold(env);
    // The buffers stay alive: the engine keeps them until this promise settles.
    instances_[index]->submit(std::move(inputs), [this, index, job](ferry::RunOutcome outcome) {
      post(new Event{Event::Kind::Done, index, job, {}, {}, std::move(outcome)});
    });
    return deferred.Promise();
  }

  /** Lets running jobs finish, ends the threads; resolves when they have ended. */
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    if (released_) {
      deferred.Resolve(env.Undefined());
      return deferred.Promise();
    }
    closed_.push_back(deferred);
    if (!closing_) {
      closing_ = true;
      hold(env);
      for (auto& instance : instances_) instance->stop();
    }
    return deferred.Promise();
  }

  void onLoaded(Napi::Env env, Event& event) {
    if (!event.error.empty() && loadError_.empty()) loadError_ = event.error;
    if (event.instance == 0) info_ = std::move(event.info);
    if (++loaded_ < instances_.size()) return;
    if (!loadError_.empty()) {
      ready_.Reject(Napi::Error::New(env, loadError_).Value());
    } else {
      Napi::Object o = Napi::Object::New(env);
      Napi::Array args = Napi::Array::New(env, info_.arguments.size());
      for (size_t i = 0; i < info_.arguments.size(); i++) {
        Napi::Object a = Napi::Object::New(env);
        a.Set("name", info_.arguments[i].name);
        a.Set("type", info_.arguments[i].type);
        a.Set("hasDefault", info_.arguments[i].hasDefault);
        args.Set(i, a);
      }
      o.Set("arguments", args);
      o.Set("returns", info_.returns);
      Napi::Object extra = Napi::Object::New(env);
      for (const auto& [name, content] : info_.extraFiles) extra.Set(name, content);
      o.Set("extraFiles", extra);
      o.Set("intraOpThreads", info_.intraOpThreads);
      ready_.Resolve(o);
    }
    release(env);
  }

  void onDone(Napi::Env env, Event& event) {
    auto it = jobs_.find(event.job);
    if (it == jobs_.end()) return;
    Napi::Promise::Deferred deferred = it->second;
    jobs_.erase(it);
    auto& outcome = event.outcome;
    if (!outcome.error.empty()) {
      deferred.Reject(Napi::Error::New(env, outcome.error).Value());
    } else {
      Napi::Array outputs = Napi::Array::New(env, outcome.outputs.size());
      for (size_t i = 0; i < outcome.outputs.size(); i++) {
        auto& t = outcome.outputs[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("path", t.path);
        o.Set("datatype", t.datatype);
        Napi::Array shape = Napi::Array::New(env, t.shape.size());
        for (size_t d = 0; d < t.shape.size(); d++) shape.Set(d, Napi::Number::New(env, static_cast<double>(t.shape[d])));
        o.Set("shape", shape);
        if (t.byteLength == 0) {
          o.Set("data", Napi::ArrayBuffer::New(env, 0));
        } else {
          // The ArrayBuffer is the tensor's memory; the tensor lives until the buffer is collected.
          auto* owner = new std::shared_ptr<void>(std::move(t.owner));
          o.Set("data", Napi::ArrayBuffer::New(env, t.data, t.byteLength, [](Napi::Env, void*, std::shared_ptr<void>* hint) { delete hint; }, owner));
        }
        outputs.Set(i, o);
      }
      Napi::Object result = Napi::Object::New(env);
      result.Set("outputs", outputs);
      result.Set("computeMs", outcome.computeMs);
      result.Set("intraOpThreads", outcome.intraOpThreads);
      deferred.Resolve(result);
    }
    release(env);
  }

  void onExited(Napi::Env env) {
    if (++exited_ < instances_.size()) return;
    for (auto& instance : instances_) instance->join();
    for (auto& [job, deferred] : jobs_) deferred.Reject(Napi::Error::New(env, "the session closed before the batch ran").Value());
    jobs_.clear();
    for (auto& deferred : closed_) deferred.Resolve(env.Undefined());
    closed_.clear();
    released_ = true;
    pending_ = 0;
    channel_.Unref(env);
    Unref();
    channel_.Release();
  }

  void post(Event* event) {
    if (finalizing_ || channel_.BlockingCall(event) != napi_ok) delete event;
  }

  /** Work in flight keeps the event loop alive and this object from being collected. */
  void hold(Napi::Env env) {
    if (pending_++ == 0) {
      channel_.Ref(env);
      Ref();
    }
  }

  void release(Napi::Env env) {
    if (pending_ == 0 || --pending_ > 0 || released_) return;
    channel_.Unref(env);
    Unref();
  }

  Napi::Promise::Deferred ready_;
  Napi::Reference<Napi::Promise> readyPromise_;
  Link* link_ = nullptr;
  Channel channel_;
  std::vector<std::unique_ptr<ferry::Instance>> instances_;
  ferry::ModuleInfo info_;
  std::string loadError_;
  size_t loaded_ = 0;
  size_t exited_ = 0;
  size_t pending_ = 0;
  bool closing_ = false;
  bool released_ = false;
  std::atomic<bool> finalizing_{false};
  uint64_t nextJob_ = 1;
  std::unordered_map<uint64_t, Napi::Promise::Deferred> jobs_;
  std::vector<Napi::Promise::Deferred> closed_;
};

void deliver(Napi::Env env, Napi::Function, Link* link, Event* event) {
  std::unique_ptr<Event> owned(event);
  if (env == nullptr || link == nullptr || link->session == nullptr) return;  // torn down, or the session is gone
  link->session->onEvent(env, *owned);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Session", Session::Define(env));
  exports.Set("libtorchVersion", Napi::String::New(env, ferry::libtorchVersion()));
  return exports;
}

}  // namespace

NODE_API_MODULE(ferry_libtorch, Init)
