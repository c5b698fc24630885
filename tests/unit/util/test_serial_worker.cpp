// The placement thread of the bundle mirror: tasks run in the order posted, on one thread other than the
// caller's; the first failure reaches the caller and the tasks after it are dropped.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "esxmirror/util/serial_worker.hpp"

using esxmirror::util::SerialWorker;

TEST_CASE("serial worker: tasks run in the order posted, one at a time, off the caller's thread", "[serial_worker]") {
  std::vector<int> order;
  std::atomic<int> running{0};
  bool overlapped = false, on_caller = false;
  const auto caller = std::this_thread::get_id();
  SerialWorker worker;
  for (int i = 0; i < 50; ++i) {
    worker.post([&, i] {
      if (running.fetch_add(1) != 0) overlapped = true;
      if (std::this_thread::get_id() == caller) on_caller = true;
      if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      order.push_back(i);
      running.fetch_sub(1);
    });
  }
  worker.drain();
  REQUIRE(order.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
  CHECK_FALSE(overlapped);
  CHECK_FALSE(on_caller);
  worker.drain();  // nothing queued: returns at once
}

TEST_CASE("serial worker: the first exception reaches the caller and later tasks are dropped", "[serial_worker]") {
  SerialWorker worker;
  std::vector<int> ran;
  worker.post([&] { ran.push_back(1); });
  worker.post([] { throw std::runtime_error("disk full"); });
  worker.post([&] { ran.push_back(3); });
  CHECK_THROWS_WITH(worker.drain(), "disk full");
  CHECK_THROWS_WITH(worker.rethrow_if_failed(), "disk full");
  worker.post([&] { ran.push_back(4); });
  CHECK_THROWS_WITH(worker.drain(), "disk full");
  CHECK(ran == std::vector<int>{1});
}

TEST_CASE("serial worker: wait_below holds the caller while the backlog is full", "[serial_worker]") {
  SerialWorker worker;
  std::atomic<bool> release{false};
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i) {
    worker.post([&] {
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++done;
    });
  }
  std::atomic<bool> passed{false};
  std::thread waiter([&] {
    worker.wait_below(2);
    passed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(passed);  // 4 queued or running: not below 2
  release = true;
  waiter.join();
  CHECK(passed);
  CHECK(done >= 3);
  worker.drain();
  CHECK(done == 4);
}

TEST_CASE("serial worker: what is still queued runs before the destructor returns", "[serial_worker]") {
  std::atomic<int> done{0};
  {
    SerialWorker worker;
    for (int i = 0; i < 20; ++i) worker.post([&] { ++done; });
  }
  CHECK(done == 20);
}
