// TransferEngine: one libcurl multi handle, up to max_parallel transfers in flight, pages to memory,
// files streamed to disk through a hasher, conditional GET, resume with Range + If-Range, retry with
// backoff scheduled without blocking the other transfers.
#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "esxmirror/net/transfer.hpp"
#include "esxmirror/util/url.hpp"
#include "net/curl_handles.hpp"
#include "net/partial_file.hpp"

namespace esxmirror::net {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::not_modified: return "not_modified";
    case Outcome::auth: return "auth";
    case Outcome::not_found: return "not_found";
    case Outcome::http_error: return "http_error";
    case Outcome::exhausted: return "exhausted";
    case Outcome::refused: return "refused";
    case Outcome::aborted: return "aborted";
  }
  return "unknown";
}

namespace {

using SteadyClock = std::chrono::steady_clock;
using detail::EasyHandle;
using detail::HeaderList;

constexpr long kCurlBufferSize = 256 * 1024;       // CURLOPT_BUFFERSIZE: fewer, larger writes
constexpr std::size_t kFileBufferSize = 1u << 20;  // stdio buffer of a file being written
constexpr std::size_t kHashChunk = 1u << 20;       // reading a partial prefix to hash it
constexpr auto kPollCap = std::chrono::milliseconds(100);  // bounds the reaction to request_stop()
constexpr int kMaxRestarts = 3;                    // 416 / bad Content-Range: start over, not an attempt

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// One line, masked, no trailing punctuation noise: for text coming from libcurl.
std::string clean_message(std::string_view text) {
  std::string line(trim(text));
  for (char& c : line) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  return util::mask_secrets(line);
}

const char* reason_phrase(long status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

std::string http_status_text(long status) {
  std::string text = "HTTP " + std::to_string(status);
  const char* reason = reason_phrase(status);
  if (*reason) {
    text += ' ';
    text += reason;
  }
  return text;
}

std::string attempts_text(int attempts) {
  return std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
}

// A request across its attempts.
struct Job {
  Request request;
  int attempts = 0;   // requests sent for it (each retry and restart included)
  int restarts = 0;   // of those, restarts after a refused range (do not count against max_attempts)
  long last_status = 0;
  Validators last_validators;
  std::string last_content_type;
};

// What the libcurl callbacks of every transfer need from the engine.
struct EngineShared {
  NetworkSettings settings;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> body_bytes{0};
};

struct Transfer;

}  // namespace

struct TransferEngine::Impl {
  EngineShared shared;
  NetworkSettings& settings = shared.settings;
  RetryPolicy retry;
  int max_parallel;

  detail::MultiHandle multi;
  std::vector<EasyHandle> idle;  // reused: keeps DNS cache and TLS sessions; connections live in the multi
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> in_flight;

  std::mutex queue_mutex;
  std::deque<std::unique_ptr<Job>> ready;                              // guarded by queue_mutex
  std::multimap<SteadyClock::time_point, std::unique_ptr<Job>> retry_at;  // run()'s thread only

  std::atomic<bool>& stop = shared.stop;
  std::atomic<std::uint64_t>& requests = shared.requests;
  bool running = false;

  Impl(NetworkSettings s, RetryPolicy r, int parallel)
      : shared{std::move(s)}, retry(r), max_parallel(std::max(parallel, 1)), multi(detail::make_multi()) {
    curl_multi_setopt(multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(max_parallel));
    curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(max_parallel) * 2);
  }
  ~Impl();

  void run(const std::function<void(Response&&)>& on_done);

 private:
  std::unique_ptr<Job> pop_ready();
  bool has_ready();
  void promote_due_retries();
  void start(std::unique_ptr<Job> job, const std::function<void(Response&&)>& on_done);
  void configure(Transfer& t);
  void finish(CURL* easy, CURLcode result, const std::function<void(Response&&)>& on_done);
  void abort_all(const std::function<void(Response&&)>& on_done);
  void release(Transfer& t);
  void schedule_retry(std::unique_ptr<Job> job, const std::string& why, std::optional<std::chrono::seconds> after);
};

