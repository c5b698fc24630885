#include "net/hash_lanes.hpp"

#include <algorithm>
#include <exception>
#include <thread>

namespace esxmirror::net::detail {

namespace {
constexpr std::size_t kChunk = 256 * 1024;  // bytes handed to a lane at once (libcurl's buffer size)
constexpr std::size_t kLaneBacklog = 16;    // chunks queued per lane before update() waits: 4 MiB
}  // namespace

HashLanes::HashLanes(int lanes) {
  for (int i = 0; i < std::max(lanes, 1); ++i) lanes_.push_back(std::make_unique<util::SerialWorker>());
}

int HashLanes::for_this_machine() { return std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4); }

util::SerialWorker& HashLanes::next() {
  util::SerialWorker& lane = *lanes_[next_];
  next_ = (next_ + 1) % lanes_.size();
  return lane;
}

DeferredHasher::DeferredHasher(util::StreamHasher::Algorithms algorithms, util::SerialWorker* lane)
    : hasher_(algorithms), lane_(lane) {}

DeferredHasher::~DeferredHasher() { wait_idle(); }

void DeferredHasher::update(const char* data, std::size_t size) {
  if (!lane_) {
    hasher_.update(data, size);
    return;
  }
  buffer_.append(data, size);
  if (buffer_.size() >= kChunk) hand_over();
}

void DeferredHasher::hand_over() {
  if (buffer_.empty()) return;
  lane_->wait_below(kLaneBacklog);
  {
    std::lock_guard lock(mutex_);
    ++queued_;
  }
  lane_->post([this, chunk = std::move(buffer_)] {
    std::exception_ptr failure;
    try {
      hasher_.update(chunk.data(), chunk.size());
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    if (failure && !failure_) failure_ = failure;
    if (--queued_ == 0) idle_.notify_all();
  });
  buffer_ = std::string();
  buffer_.reserve(kChunk);
}

void DeferredHasher::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return queued_ == 0; });
}

util::Digests DeferredHasher::finish() {
  hand_over();
  wait_idle();
  if (failure_) std::rethrow_exception(failure_);
  return hasher_.finish();
}

void DeferredHasher::reset() {
  wait_idle();
  buffer_.clear();
  failure_ = nullptr;
  hasher_.reset();
}

}  // namespace esxmirror::net::detail
