#include "net/transfer_attempt.hpp"

#include <algorithm>
#include <stdexcept>

#include "esxmirror/util/url.hpp"
#include "net/partial_file.hpp"

namespace esxmirror::net::detail {

namespace {

constexpr long kCurlBufferSize = 256 * 1024;  // CURLOPT_BUFFERSIZE: fewer, larger writes

template <typename T>
void setopt(CURL* easy, CURLoption option, T value) {
  const CURLcode rc = curl_easy_setopt(easy, option, value);
  if (rc != CURLE_OK) {
    throw std::runtime_error("libcurl option " + std::to_string(static_cast<int>(option)) +
                             " refused: " + curl_easy_strerror(rc));
  }
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Attempt*>(user);
  t.response.feed(std::string_view(data, size * count));
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Attempt*>(user);
  const size_t n = size * count;
  if (t.engine->stop_requested()) return 0;  // ends the transfer: reported as aborted
  t.received += n;
  t.engine->body_bytes.fetch_add(n, std::memory_order_relaxed);
  if (t.response.status / 100 != 2) return n;  // an error page: not kept
  if (t.kind() != RequestKind::file) {
    if (t.body.size() + n > t.engine->settings.max_page_bytes) {
      t.failure = {LocalFailure::Kind::page_too_large, ""};
      return 0;
    }
    t.body.append(data, n);
    return n;
  }
  if (!t.body_started && !t.begin_body()) return 0;
  const auto& expected = t.job->request.expected_size;
  if (expected && t.writer->size() + n > *expected) {
    t.failure = {LocalFailure::Kind::size_mismatch, "size mismatch: expected " + std::to_string(*expected) +
                                                        " bytes, received at least " +
                                                        std::to_string(t.writer->size() + n) + " (cut)"};
    return 0;
  }
  if (auto written = t.writer->append(data, n); !written.ok()) {
    t.failure = {LocalFailure::Kind::io, written.text};
    return 0;
  }
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Attempt*>(user)->engine->stop_requested() ? 1 : 0;
}

}  // namespace

bool EngineShared::stop_requested() {
  if (settings.stop_flag && settings.stop_flag->load(std::memory_order_relaxed)) stop.store(true);
  return stop.load(std::memory_order_relaxed);
}

RequestKind Attempt::kind() const {
  if (job->request.method == Method::head) return RequestKind::head;
  return job->request.file.empty() ? RequestKind::page : RequestKind::file;
}

void Attempt::configure(std::uint64_t rate_share) {
  CURL* h = easy.get();
  const Request& req = job->request;
  const NetworkSettings& s = engine->settings;

  setopt(h, CURLOPT_URL, s.secrets.request(req.url).c_str());  // stored form in, secrets put back; libcurl copies it
  setopt(h, CURLOPT_PRIVATE, static_cast<void*>(this));
  setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  setopt(h, CURLOPT_NOSIGNAL, 1L);
  setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  setopt(h, CURLOPT_MAXREDIRS, s.max_redirects);
  setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!s.cacert.empty()) setopt(h, CURLOPT_CAINFO, s.cacert.c_str());
  // HTTP/2 when TLS's ALPN offers it (its streams share one connection), else HTTP/1.1. For https a new
  // transfer waits for a connection being set up to say whether it multiplexes instead of opening one
  // more; plain http never multiplexes here, so waiting would only cost a round trip.
  setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  if (util::url_scheme(req.url).value_or("") == "https") setopt(h, CURLOPT_PIPEWAIT, 1L);
  // Empty: not set, so libcurl applies http_proxy / https_proxy / no_proxy from the environment.
  if (!s.proxy.empty()) setopt(h, CURLOPT_PROXY, s.proxy.c_str());
  setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  if (s.netrc) {
    setopt(h, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_OPTIONAL));
    if (!s.netrc_file.empty()) setopt(h, CURLOPT_NETRC_FILE, s.netrc_file.c_str());
  }
  setopt(h, CURLOPT_CONNECTTIMEOUT, s.connect_timeout_s);
  setopt(h, CURLOPT_LOW_SPEED_LIMIT, s.low_speed_limit);
  setopt(h, CURLOPT_LOW_SPEED_TIME, s.low_speed_time_s);
  setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  setopt(h, CURLOPT_USERAGENT, s.user_agent.empty() ? "esxmirror" : s.user_agent.c_str());
  long buffer_size = kCurlBufferSize;
  if (rate_share > 0) {
    setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, static_cast<curl_off_t>(rate_share));
    // One read must not exceed a second's worth, or the limit only shows between large bursts
    // (as the curl tool does); libcurl's minimum buffer is 1 KiB.
    buffer_size = static_cast<long>(std::clamp<std::uint64_t>(rate_share, 1024, kCurlBufferSize));
  }
  setopt(h, CURLOPT_BUFFERSIZE, buffer_size);
  setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  setopt(h, CURLOPT_HEADERDATA, static_cast<void*>(this));
  setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(this));
  setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  setopt(h, CURLOPT_XFERINFODATA, static_cast<void*>(this));
  setopt(h, CURLOPT_NOPROGRESS, 0L);

  if (!req.conditional.etag.empty()) headers.append("If-None-Match: " + header_safe(req.conditional.etag));
  if (!req.conditional.last_modified.empty()) {
    headers.append("If-Modified-Since: " + header_safe(req.conditional.last_modified));
  }

  switch (kind()) {
    case RequestKind::head:
      setopt(h, CURLOPT_NOBODY, 1L);
      break;
    case RequestKind::page:
      // Pages may come compressed; the limit applies to the decoded bytes (on_body).
      setopt(h, CURLOPT_ACCEPT_ENCODING, "");
      setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(s.max_page_bytes));
      break;
    case RequestKind::file: {
      // Bundles: the bytes as stored, never a transfer-decoded variant (checksums are of the file).
      setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
      writer = std::make_unique<PartialFileWriter>(req.file, req.digests, req.durable, &engine->hash_lanes.next());
      if (auto resume = PartialFileWriter::resumable(req.file, util::mask_url(req.url), req.expected_size)) {
        resume_offset = resume->offset;
        range = std::to_string(resume->offset) + "-";
        setopt(h, CURLOPT_RANGE, range.c_str());
        headers.append("If-Range: " + header_safe(resume->if_range));
      }
      break;
    }
  }
  if (headers.get()) setopt(h, CURLOPT_HTTPHEADER, headers.get());
}