namespace {

// One attempt of one job, in flight.
struct Transfer {
  EngineShared* engine = nullptr;
  std::unique_ptr<Job> job;
  EasyHandle easy;
  HeaderList headers;
  char errbuf[CURL_ERROR_SIZE] = {};
  std::string range;  // CURLOPT_RANGE value, kept alive for the attempt

  // Headers of the current response (reset at each status line: only the final one after redirects).
  long status = 0;
  Validators validators;
  std::string retry_after;
  std::string content_range;

  std::uint64_t received = 0;  // body bytes this attempt (kept or discarded)

  // Memory requests.
  std::string body;
  bool too_large = false;

  // File requests.
  std::uint64_t resume_offset = 0;  // bytes of the partial asked to be continued (0: no Range)
  FilePtr out;
  std::vector<char> out_buffer;
  util::StreamHasher hasher;
  std::uint64_t file_bytes = 0;  // bytes in the partial file, prefix included
  bool file_started = false;
  bool resumed = false;
  std::string write_error;     // local I/O failure: refused
  std::string protocol_error;  // server answer we cannot use: http_error
  std::string restart;         // reason to discard the partial and start over at once

  bool is_file() const { return !job->request.file.empty(); }
};

bool stop_requested(const Transfer& t);

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t n = size * count;
  const std::string_view line = trim(std::string_view(data, n));
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (redirect hop, proxy CONNECT, 100-continue): forget the previous one's headers.
    t.status = 0;
    t.validators = {};
    t.retry_after.clear();
    t.content_range.clear();
    const auto space = line.find(' ');
    if (space != std::string_view::npos) {
      const std::string_view code = line.substr(space + 1, 3);
      long value = 0;
      if (std::from_chars(code.data(), code.data() + code.size(), value).ec == std::errc()) t.status = value;
    }
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string name = lower(trim(line.substr(0, colon)));
  const std::string value(trim(line.substr(colon + 1)));
  if (name == "etag") {
    t.validators.etag = value;
  } else if (name == "last-modified") {
    t.validators.last_modified = value;
  } else if (name == "retry-after") {
    t.retry_after = value;
  } else if (name == "content-range") {
    t.content_range = value;
  }
  return n;
}

