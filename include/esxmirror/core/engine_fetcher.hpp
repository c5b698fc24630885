#pragma once
// A source's Fetcher over one libcurl engine: its requests share the engine's connections for the
// fetcher's life.
#include <cstdint>

#include "esxmirror/net/transfer.hpp"
#include "esxmirror/source/fetcher.hpp"

namespace esxmirror {

class EngineFetcher final : public source::Fetcher {
 public:
  // `parallel`: requests in flight at a time.
  EngineFetcher(const net::NetworkSettings& network, const net::RetryPolicy& retry, int parallel);
  void fetch(std::vector<net::Request> requests, const std::function<void(net::Response&&)>& done) override;
  // HTTP requests sent so far, retries included.
  std::uint64_t requests() const { return engine_.stats().requests; }

 private:
  net::TransferEngine engine_;
};

// One request on an engine of its own (the first document of a source, read before anything else).
net::Response fetch_one(const net::NetworkSettings& network, const net::RetryPolicy& retry, net::Request request);

}  // namespace esxmirror
