#include "support/fake_fetcher.hpp"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace esxmirror::testing {

void FakeFetcher::fetch(std::vector<net::Request> requests, const std::function<void(net::Response&&)>& done) {
  rounds.push_back(requests.size());
  for (net::Request& request : requests) {
    asked.push_back(request);
    net::Response r;
    r.tag = request.tag;
    r.url = request.url;
    r.attempts = 1;
    auto doc = documents.find(request.url);
    if (doc == documents.end()) {
      r.outcome = net::Outcome::not_found;
      r.status = 404;
      r.error = "HTTP 404";
    } else if (doc->second.outcome != net::Outcome::ok) {
      r.outcome = doc->second.outcome;
      r.status = doc->second.status;
      r.error = fmt::format("HTTP {}", r.status);
    } else if (!request.conditional.etag.empty() && request.conditional.etag == doc->second.etag) {
      r.outcome = net::Outcome::not_modified;
      r.status = 304;
    } else {
      r.outcome = net::Outcome::ok;
      r.status = 200;
      r.validators.etag = doc->second.etag;
      r.bytes = doc->second.body.size();
      if (request.file.empty()) {
        r.body = doc->second.body;
      } else {
        std::filesystem::create_directories(request.file.parent_path());
        std::ofstream(request.file, std::ios::binary) << doc->second.body;
      }
    }
    done(std::move(r));
  }
}

std::vector<std::string> FakeFetcher::urls_asked() const {
  std::vector<std::string> urls;
  for (const net::Request& r : asked) urls.push_back(r.url);
  return urls;
}

}  // namespace esxmirror::testing