// Opens the partial file for the body that is starting: appending after a 206 that continues our
// prefix (hashed once here), or from zero otherwise. Returns false with write_error / restart /
// protocol_error set when the body cannot be accepted.
bool begin_file(Transfer& t) {
  t.file_started = true;
  const auto& file = t.job->request.file;
  const auto part = partial_path(file);
  if (t.status == 206) {
    if (t.resume_offset == 0) {
      t.protocol_error = "HTTP 206 Partial Content to a request without Range";
      return false;
    }
    // "bytes START-END/TOTAL": it must continue exactly where the partial ends.
    const std::string expected = "bytes " + std::to_string(t.resume_offset) + "-";
    if (t.content_range.rfind(expected, 0) != 0) {
      t.restart = "the server answered the range request with Content-Range '" + t.content_range + "'";
      return false;
    }
    t.out.reset(std::fopen(part.c_str(), "r+b"));
    if (!t.out) {
      t.write_error = "cannot open " + part.string() + ": " + std::strerror(errno);
      return false;
    }
    t.out_buffer.resize(kFileBufferSize);
    std::setvbuf(t.out.get(), t.out_buffer.data(), _IOFBF, t.out_buffer.size());
    t.hasher.reset();
    std::vector<char> chunk(kHashChunk);
    std::uint64_t left = t.resume_offset;
    while (left > 0) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
      const std::size_t got = std::fread(chunk.data(), 1, want, t.out.get());
      if (got == 0) break;
      t.hasher.update(chunk.data(), got);
      left -= got;
    }
    if (left > 0) {
      t.out.reset();
      t.restart = "the partial file " + part.string() + " shrank while resuming";
      return false;
    }
    if (fseeko(t.out.get(), static_cast<off_t>(t.resume_offset), SEEK_SET) != 0 ||
        ftruncate(fileno(t.out.get()), static_cast<off_t>(t.resume_offset)) != 0) {
      t.write_error = "cannot write " + part.string() + ": " + std::strerror(errno);
      return false;
    }
    t.file_bytes = t.resume_offset;
    t.resumed = true;
    return true;
  }
  // A whole body (200, or the server ignored / refused our If-Range): never glue it to a prefix.
  // Order matters for a crash in between: drop the old record, truncate, then record the new validators.
  detail::remove_partial_record(file);
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path().empty() ? "." : file.parent_path(), ec);
  t.out.reset(std::fopen(part.c_str(), "wb"));
  if (!t.out) {
    t.write_error = "cannot write " + part.string() + ": " + std::strerror(errno);
    return false;
  }
  t.out_buffer.resize(kFileBufferSize);
  std::setvbuf(t.out.get(), t.out_buffer.data(), _IOFBF, t.out_buffer.size());
  t.hasher.reset();
  t.file_bytes = 0;
  t.resumed = false;
  if (!detail::if_range_value(t.validators).empty()) {
    try {
      detail::write_partial_record(file, {util::mask_url(t.job->request.url), t.validators});
    } catch (const std::exception& e) {
      t.write_error = e.what();
      return false;
    }
  }
  return true;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (stop_requested(t)) return 0;  // ends the transfer: reported as aborted
  t.received += n;
  t.engine->body_bytes.fetch_add(n, std::memory_order_relaxed);
  if (t.status / 100 != 2) return n;  // an error page: not kept
  if (!t.is_file()) {
    if (t.body.size() + n > t.engine->settings.max_page_bytes) {
      t.too_large = true;
      return 0;
    }
    t.body.append(data, n);
    return n;
  }
  if (!t.file_started && !begin_file(t)) return 0;
  if (!t.out) return 0;
  if (std::fwrite(data, 1, n, t.out.get()) != n) {
    t.write_error = "cannot write " + partial_path(t.job->request.file).string() + ": " + std::strerror(errno);
    return 0;
  }
  t.hasher.update(data, n);
  t.file_bytes += n;
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return stop_requested(*static_cast<Transfer*>(user)) ? 1 : 0;
}

// Flushes and closes the partial file; returns an error text or "".
std::string close_file(Transfer& t, bool sync) {
  if (!t.out) return "";
  std::string error;
  if (std::fflush(t.out.get()) != 0 || (sync && fsync(fileno(t.out.get())) != 0)) {
    error = "cannot write " + partial_path(t.job->request.file).string() + ": " + std::strerror(errno);
  }
  if (std::fclose(t.out.release()) != 0 && error.empty()) {
    error = "cannot write " + partial_path(t.job->request.file).string() + ": " + std::strerror(errno);
  }
  t.out_buffer.clear();
  t.out_buffer.shrink_to_fit();
  return error;
}

template <typename T>
void setopt(CURL* easy, CURLoption option, T value) {
  const CURLcode rc = curl_easy_setopt(easy, option, value);
  if (rc != CURLE_OK) {
    throw std::runtime_error(std::string("libcurl option refused: ") + curl_easy_strerror(rc));
  }
}

Response make_response(const Job& job, Outcome outcome, std::string error) {
  Response r;
  r.tag = job.request.tag;
  r.url = job.request.url;
  r.outcome = outcome;
  r.status = job.last_status;
  r.validators = job.last_validators;
  r.content_type = job.last_content_type;
  r.attempts = job.attempts;
  r.error = std::move(error);
  return r;
}

}  // namespace

namespace {
// request_stop(), or the process-wide flag a SIGINT/SIGTERM handler sets (NetworkSettings::stop_flag).
bool stop_requested(EngineShared& engine) {
  if (engine.settings.stop_flag && engine.settings.stop_flag->load(std::memory_order_relaxed)) engine.stop.store(true);
  return engine.stop.load(std::memory_order_relaxed);
}
bool stop_requested(const Transfer& t) { return stop_requested(*t.engine); }
}  // namespace

