#include "esxmirror/util/serial_worker.hpp"

namespace esxmirror::util {

SerialWorker::~SerialWorker() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SerialWorker::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (error_) return;
    queued_.push_back(std::move(task));
    ++busy_;
    if (!thread_.joinable()) thread_ = std::thread([this] { work(); });
  }
  changed_.notify_all();
}

void SerialWorker::wait_below(std::size_t limit) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return busy_ < limit || error_; });
}

void SerialWorker::drain() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return busy_ == 0; });
  if (error_) std::rethrow_exception(error_);
}

void SerialWorker::rethrow_if_failed() {
  std::lock_guard lock(mutex_);
  if (error_) std::rethrow_exception(error_);
}

void SerialWorker::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return closing_ || !queued_.empty(); });
    if (queued_.empty()) return;  // closing, nothing left
    std::function<void()> task = std::move(queued_.front());
    queued_.pop_front();
    if (!error_) {
      lock.unlock();
      try {
        task();
      } catch (...) {
        lock.lock();
        if (!error_) error_ = std::current_exception();
        lock.unlock();
      }
      task = nullptr;  // what it captured goes before the next one starts
      lock.lock();
    }
    --busy_;
    changed_.notify_all();
  }
}

}  // namespace esxmirror::util
