#pragma once
// How a source reads its vendor's documents. Core implements it over the run's libcurl engine
// (core/engine_fetcher.hpp), tests over canned responses, so a source's walk of its documents has no
// network and no state of its own: requests out, responses in.
#include <functional>
#include <vector>

#include "esxmirror/net/transfer.hpp"

namespace esxmirror::source {

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // Sends `requests` (URLs in their stored form; tags are the caller's) and calls `done` once for each,
  // in any order, on the calling thread; returns when every one has been answered.
  virtual void fetch(std::vector<net::Request> requests, const std::function<void(net::Response&&)>& done) = 0;
};

}  // namespace esxmirror::source
