#pragma once
// One thread that runs posted tasks in the order they were posted. The bundle mirror hands it the disk
// work of a finished download (finish the unpack, fsync, rename, links, catalog rows), so the transfer
// thread goes straight back to curl; and since the catalog is touched only here, it needs no lock.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace esxmirror::util {

class SerialWorker {
 public:
  SerialWorker() = default;
  // Runs what is still queued (unless a task failed), then joins. Never throws.
  ~SerialWorker();
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  // Queues `task` to run after every task posted before it. The thread starts with the first task.
  // Once a task has thrown, later tasks are dropped: the caller is about to end with that error.
  void post(std::function<void()> task);
  // Waits until fewer than `limit` tasks are queued or running: back-pressure when the disk is slower
  // than the network.
  void wait_below(std::size_t limit);
  // Waits until every posted task has run; rethrows the first exception a task threw.
  void drain();
  // Rethrows the first exception a task threw, without waiting.
  void rethrow_if_failed();

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> queued_;
  std::size_t busy_ = 0;  // queued plus the one running
  bool closing_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace esxmirror::util
