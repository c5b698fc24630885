#include "net/commit_pool.hpp"

#include <algorithm>

namespace esxmirror::net::detail {

CommitPool::CommitPool(int threads, std::function<void()> on_finished)
    : threads_(std::max(threads, 1)), on_finished_(std::move(on_finished)) {}

CommitPool::~CommitPool() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void CommitPool::submit(std::uint64_t id, std::unique_ptr<PartialFileWriter> writer) {
  {
    std::lock_guard lock(mutex_);
    queued_.push_back({id, std::move(writer), {}});
    ++pending_;
    if (static_cast<int>(workers_.size()) < threads_) {
      workers_.emplace_back([this] { work(); });
    }
  }
  wake_.notify_one();
}

std::vector<CommitPool::Finished> CommitPool::take_finished() {
  std::lock_guard lock(mutex_);
  std::vector<Finished> out = std::move(finished_);
  finished_.clear();
  pending_ -= out.size();
  return out;
}

std::size_t CommitPool::pending() const {
  std::lock_guard lock(mutex_);
  return pending_;
}

void CommitPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return closing_ || !queued_.empty(); });
    if (queued_.empty()) return;  // closing, and everything submitted is committed
    Finished item = std::move(queued_.front());
    queued_.pop_front();
    lock.unlock();
    item.result = item.writer->commit();
    lock.lock();
    finished_.push_back(std::move(item));
    lock.unlock();
    if (on_finished_) on_finished_();
    lock.lock();
  }
}

}  // namespace esxmirror::net::detail
