// The libtorch half of the engine: load, thread settings, forward() under InferenceMode, the
// batch buffer wrapped (not copied) as input tensors, results flattened to named tensors.
#include "instance.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>
#include <torch/version.h>

#include <chrono>
#include <exception>
#include <sstream>
#include <stdexcept>

namespace ferry {
namespace {

c10::ScalarType scalarType(const std::string& datatype) {
  if (datatype == "FP32") return c10::kFloat;
  if (datatype == "FP64") return c10::kDouble;
  if (datatype == "FP16") return c10::kHalf;
  if (datatype == "INT64") return c10::kLong;
  if (datatype == "INT32") return c10::kInt;
  if (datatype == "INT16") return c10::kShort;
  if (datatype == "INT8") return c10::kChar;
  if (datatype == "UINT8") return c10::kByte;
  if (datatype == "BOOL") return c10::kBool;
  throw std::runtime_error("datatype " + datatype + " has no libtorch tensor type");
}

/** v2 name of a tensor type; nullptr for types ferry does not serve (bfloat16, complex, quantized). */
const char* datatypeName(c10::ScalarType t) {
  switch (t) {
    case c10::kFloat: return "FP32";
    case c10::kDouble: return "FP64";
    case c10::kHalf: return "FP16";
    case c10::kLong: return "INT64";
    case c10::kInt: return "INT32";
    case c10::kShort: return "INT16";
    case c10::kChar: return "INT8";
    case c10::kByte: return "UINT8";
    case c10::kBool: return "BOOL";
    default: return nullptr;
  }
}

/**
 * One line of torch's message: a TorchScript interpreter error spans a traceback and ends with
 * the Python-style "RuntimeError: ..." line, which is the one that says what went wrong.
 */
std::string oneLine(const std::string& message) {
  std::istringstream in(message);
  std::string line, first, raised;
  while (std::getline(in, line)) {
    if (first.empty() && line.find_first_not_of(" \t") != std::string::npos) first = line;
    if (line.rfind("RuntimeError: ", 0) == 0 || line.rfind("ValueError: ", 0) == 0 || line.rfind("AssertionError: ", 0) == 0 ||
        line.rfind("IndexError: ", 0) == 0 || line.rfind("TypeError: ", 0) == 0 || line.rfind("Exception: ", 0) == 0) {
      raised = line;
    }
  }
  return raised.empty() ? first : raised;
}

std::string messageOf(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return oneLine(c->what_without_backtrace());
  return oneLine(e.what());
}

std::string join(const std::string& path, const std::string& part) {
  return path.empty() ? part : path + "." + part;
}

/** forward()'s result as (path, tensor) pairs: a tensor, tuples and lists by index, dicts by key. */
void flatten(const c10::IValue& v, const std::string& path, std::vector<std::pair<std::string, at::Tensor>>& out) {
  if (v.isTensor()) {
    out.emplace_back(path, v.toTensor());
  } else if (v.isTuple()) {
    const auto& elements = v.toTupleRef().elements();
    for (size_t i = 0; i < elements.size(); i++) flatten(elements[i], join(path, std::to_string(i)), out);
  } else if (v.isList()) {
    auto list = v.toListRef();
    for (size_t i = 0; i < list.size(); i++) flatten(list[i], join(path, std::to_string(i)), out);
  } else if (v.isGenericDict()) {
    for (const auto& item : v.toGenericDict()) {
      const auto& key = item.key();
      std::string name = key.isString() ? key.toStringRef() : key.isInt() ? std::to_string(key.toInt()) : "";
      if (name.empty()) throw std::runtime_error("forward() returned a dict whose keys are " + key.tagKind() + ", not strings");
      flatten(item.value(), join(path, name), out);
    }
  } else if (v.isNone()) {
    // nothing to serve
  } else {
    throw std::runtime_error("forward() returned " + v.tagKind() + (path.empty() ? "" : " at " + path) +
                             "; ferry serves tensors, tuples, lists and dicts of tensors");
  }
}

struct Range {
  const char* begin;
  const char* end;
};

}  // namespace

std::string libtorchVersion() { return TORCH_VERSION; }

Instance::Instance(InstanceOptions options, LoadedFn onLoaded, ExitFn onExit)
    : options_(std::move(options)), onLoaded_(std::move(onLoaded)), onExit_(std::move(onExit)) {
  thread_ = std::thread([this] { loop(); });
}

Instance::~Instance() {
  stop();
  join();
}

void Instance::submit(std::vector<TensorIn> inputs, DoneFn done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(Job{std::move(inputs), std::move(done)});
  }
  wake_.notify_one();
}

void Instance::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
}