bool Attempt::begin_body() {
  body_started = true;
  const BodyStart start = decide_body_start(response, resume_offset, job->request.expected_size);
  WriterResult opened;
  switch (start.kind) {
    case BodyStart::Kind::protocol_error:
      failure = {LocalFailure::Kind::protocol, start.text};
      return false;
    case BodyStart::Kind::restart:
      failure = {LocalFailure::Kind::restart, start.text};
      return false;
    case BodyStart::Kind::size_mismatch:
      failure = {LocalFailure::Kind::size_mismatch, start.text};
      return false;
    case BodyStart::Kind::append:
      opened = writer->resume(resume_offset);
      break;
    case BodyStart::Kind::from_zero:
      opened = writer->start(util::mask_url(job->request.url), response.validators);
      break;
  }
  if (opened.ok()) return true;
  failure = {opened.kind == WriterResult::Kind::restart ? LocalFailure::Kind::restart : LocalFailure::Kind::io,
             opened.text};
  return false;
}

AttemptFacts Attempt::facts(CURLcode result, const RetryPolicy& retry) {
  CURL* h = easy.get();
  long redirects = 0;
  curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects);
  if (redirects > 0) engine->requests.fetch_add(static_cast<std::uint64_t>(redirects), std::memory_order_relaxed);
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  if (connects > 0) engine->connections.fetch_add(static_cast<std::uint64_t>(connects), std::memory_order_relaxed);
  if (response.status == 0) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  // https through a proxy: a refused CONNECT tunnel is the only answer there is (the origin never saw us).
  long tunnel_status = 0;
  curl_easy_getinfo(h, CURLINFO_HTTP_CONNECTCODE, &tunnel_status);
  const bool tunnel_refused = result != CURLE_OK && response.status == 0 && tunnel_status >= 300;
  if (tunnel_refused) response.status = tunnel_status;
  // A request that was sent went over a connection, new or reused.
  long request_bytes = 0;
  curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_bytes);
  if (response.status != 0) {
    const char* content_type = nullptr;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &content_type);
    long version = 0;
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
    job->last_status = response.status;
    job->last_validators = response.validators;
    job->last_content_type = content_type ? content_type : "";
    job->last_content_length = response.content_length;
    job->http_version = version == CURL_HTTP_VERSION_1_0   ? 10
                        : version == CURL_HTTP_VERSION_1_1 ? 11
                        : version == CURL_HTTP_VERSION_2_0 ? 20
                        : version == CURL_HTTP_VERSION_3   ? 30
                                                           : 0;
  }
  AttemptFacts f;
  f.kind = kind();
  f.curl_result = static_cast<int>(result);
  f.curl_error = one_line_masked(errbuf[0] ? errbuf : curl_easy_strerror(result));
  f.headers = response;
  f.tunnel_refused = tunnel_refused;
  f.host = util::url_host(job->request.url).value_or("");
  f.cacert = engine->settings.cacert;
  f.local = failure;
  f.resume_requested = resume_offset > 0;
  f.request_sent = request_bytes > 0;
  f.received = received;
  f.file_bytes = writer ? writer->size() : 0;
  f.expected_size = job->request.expected_size;
  f.stop = engine->stop_requested();
  f.counted_attempts = job->attempts - job->restarts;
  f.max_attempts = retry.max_attempts;
  f.restarts = job->restarts;
  return f;
}

}  // namespace esxmirror::net::detail
