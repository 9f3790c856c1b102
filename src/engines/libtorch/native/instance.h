// One TorchScript module on its own thread: the libtorch half of ferry's libtorch engine.
// Nothing here knows Node: the N-API half (addon.cc) hands jobs in and gets callbacks out, on
// this instance's thread; it moves them to the event loop with a thread-safe function.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ferry {

/** An input as the engine gives it: a view of the batch buffer, borrowed until the job's callback. */
struct TensorIn {
  void* data = nullptr;
  size_t byteLength = 0;
  /** KServe v2 datatype name: FP32, INT64, BOOL... */
  std::string datatype;
  std::vector<int64_t> shape;
};

/** An output tensor: contiguous memory that `owner` keeps alive (the JS ArrayBuffer holds `owner`). */
struct TensorOut {
  /** Where it sits in forward()'s result: "" for a lone tensor, "0", "1.2" in tuples/lists, the key in a dict. */
  std::string path;
  std::string datatype;
  std::vector<int64_t> shape;
  void* data = nullptr;
  size_t byteLength = 0;
  std::shared_ptr<void> owner;
};

struct ModuleInfo {
  /** forward()'s arguments after self: name, type (e.g. "Tensor"), whether it has a default. */
  struct Argument {
    std::string name;
    std::string type;
    bool hasDefault = false;
  };
  std::vector<Argument> arguments;
  /** forward()'s return type, e.g. "Tuple[Tensor, Tensor]". */
  std::string returns;
  /** The extra files asked for that the archive holds (e.g. "ferry.json"). */
  std::map<std::string, std::string> extraFiles;
  /** at::get_num_threads() on the instance's thread once set (OpenMP's count is per thread). */
  int intraOpThreads = 0;
};

struct RunOutcome {
  /** Empty on success; otherwise torch's message without its C++ backtrace. */
  std::string error;
  std::vector<TensorOut> outputs;
  /** Time in forward() and output conversion, ms. */
  double computeMs = 0;
  /** at::get_num_threads() on the instance's thread as it ran (OpenMP's team size for this thread). */
  int intraOpThreads = 0;
};

struct InstanceOptions {
  std::string path;
  /** at::set_num_threads on the instance's thread; 0 leaves libtorch's default. */
  int intraOpThreads = 0;
  /** TorchScript's graph optimizations (the profiling executor); Triton's DISABLE_OPTIMIZED_EXECUTION inverted. */
  bool optimizedExecution = true;
  /** c10::InferenceMode around forward(); otherwise torch::NoGradGuard. */
  bool inferenceMode = true;
  /** torch.jit.freeze + optimize_for_inference at load (folds BatchNorm, prepacks weights). */
  bool optimizeForInference = false;
  std::vector<std::string> extraFiles;
};

/** "1.13.1" (TORCH_VERSION of the headers built against). */
std::string libtorchVersion();

class Instance {
 public:
  using LoadedFn = std::function<void(const std::string& error, ModuleInfo info)>;
  using DoneFn = std::function<void(RunOutcome outcome)>;
  using ExitFn = std::function<void()>;

  /** Starts the thread, which loads the module and calls `onLoaded` (on that thread). */
  Instance(InstanceOptions options, LoadedFn onLoaded, ExitFn onExit);
  /** Stops and joins the thread (a running forward() finishes first). */
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  /** Queues a job; `done` runs on the instance's thread. The inputs' memory must stay valid until then. */
  void submit(std::vector<TensorIn> inputs, DoneFn done);
  /** Asks the thread to exit once its queue is empty; `onExit` runs on the thread as it ends. */
  void stop();
  /** Waits for the thread to end (after stop()). */
  void join();

 private:
  struct Job {
    std::vector<TensorIn> inputs;
    DoneFn done;
  };

  void loop();
  RunOutcome run(std::vector<TensorIn>& inputs);

  InstanceOptions options_;
  LoadedFn onLoaded_;
  ExitFn onExit_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  /** The loaded module, owned by the thread (type-erased so this header needs no torch headers). */
  std::shared_ptr<void> module_;
  std::thread thread_;
};

}  // namespace ferry