TransferEngine::Impl::~Impl() {
  for (auto& entry : in_flight) {
    Transfer& t = *entry.second;
    curl_multi_remove_handle(multi.get(), t.easy.get());
    t.easy.reset();               // before the buffers it points into
    (void)close_file(t, false);  // the partial and its record stay resumable
  }
  in_flight.clear();
  idle.clear();
}

std::unique_ptr<Job> TransferEngine::Impl::pop_ready() {
  std::lock_guard lock(queue_mutex);
  if (ready.empty()) return nullptr;
  auto job = std::move(ready.front());
  ready.pop_front();
  return job;
}

bool TransferEngine::Impl::has_ready() {
  std::lock_guard lock(queue_mutex);
  return !ready.empty();
}

void TransferEngine::Impl::promote_due_retries() {
  const auto now = SteadyClock::now();
  while (!retry_at.empty() && retry_at.begin()->first <= now) {
    auto job = std::move(retry_at.begin()->second);
    retry_at.erase(retry_at.begin());
    std::lock_guard lock(queue_mutex);
    ready.push_front(std::move(job));  // retries go before requests that never started
  }
}

void TransferEngine::Impl::configure(Transfer& t) {
  CURL* h = t.easy.get();
  const Request& req = t.job->request;
  const NetworkSettings& s = settings;

  setopt(h, CURLOPT_URL, s.secrets.request(req.url).c_str());  // libcurl keeps a copy
  setopt(h, CURLOPT_PRIVATE, static_cast<void*>(&t));
  setopt(h, CURLOPT_ERRORBUFFER, t.errbuf);
  setopt(h, CURLOPT_NOSIGNAL, 1L);
  setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  setopt(h, CURLOPT_MAXREDIRS, s.max_redirects);
  setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!s.cacert.empty()) setopt(h, CURLOPT_CAINFO, s.cacert.c_str());
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
  if (s.limit_rate > 0) {
    // The run-wide limit is split evenly: every transfer gets limit_rate / max_parallel, so even with
    // all slots busy the total stays under the limit (with fewer in flight, less of it is used).
    const auto share = std::max<std::uint64_t>(s.limit_rate / static_cast<std::uint64_t>(max_parallel), 1);
    setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, static_cast<curl_off_t>(share));
    // One read must not exceed a second's worth, or the limit only shows between large bursts
    // (as the curl tool does); libcurl's minimum buffer is 1 KiB.
    buffer_size = static_cast<long>(std::clamp<std::uint64_t>(share, 1024, kCurlBufferSize));
  }
  setopt(h, CURLOPT_BUFFERSIZE, buffer_size);
  setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  setopt(h, CURLOPT_HEADERDATA, static_cast<void*>(&t));
  setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(&t));
  setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  setopt(h, CURLOPT_XFERINFODATA, static_cast<void*>(&t));
  setopt(h, CURLOPT_NOPROGRESS, 0L);

  if (!req.conditional.etag.empty()) {
    t.headers.append("If-None-Match: " + detail::header_safe(req.conditional.etag));
  }
  if (!req.conditional.last_modified.empty()) {
    t.headers.append("If-Modified-Since: " + detail::header_safe(req.conditional.last_modified));
  }

  if (req.file.empty()) {
    // Pages may come compressed; the limit applies to the decoded bytes (on_body).
    setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(s.max_page_bytes));
  } else {
    // Bundles: the bytes as stored, never a transfer-decoded variant (checksums are of the file).
    setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    // Resume only a partial whose record still names this URL and holds a usable validator.
    const auto part = partial_path(req.file);
    std::error_code ec;
    const auto size = std::filesystem::is_regular_file(part, ec) ? std::filesystem::file_size(part, ec) : 0;
    const auto record = detail::read_partial_record(req.file);
    const std::string if_range = record ? detail::if_range_value(record->validators) : std::string();
    if (!ec && size > 0 && record && record->url == util::mask_url(req.url) && !if_range.empty()) {
      t.resume_offset = size;
      t.range = std::to_string(size) + "-";
      setopt(h, CURLOPT_RANGE, t.range.c_str());
      t.headers.append("If-Range: " + detail::header_safe(if_range));
    } else {
      discard_partial(req.file);  // no validator to prove it is the same file: never glue
    }
  }
  if (t.headers.get()) setopt(h, CURLOPT_HTTPHEADER, t.headers.get());
}

