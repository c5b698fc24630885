#pragma once
// Hashing off the transfer thread. md5 + sha-256 of every body on run()'s thread serialised the bodies
// that arrive together behind one core: S1 of scripts/bench (200 x 1 MiB, --jobs 4, 20 ms, 2 cores),
// side by side, medians of 7: 2.53 s hashing inline, 2.32 s on lanes (and 2.0-2.1 s with no hashing at
// all, the bound). A file request's bytes are still written at once on the transfer thread (a reader
// following the partial sees them), and hashed, in order, on one of a few lane threads; commit() waits
// for its lane before the digests are read.
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "esxmirror/util/hash.hpp"
#include "esxmirror/util/serial_worker.hpp"

namespace esxmirror::net::detail {

// The lane threads of one engine; each file request is given one, in turn.
class HashLanes {
 public:
  explicit HashLanes(int lanes);
  // One lane per core, at most four: more only adds threads waiting for a core.
  static int for_this_machine();
  util::SerialWorker& next();

 private:
  std::vector<std::unique_ptr<util::SerialWorker>> lanes_;
  std::size_t next_ = 0;  // run()'s thread only
};

// A StreamHasher fed from one thread whose work runs on a lane (inline without one). update() copies the
// bytes and returns; finish() and reset() first wait until every byte given so far is hashed. At most a
// few MiB wait per lane: update() waits too when its lane is that far behind (the disk or the CPU is slower
// than the network), so memory stays bounded.
class DeferredHasher {
 public:
  DeferredHasher(util::StreamHasher::Algorithms algorithms, util::SerialWorker* lane);
  ~DeferredHasher();  // waits for its queued bytes: the lane's tasks point here
  DeferredHasher(const DeferredHasher&) = delete;
  DeferredHasher& operator=(const DeferredHasher&) = delete;

  void update(const char* data, std::size_t size);
  util::Digests finish();
  void reset();

 private:
  void hand_over();  // the buffered bytes to the lane
  void wait_idle();

  util::StreamHasher hasher_;  // while chunks are queued, only the lane thread touches it
  util::SerialWorker* lane_;
  std::string buffer_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t queued_ = 0;      // guarded by mutex_
  std::exception_ptr failure_;  // guarded by mutex_: what a lane's update threw, for finish()
};

}  // namespace esxmirror::net::detail
