#include "esxmirror/core/engine_fetcher.hpp"

namespace esxmirror {

EngineFetcher::EngineFetcher(const net::NetworkSettings& network, const net::RetryPolicy& retry, int parallel)
    : engine_(network, retry, parallel) {}

void EngineFetcher::fetch(std::vector<net::Request> requests, const std::function<void(net::Response&&)>& done) {
  if (requests.empty()) return;
  for (net::Request& request : requests) engine_.add(std::move(request));
  engine_.run(done);
}

net::Response fetch_one(const net::NetworkSettings& network, const net::RetryPolicy& retry, net::Request request) {
  EngineFetcher fetcher(network, retry, 1);
  net::Response response;
  fetcher.fetch({std::move(request)}, [&](net::Response&& r) { response = std::move(r); });
  return response;
}

}  // namespace esxmirror