void TransferEngine::Impl::start(std::unique_ptr<Job> job, const std::function<void(Response&&)>& on_done) {
  auto t = std::make_unique<Transfer>();
  t->engine = &shared;
  t->job = std::move(job);
  try {
    if (!idle.empty()) {
      t->easy = std::move(idle.back());  // reset when it was released
      idle.pop_back();
    } else {
      t->easy = detail::make_easy();
    }
    configure(*t);
    const CURLMcode mc = curl_multi_add_handle(multi.get(), t->easy.get());
    if (mc != CURLM_OK) throw std::runtime_error(std::string("libcurl: ") + curl_multi_strerror(mc));
  } catch (const std::exception& e) {
    if (t->easy) {
      curl_easy_reset(t->easy.get());  // it may already point into `t`
      idle.push_back(std::move(t->easy));
    }
    on_done(make_response(*t->job, Outcome::refused, clean_message(e.what())));
    return;
  }
  ++t->job->attempts;
  requests.fetch_add(1, std::memory_order_relaxed);
  CURL* key = t->easy.get();
  in_flight.emplace(key, std::move(t));
}

void TransferEngine::Impl::release(Transfer& t) {
  curl_multi_remove_handle(multi.get(), t.easy.get());
  // Forget every pointer into the Transfer (error buffer, header list, callback data) before it goes;
  // a reset keeps the handle's DNS cache and TLS sessions, and connections stay in the multi's pool.
  curl_easy_reset(t.easy.get());
  idle.push_back(std::move(t.easy));
}

void TransferEngine::Impl::schedule_retry(std::unique_ptr<Job> job, const std::string& why,
                                          std::optional<std::chrono::seconds> after) {
  const int counted = job->attempts - job->restarts;
  const auto wait = retry.delay(counted + 1, after);
  spdlog::debug("retrying {} in {} ms (attempt {} of {}): {}", util::mask_url(job->request.url), wait.count(),
                counted + 1, retry.max_attempts, why);
  retry_at.emplace(SteadyClock::now() + wait, std::move(job));
}

