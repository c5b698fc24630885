// What SiteServer serves: the legacy site's files and every mounted depot's, with validators that
// change exactly when bytes change; and the depot side of SiteServer's API.
#include <algorithm>
#include <stdexcept>

#include "support/site_server_impl.hpp"

namespace esxmirror::testing {
namespace server_detail {
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

std::string content_type_for(const std::string& path) {
  if (ends_with(path, ".html") || ends_with(path, ".htm")) return "text/html";
  if (ends_with(path, ".tgz") || ends_with(path, ".gz")) return "application/x-gzip";
  if (ends_with(path, ".zip")) return "application/zip";
  if (ends_with(path, ".xml")) return "text/xml";
  if (ends_with(path, ".pdf")) return "application/pdf";
  return "application/octet-stream";
}

}  // namespace server_detail

using server_detail::content_type_for;
using server_detail::Mount;
using server_detail::Resource;

// Rebuilds the served view of the site and the depots. Unchanged bytes keep their validators; changed
// bytes get a new ETag and a Last-Modified strictly later than before. Caller holds `mutex`.
void SiteServer::Impl::rebuild_resources(bool first_time) {
  std::map<std::string, std::shared_ptr<const Resource>> next;
  for (const auto& [path, content] : site->files()) {
    if (content_type_for(path) == "text/html") {
      auto page = std::make_shared<const std::string>(SampleSite::with_base(content, base_url));
      const std::string_view body = *page;
      place_resource(next, path, body, std::move(page), first_time);
    } else {
      place_resource(next, path, content, site, first_time);  // no copy: bench bundles can be a gigabyte
    }
  }
  for (const Mount& mount : mounts)
    for (const auto& [path, content] : mount.depot->files())
      place_resource(next, mount.prefix + path, *content, content, first_time);
  resources = std::move(next);
}

void SiteServer::Impl::place_resource(std::map<std::string, std::shared_ptr<const Resource>>& next,
                                      const std::string& path, std::string_view body, std::shared_ptr<const void> owner,
                                      bool first_time) const {
  auto resource = std::make_shared<Resource>();
  resource->type = content_type_for(path);
  resource->body = body;
  resource->owner = std::move(owner);
  const auto old = resources.find(path);
  // The same bytes object (a depot file an edit did not touch) is unchanged without comparing them.
  const bool same =
      old != resources.end() && ((old->second->body.data() == body.data() && old->second->body.size() == body.size()) ||
                                 old->second->body == body);
  if (same) {
    resource->etag = old->second->etag;
    resource->modified = old->second->modified;
  } else {
    const std::time_t now = std::time(nullptr);
    resource->etag = "\"" + md5_hex(resource->body) + "\"";
    // Start an hour in the past so the first change is visibly later.
    resource->modified = old != resources.end() ? std::max(now, old->second->modified + 1)
                         : first_time           ? now - 3600
                                                : now;
  }
  next.emplace(path, std::move(resource));
}

std::vector<std::string> SiteServer::Impl::mount_prefixes() const {
  std::vector<std::string> out;
  for (const Mount& mount : mounts) out.push_back(mount.prefix);
  return out;
}

Mount* SiteServer::Impl::find_mount(const std::string& name) {
  for (Mount& mount : mounts)
    if (mount.depot->name() == name) return &mount;
  throw std::out_of_range("SiteServer: no depot named " + name);
}

std::string SiteServer::Impl::mount_url(const Mount& mount) const {
  const std::string& token = tokens.tokens().valid;
  return base_url + (token.empty() ? "" : token + "/") + mount.prefix;
}

// A depot that writes absolute VIB URLs learns where it is served. Caller holds `mutex`.
void SiteServer::Impl::give_base_url(Mount& mount) {
  if (!mount.depot->has_absolute_urls() || base_url.empty() || mount.depot->base_url() == mount_url(mount)) return;
  auto moved = std::make_shared<SampleDepot>(*mount.depot);
  moved->set_base_url(mount_url(mount));
  mount.depot = std::move(moved);
}

void SiteServer::set_worker_threads(int count) {
  std::lock_guard lock(impl_->mutex);
  impl_->worker_threads = count;
}

void SiteServer::add_depot(SampleDepot depot, const std::string& mount) {
  std::lock_guard lock(impl_->mutex);
  const std::string prefix =
      mount.empty() ? "PROD/COMP/ESX_HOST/" + depot.name() + "/" : mount.substr(mount.rfind('/', 0) == 0 ? 1 : 0);
  if (prefix.empty() || prefix.back() != '/') throw std::invalid_argument("SiteServer: a mount ends in '/'");
  impl_->mounts.push_back({prefix, std::make_shared<const SampleDepot>(std::move(depot))});
  if (impl_->base_url.empty()) return;  // start() renders
  impl_->give_base_url(impl_->mounts.back());
  impl_->rebuild_resources(false);
}

void SiteServer::edit_depot(const std::string& name, const std::function<void(SampleDepot&)>& change) {
  std::lock_guard serialise(impl_->edit_mutex);
  SampleDepot next = depot(name);
  change(next);  // user code runs without the server lock
  std::lock_guard lock(impl_->mutex);
  Mount& mount = *impl_->find_mount(name);
  mount.depot = std::make_shared<const SampleDepot>(std::move(next));
  impl_->give_base_url(mount);
  if (!impl_->base_url.empty()) impl_->rebuild_resources(false);
}

SampleDepot SiteServer::depot(const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  return *impl_->find_mount(name)->depot;
}

void SiteServer::set_depot_tokens(const DepotTokens& tokens) {
  std::lock_guard lock(impl_->mutex);
  impl_->tokens.set(tokens);
  if (impl_->base_url.empty()) return;
  for (Mount& mount : impl_->mounts) impl_->give_base_url(mount);  // absolute URLs hold the token
  impl_->rebuild_resources(false);
}

std::string SiteServer::depot_url(const std::string& name, const std::string& path) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->mount_url(*impl_->find_mount(name)) + path;
}

std::string SiteServer::depot_url_template(const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  const Mount& mount = *impl_->find_mount(name);
  return impl_->base_url + (impl_->tokens.tokens().valid.empty() ? "" : "{token}/") + mount.prefix +
         SampleDepot::index_path();
}

std::string SiteServer::depot_path(const std::string& name, const std::string& path) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->find_mount(name)->prefix + path;
}

}  // namespace esxmirror::testing
