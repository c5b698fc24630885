// `esxmirror check` asks for a depot's metadata zips by HEAD: their size and validators, never their bytes.
// An unchanged zip's contents are the catalog's; a changed or new one is reported, not read.
#include "core/depot/depot_context.hpp"

namespace esxmirror {

net::Request metadata_probe(net::Request request, const store::DocumentRow* known) {
  request.method = net::Method::head;
  request.file.clear();
  request.conditional = known ? net::Validators{known->etag, known->last_modified} : net::Validators{};
  return request;
}

bool probe_unchanged(const net::Response& response, const store::DocumentRow* known) {
  if (!known) return false;
  if (response.outcome == net::Outcome::not_modified) return true;
  if (response.outcome != net::Outcome::ok) return false;
  if (!known->etag.empty()) return response.validators.etag == known->etag;
  return !known->last_modified.empty() && response.validators.last_modified == known->last_modified;
}

}  // namespace esxmirror