void TransferEngine::Impl::finish(CURL* easy, CURLcode result, const std::function<void(Response&&)>& on_done) {
  auto node = in_flight.extract(easy);
  if (node.empty()) return;
  std::unique_ptr<Transfer> tp = std::move(node.mapped());
  Transfer& t = *tp;
  Job& job = *t.job;

  long redirects = 0;
  curl_easy_getinfo(easy, CURLINFO_REDIRECT_COUNT, &redirects);
  if (redirects > 0) requests.fetch_add(static_cast<std::uint64_t>(redirects), std::memory_order_relaxed);
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  if (t.status == 0) t.status = code;
  // A request that was sent went over a connection, new or reused (a reused one has no connect time).
  long request_bytes = 0;
  curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_bytes);
  const char* content_type = nullptr;
  curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &content_type);
  if (t.status != 0) {
    job.last_status = t.status;
    job.last_validators = t.validators;
    job.last_content_type = content_type ? content_type : "";
  }
  const std::string curl_error = clean_message(t.errbuf[0] ? t.errbuf : curl_easy_strerror(result));
  release(t);

  const int counted = job.attempts - job.restarts;
  const int max_attempts = std::max(retry.max_attempts, 1);
  auto done = [&](Outcome outcome, std::string error) {
    Response r = make_response(job, outcome, std::move(error));
    if (outcome == Outcome::ok) {
      r.body = std::move(t.body);
      r.bytes = t.is_file() ? t.file_bytes : r.body.size();
      if (t.is_file()) r.digests = t.hasher.finish();
      r.resumed = t.resumed;
    }
    on_done(std::move(r));
  };
  auto retry_or_exhaust = [&](const std::string& cause, bool http) {
    (void)close_file(t, false);  // whatever arrived stays as the partial, resumed on the next attempt
    if (counted < max_attempts && !stop.load()) {
      std::optional<std::chrono::seconds> after;
      if (!t.retry_after.empty()) after = parse_retry_after(t.retry_after, std::chrono::system_clock::now());
      schedule_retry(std::move(t.job), cause, after);
      return;
    }
    if (stop.load()) {
      done(Outcome::aborted, "stopped before it finished (last: " + cause + ")");
    } else {
      done(Outcome::exhausted, http ? cause + " after " + attempts_text(counted)
                                    : cause + " (" + attempts_text(counted) + ")");
    }
  };

  // Local reasons first: they explain why libcurl stopped.
  auto local_failure = [&]() {
    if (!t.write_error.empty()) {
      (void)close_file(t, false);
      done(Outcome::refused, clean_message(t.write_error));
      return true;
    }
    if (!t.restart.empty()) {
      (void)close_file(t, false);
      discard_partial(job.request.file);
      if (job.restarts >= kMaxRestarts) {
        done(Outcome::http_error, "cannot resume and cannot start over: " + clean_message(t.restart));
        return true;
      }
      ++job.restarts;
      spdlog::debug("starting {} over: {}", util::mask_url(job.request.url), clean_message(t.restart));
      std::lock_guard lock(queue_mutex);
      ready.push_front(std::move(t.job));
      return true;
    }
    if (!t.protocol_error.empty()) {
      (void)close_file(t, false);
      done(Outcome::http_error, t.protocol_error);
      return true;
    }
    return false;
  };
  if (local_failure()) return;
  if (result != CURLE_OK && stop.load()) {
    (void)close_file(t, false);  // the partial and its record stay: the next run resumes it
    done(Outcome::aborted, "stopped before it finished");
    return;
  }
  if (t.too_large || result == CURLE_FILESIZE_EXCEEDED) {
    done(Outcome::refused, "page larger than " + std::to_string(settings.max_page_bytes) + " bytes");
    return;
  }

  if (result == CURLE_OK) {
    const long status = t.status;
    if (status / 100 == 2) {
      if (t.is_file()) {
        if (!t.file_started && !begin_file(t)) {  // an empty body still makes a file
          (void)local_failure();
          return;
        }
        std::string error = close_file(t, true);
        std::error_code ec;
        if (error.empty()) {
          std::filesystem::rename(partial_path(job.request.file), job.request.file, ec);
          if (ec) error = "cannot rename to " + job.request.file.string() + ": " + ec.message();
        }
        if (!error.empty()) {
          done(Outcome::refused, clean_message(error));
          return;
        }
        detail::remove_partial_record(job.request.file);
      }
      done(Outcome::ok, "");
      return;
    }
    (void)close_file(t, false);
    if (status == 304) {
      done(Outcome::not_modified, "");
    } else if (status == 401 || status == 403 || status == 407) {
      done(Outcome::auth, http_status_text(status) + ": check the credentials (netrc, proxy) or the URL");
    } else if (status == 404 || status == 410) {
      done(Outcome::not_found, http_status_text(status));
    } else if (status == 416 && t.resume_offset > 0 && job.restarts < kMaxRestarts) {
      // The partial is no use to the server (e.g. the file shrank): start over without Range.
      discard_partial(job.request.file);
      ++job.restarts;
      std::lock_guard lock(queue_mutex);
      ready.push_front(std::move(t.job));
    } else if (status == 429 || status / 100 == 5) {
      retry_or_exhaust("HTTP " + std::to_string(status), true);
    } else {
      done(Outcome::http_error, http_status_text(status));
    }
    return;
  }

  switch (result) {
    case CURLE_TOO_MANY_REDIRECTS:
      done(Outcome::refused, "too many redirects (more than " + std::to_string(settings.max_redirects) + ")");
      return;
    case CURLE_UNSUPPORTED_PROTOCOL:
      done(Outcome::refused, "only http and https URLs are allowed (" + curl_error + ")");
      return;
    case CURLE_URL_MALFORMAT:
      done(Outcome::refused, "malformed URL (" + curl_error + ")");
      return;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      done(Outcome::refused, "TLS verification failed: " + curl_error);
      return;
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      (void)close_file(t, false);
      done(Outcome::refused, curl_error);
      return;
    case CURLE_OPERATION_TIMEDOUT:
      if (request_bytes > 0) {
        retry_or_exhaust("timed out: below " + std::to_string(settings.low_speed_limit) + " B/s for " +
                             std::to_string(settings.low_speed_time_s) + " s",
                         false);
      } else {
        retry_or_exhaust("timed out connecting after " + std::to_string(settings.connect_timeout_s) + " s", false);
      }
      return;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      if (t.received > 0) {
        retry_or_exhaust("connection cut after " + std::to_string(t.received) + " bytes", false);
      } else {
        retry_or_exhaust("connection failed: " + curl_error, false);
      }
      return;
    default:
      // Connection refused, name resolution, TLS handshake, proxy...: transient until proven otherwise.
      retry_or_exhaust(curl_error, false);
      return;
  }
}