void Instance::join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Instance::loop() {
  // Thread settings are this thread's: OpenMP keeps its team size per calling thread, and the
  // graph executor's optimize flag is thread-local, so each instance gets its own.
  if (options_.intraOpThreads > 0) at::set_num_threads(options_.intraOpThreads);
  torch::jit::setGraphExecutorOptimize(options_.optimizedExecution);
  {
    ModuleInfo info;
    std::string error;
    try {
      torch::jit::ExtraFilesMap extra;
      for (const auto& name : options_.extraFiles) extra[name] = "";
      auto module = std::make_shared<torch::jit::Module>(torch::jit::load(options_.path, c10::Device(c10::kCPU), extra));
      module->eval();
      if (options_.optimizeForInference) *module = torch::jit::optimize_for_inference(*module);
      const auto& schema = module->get_method("forward").function().getSchema();
      const auto& args = schema.arguments();
      for (size_t i = 1; i < args.size(); i++) {  // 0 is self
        info.arguments.push_back({args[i].name(), args[i].type()->annotation_str(), args[i].default_value().has_value()});
      }
      std::ostringstream returns;
      for (size_t i = 0; i < schema.returns().size(); i++) returns << (i ? ", " : "") << schema.returns()[i].type()->annotation_str();
      info.returns = returns.str();
      for (const auto& [name, content] : extra) {
        if (!content.empty()) info.extraFiles[name] = content;
      }
      info.intraOpThreads = at::get_num_threads();
      module_ = module;
    } catch (const std::exception& e) {
      error = messageOf(e);
      if (error.empty()) error = "torch::jit::load failed";
    }
    onLoaded_(error, std::move(info));
  }
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    RunOutcome outcome;
    try {
      outcome = run(job.inputs);
    } catch (const std::exception& e) {
      outcome = RunOutcome{};
      outcome.error = messageOf(e);
      if (outcome.error.empty()) outcome.error = "forward() failed";
    } catch (...) {
      outcome = RunOutcome{};
      outcome.error = "forward() failed with an unknown exception";
    }
    job.done(std::move(outcome));
  }
  // Release the module on this thread, before the exit callback lets the engine go.
  module_.reset();
  onExit_();
}

RunOutcome Instance::run(std::vector<TensorIn>& inputs) {
  if (!module_) throw std::runtime_error("the module is not loaded");
  auto& module = *static_cast<torch::jit::Module*>(module_.get());
  auto start = std::chrono::steady_clock::now();
  RunOutcome outcome;
  std::vector<c10::IValue> args;
  args.reserve(inputs.size());
  std::vector<Range> ranges;
  for (auto& in : inputs) {
    auto type = scalarType(in.datatype);
    int64_t count = 1;
    for (auto d : in.shape) count *= d;
    if (static_cast<size_t>(count) * c10::elementSize(type) != in.byteLength) {
      throw std::runtime_error("input " + std::to_string(args.size()) + " has " + std::to_string(count) + " elements of " + in.datatype +
                               " by its shape but " + std::to_string(in.byteLength) + " bytes");
    }
    // A view of the batch buffer: no copy. The engine keeps the buffer until `done` has run.
    args.emplace_back(torch::from_blob(in.data, in.shape, torch::TensorOptions().dtype(type)));
    ranges.push_back({static_cast<const char*>(in.data), static_cast<const char*>(in.data) + in.byteLength});
  }
  std::unique_ptr<c10::InferenceMode> inference;
  std::unique_ptr<torch::NoGradGuard> noGrad;
  if (options_.inferenceMode) inference = std::make_unique<c10::InferenceMode>();
  else noGrad = std::make_unique<torch::NoGradGuard>();
  c10::IValue result = module.forward(std::move(args));
  std::vector<std::pair<std::string, at::Tensor>> flat;
  flatten(result, "", flat);
  result = c10::IValue();
  for (auto& [path, tensor] : flat) {
    const char* name = datatypeName(tensor.scalar_type());
    if (!name) throw std::runtime_error("output " + (path.empty() ? std::string("tensor") : path) + " has type " +
                                        std::string(c10::toString(tensor.scalar_type())) + ", which ferry does not serve");
    at::Tensor t = tensor.device().is_cpu() ? tensor.contiguous() : tensor.to(c10::kCPU).contiguous();
    // An output that shares memory with an input (identity, `return x`) would go out in a buffer
    // the engine hands back for the next batch: copy it.
    const char* p = static_cast<const char*>(t.data_ptr());
    size_t bytes = t.numel() * t.element_size();
    for (const auto& r : ranges) {
      if (bytes > 0 && p < r.end && p + bytes > r.begin) {
        t = t.clone();
        break;
      }
    }
    TensorOut out;
    out.path = path;
    out.datatype = name;
    out.shape = t.sizes().vec();
    out.data = t.data_ptr();
    out.byteLength = t.numel() * t.element_size();
    out.owner = std::shared_ptr<void>(new at::Tensor(std::move(t)), [](void* x) { delete static_cast<at::Tensor*>(x); });
    outcome.outputs.push_back(std::move(out));
  }
  outcome.computeMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  outcome.intraOpThreads = at::get_num_threads();
  return outcome;
}

}  // namespace ferry