void TransferEngine::Impl::abort_all(const std::function<void(Response&&)>& on_done) {
  std::vector<Response> responses;
  for (auto& entry : in_flight) {
    Transfer& t = *entry.second;
    release(t);
    (void)close_file(t, false);  // the partial and its record stay: the next run resumes it
    if (t.status != 0) {
      t.job->last_status = t.status;
      t.job->last_validators = t.validators;
    }
    responses.push_back(make_response(*t.job, Outcome::aborted, "stopped before it finished"));
  }
  in_flight.clear();
  for (auto& [due, job] : retry_at) {
    responses.push_back(make_response(*job, Outcome::aborted, "stopped while waiting to retry"));
  }
  retry_at.clear();
  while (auto job = pop_ready()) {
    responses.push_back(make_response(*job, Outcome::aborted, "stopped before it started"));
  }
  for (auto& r : responses) on_done(std::move(r));
}

void TransferEngine::Impl::run(const std::function<void(Response&&)>& on_done) {
  if (running) throw std::logic_error("TransferEngine::run is not reentrant");
  running = true;
  struct Guard {
    bool& flag;
    ~Guard() { flag = false; }
  } guard{running};

  for (;;) {
    if (stop_requested(shared)) {
      abort_all(on_done);  // on_done may add more: they are aborted on the next turn
      if (in_flight.empty() && retry_at.empty() && !has_ready()) break;
      continue;
    }
    promote_due_retries();
    while (static_cast<int>(in_flight.size()) < max_parallel) {
      auto job = pop_ready();
      if (!job) break;
      start(std::move(job), on_done);
    }
    if (in_flight.empty() && retry_at.empty() && !has_ready()) break;

    int still_running = 0;
    curl_multi_perform(multi.get(), &still_running);
    bool finished_any = false;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      finished_any = true;
      finish(msg->easy_handle, msg->data.result, on_done);
    }
    if (finished_any) continue;

    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kPollCap);
    if (!retry_at.empty()) {
      const auto until = std::chrono::ceil<std::chrono::milliseconds>(retry_at.begin()->first - SteadyClock::now());
      timeout = std::clamp(until, std::chrono::milliseconds(0), timeout);
    }
    if (has_ready() && static_cast<int>(in_flight.size()) < max_parallel) timeout = std::chrono::milliseconds(0);
    curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(timeout.count()), nullptr);
  }
}

TransferEngine::TransferEngine(NetworkSettings settings, RetryPolicy retry, int max_parallel)
    : impl_(std::make_unique<Impl>(std::move(settings), retry, max_parallel)) {}

TransferEngine::~TransferEngine() = default;

void TransferEngine::add(Request request) {
  auto job = std::make_unique<Job>();
  job->request = std::move(request);
  std::lock_guard lock(impl_->queue_mutex);
  impl_->ready.push_back(std::move(job));
}

void TransferEngine::run(const std::function<void(Response&&)>& on_done) { impl_->run(on_done); }

void TransferEngine::request_stop() { impl_->stop.store(true); }

TransferStats TransferEngine::stats() const {
  TransferStats s;
  s.requests = impl_->requests.load();
  s.body_bytes = impl_->shared.body_bytes.load();
  return s;
}

}  // namespace esxmirror::net
