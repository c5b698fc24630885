// TransferEngine: scheduling only. Lanes of requests with their own limits, one libcurl multi handle for
// all of them, retries with backoff that never block the other transfers, restarts, stop; completed files
// go to the CommitPool and are reported once they are under their final name. What an attempt means is
// decided by classify() (response_classifier), the bytes on disk are PartialFileWriter's, the easy
// handle's options and callbacks are Attempt's.
#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "esxmirror/net/transfer.hpp"
#include "esxmirror/util/url.hpp"
#include "net/commit_pool.hpp"
#include "net/curl_handles.hpp"
#include "net/response_classifier.hpp"
#include "net/transfer_attempt.hpp"

namespace esxmirror::net {

namespace {

using SteadyClock = std::chrono::steady_clock;
using detail::Attempt;
using detail::Job;
using detail::Verdict;

constexpr auto kPollCap = std::chrono::milliseconds(100);  // bounds the reaction to the stop flag
constexpr int kCommitThreads = 4;                          // fsyncs in flight at once (see commit_pool.hpp)

struct Lane {
  std::string name;
  int limit = 1;
  int in_flight = 0;
  std::deque<std::unique_ptr<Job>> ready;  // retries and restarts go to the front
};

Response make_response(const Job& job, Outcome outcome, std::string error) {
  Response r;
  r.tag = job.request.tag;
  r.url = job.request.url;
  r.outcome = outcome;
  r.status = job.last_status;
  r.validators = job.last_validators;
  r.content_type = job.last_content_type;
  r.content_length = job.last_content_length;
  r.http_version = job.http_version;
  r.attempts = job.attempts;
  r.error = std::move(error);
  return r;
}

}  // namespace

struct TransferEngine::Impl {
  using OnDone = std::function<void(Response&&)>;

  detail::EngineShared shared;
  RetryPolicy retry;
  // A new easy handle per attempt (libcurl 7.88 refuses CURLOPT_BUFFERSIZE on a reset handle that served an
  // HTTP/2 stream); DNS answers and TLS sessions live in the share (it outlives the multi), connections in
  // the multi.
  detail::ShareHandle share;
  detail::MultiHandle multi;

  std::mutex queue_mutex;
  std::deque<Lane> lanes;  // guarded by queue_mutex
  int total_limit = 0;     // guarded by queue_mutex: the sum of the lanes' limits
  int applied_limit = 0;   // run()'s thread: what the multi handle was told
  std::atomic<int> holds{0};

  std::unordered_map<CURL*, std::unique_ptr<Attempt>> in_flight;
  std::multimap<SteadyClock::time_point, std::unique_ptr<Job>> retry_at;
  std::unordered_map<std::uint64_t, std::unique_ptr<Job>> committing;  // by commit id
  std::uint64_t next_commit = 0;
  bool running = false;
  detail::CommitPool commits;  // last: its threads wake `multi` up, so they end before it does

  Impl(NetworkSettings s, RetryPolicy r, int parallel)
      : shared{std::move(s)},
        retry(r),
        share(detail::make_share()),
        multi(detail::make_multi()),
        commits(kCommitThreads, [this] { wake(); }) {
    curl_multi_setopt(multi.get(), CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
    add_lane("default", parallel);
  }
  ~Impl();

  LaneId add_lane(std::string name, int limit) {
    std::lock_guard lock(queue_mutex);
    lanes.push_back({std::move(name), std::max(limit, 1), 0, {}});
    total_limit += lanes.back().limit;
    return static_cast<LaneId>(lanes.size() - 1);
  }
  void wake() { curl_multi_wakeup(multi.get()); }
  void run(const OnDone& on_done);

 private:
  void apply_limits();
  std::vector<std::unique_ptr<Job>> take_startable();
  bool can_start_more();
  bool idle_now();
  void promote_due_retries();
  void requeue_front(std::unique_ptr<Job> job);
  void start(std::unique_ptr<Job> job, const OnDone& on_done);
  void release(Attempt& t);
  void finish(CURL* easy, CURLcode result, const OnDone& on_done);
  void deliver_commits(const OnDone& on_done);
  void abort_all(const OnDone& on_done);
  void schedule_retry(std::unique_ptr<Job> job, const std::string& why, std::optional<std::chrono::seconds> after);
};

TransferEngine::Impl::~Impl() {
  for (auto& entry : in_flight) {
    Attempt& t = *entry.second;
    curl_multi_remove_handle(multi.get(), t.easy.get());
    t.easy.reset();                   // before the buffers it points into
    if (t.writer) t.writer->close();  // the partial and its record stay resumable
  }
  in_flight.clear();
}

void TransferEngine::Impl::apply_limits() {
  int limit = 0;
  {
    std::lock_guard lock(queue_mutex);
    limit = total_limit;
  }
  if (limit == applied_limit) return;
  applied_limit = limit;
  curl_multi_setopt(multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(limit));
  curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(limit) * 2);
}

std::vector<std::unique_ptr<Job>> TransferEngine::Impl::take_startable() {
  std::vector<std::unique_ptr<Job>> out;
  std::lock_guard lock(queue_mutex);
  for (Lane& lane : lanes) {
    while (lane.in_flight < lane.limit && !lane.ready.empty()) {
      out.push_back(std::move(lane.ready.front()));
      lane.ready.pop_front();
      ++lane.in_flight;
    }
  }
  return out;
}

bool TransferEngine::Impl::can_start_more() {
  std::lock_guard lock(queue_mutex);
  return std::any_of(lanes.begin(), lanes.end(),
                     [](const Lane& l) { return l.in_flight < l.limit && !l.ready.empty(); });
}

bool TransferEngine::Impl::idle_now() {
  if (!in_flight.empty() || !retry_at.empty() || !committing.empty() || commits.pending() > 0) return false;
  std::lock_guard lock(queue_mutex);
  return std::all_of(lanes.begin(), lanes.end(), [](const Lane& l) { return l.ready.empty(); });
}

void TransferEngine::Impl::requeue_front(std::unique_ptr<Job> job) {
  std::lock_guard lock(queue_mutex);
  lanes[static_cast<std::size_t>(job->request.lane)].ready.push_front(std::move(job));
}

void TransferEngine::Impl::promote_due_retries() {
  const auto now = SteadyClock::now();
  while (!retry_at.empty() && retry_at.begin()->first <= now) {
    auto job = std::move(retry_at.begin()->second);
    retry_at.erase(retry_at.begin());
    requeue_front(std::move(job));  // retries go before requests that never started
  }
}

void TransferEngine::Impl::start(std::unique_ptr<Job> job, const OnDone& on_done) {
  auto t = std::make_unique<Attempt>();
  t->engine = &shared;
  t->job = std::move(job);
  try {
    t->easy = detail::make_easy();
    curl_easy_setopt(t->easy.get(), CURLOPT_SHARE, share.get());
    // The run-wide limit is split evenly over every lane's slots, so even with all of them busy the
    // total stays under it (with fewer in flight, less of it is used).
    const std::uint64_t limit = shared.settings.limit_rate;
    t->configure(limit > 0 ? std::max<std::uint64_t>(limit / static_cast<std::uint64_t>(applied_limit), 1) : 0);
    const CURLMcode mc = curl_multi_add_handle(multi.get(), t->easy.get());
    if (mc != CURLM_OK) throw std::runtime_error(std::string("libcurl: ") + curl_multi_strerror(mc));
  } catch (const std::exception& e) {
    t->easy.reset();  // it may already point into `t`
    {
      std::lock_guard lock(queue_mutex);
      --lanes[static_cast<std::size_t>(t->job->request.lane)].in_flight;
    }
    on_done(make_response(*t->job, Outcome::refused, detail::one_line_masked(e.what())));
    return;
  }
  ++t->job->attempts;
  shared.requests.fetch_add(1, std::memory_order_relaxed);
  CURL* key = t->easy.get();
  in_flight.emplace(key, std::move(t));
}

void TransferEngine::Impl::release(Attempt& t) {
  curl_multi_remove_handle(multi.get(), t.easy.get());
  // Gone before the Attempt it points into (error buffer, header list, callback data); the connection
  // stays in the multi's pool.
  t.easy.reset();
  std::lock_guard lock(queue_mutex);
  --lanes[static_cast<std::size_t>(t.job->request.lane)].in_flight;
}

void TransferEngine::Impl::schedule_retry(std::unique_ptr<Job> job, const std::string& why,
                                          std::optional<std::chrono::seconds> after) {
  const int counted = job->attempts - job->restarts;
  const auto wait = retry.delay(counted + 1, after);
  spdlog::debug("retrying {} in {} ms (attempt {} of {}): {}", util::mask_url(job->request.url), wait.count(),
                counted + 1, retry.max_attempts, why);
  retry_at.emplace(SteadyClock::now() + wait, std::move(job));
}

void TransferEngine::Impl::finish(CURL* easy, CURLcode result, const OnDone& on_done) {
  auto node = in_flight.extract(easy);
  if (node.empty()) return;
  std::unique_ptr<Attempt> attempt = std::move(node.mapped());
  Attempt& t = *attempt;
  // A 2xx without a single body byte still makes a (empty) file.
  if (result == CURLE_OK && t.kind() == detail::RequestKind::file && !t.body_started && t.response.status / 100 == 2 &&
      t.failure.kind == detail::LocalFailure::Kind::none) {
    (void)t.begin_body();
  }
  const detail::AttemptFacts facts = t.facts(result, retry);
  release(t);
  const Verdict verdict = detail::classify(facts, shared.settings, std::chrono::system_clock::now());

  if (t.writer && verdict.partial == Verdict::Partial::keep) t.writer->close();
  if (t.writer && verdict.partial == Verdict::Partial::discard) t.writer->discard();
  switch (verdict.action) {
    case Verdict::Action::retry:
      schedule_retry(std::move(t.job), verdict.text, verdict.retry_after);
      return;
    case Verdict::Action::restart:
      ++t.job->restarts;
      spdlog::debug("starting {} over: {}", util::mask_url(t.job->request.url), verdict.text);
      requeue_front(std::move(t.job));
      return;
    case Verdict::Action::done:
      break;
  }
  if (verdict.partial == Verdict::Partial::commit) {
    const std::uint64_t id = next_commit++;
    committing.emplace(id, std::move(t.job));
    commits.submit(id, std::move(t.writer));
    return;
  }
  Response r = make_response(*t.job, verdict.outcome, verdict.text);
  if (verdict.outcome == Outcome::ok) {
    r.body = std::move(t.body);
    r.bytes = r.body.size();
  }
  on_done(std::move(r));
}

void TransferEngine::Impl::deliver_commits(const OnDone& on_done) {
  for (auto& done : commits.take_finished()) {
    auto node = committing.extract(done.id);
    const Job& job = *node.mapped();
    if (!done.result.ok()) {
      on_done(make_response(job, Outcome::refused, detail::one_line_masked(done.result.text)));
      continue;
    }
    Response r = make_response(job, Outcome::ok, "");
    r.bytes = done.writer->size();
    r.digests = done.writer->digests();
    r.resumed = done.writer->resumed();
    on_done(std::move(r));
  }
}

void TransferEngine::Impl::abort_all(const OnDone& on_done) {
  std::vector<Response> responses;
  for (auto& entry : in_flight) {
    Attempt& t = *entry.second;
    release(t);
    if (t.writer) t.writer->close();  // the partial and its record stay: the next run resumes it
    if (t.response.status != 0) {
      t.job->last_status = t.response.status;
      t.job->last_validators = t.response.validators;
    }
    responses.push_back(make_response(*t.job, Outcome::aborted, "stopped before it finished"));
  }
  in_flight.clear();
  for (auto& [due, job] : retry_at) {
    responses.push_back(make_response(*job, Outcome::aborted, "stopped while waiting to retry"));
  }
  retry_at.clear();
  {
    std::lock_guard lock(queue_mutex);
    for (Lane& lane : lanes) {
      for (auto& job : lane.ready) {
        responses.push_back(make_response(*job, Outcome::aborted, "stopped before it started"));
      }
      lane.ready.clear();
    }
  }
  for (auto& r : responses) on_done(std::move(r));
}

void TransferEngine::Impl::run(const OnDone& on_done) {
  if (running) throw std::logic_error("TransferEngine::run is not reentrant");
  running = true;
  struct Guard {
    bool& flag;
    ~Guard() { flag = false; }
  } guard{running};

  for (;;) {
    deliver_commits(on_done);  // complete files are reported even after a stop
    if (shared.stop_requested()) {
      abort_all(on_done);  // on_done may add more: they are aborted on the next turn
      if (idle_now()) break;
      if (!committing.empty()) curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(kPollCap.count()), nullptr);
      continue;
    }
    apply_limits();
    promote_due_retries();
    for (auto& job : take_startable()) start(std::move(job), on_done);
    if (idle_now() && holds.load() == 0) break;

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
    if (can_start_more()) timeout = std::chrono::milliseconds(0);
    curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(timeout.count()), nullptr);
  }
}

TransferEngine::TransferEngine(NetworkSettings settings, RetryPolicy retry, int max_parallel)
    : impl_(std::make_unique<Impl>(std::move(settings), retry, max_parallel)) {}

TransferEngine::~TransferEngine() = default;

LaneId TransferEngine::add_lane(std::string name, int max_parallel) {
  const LaneId id = impl_->add_lane(std::move(name), max_parallel);
  impl_->wake();
  return id;
}

void TransferEngine::add(Request request) {
  if (request.method == Method::head && !request.file.empty()) {
    throw std::invalid_argument("a HEAD request has no body to write to " + request.file.string());
  }
  auto job = std::make_unique<Job>();
  job->request = std::move(request);
  {
    std::lock_guard lock(impl_->queue_mutex);
    const auto lane = job->request.lane;
    if (lane < 0 || static_cast<std::size_t>(lane) >= impl_->lanes.size()) {
      throw std::invalid_argument("unknown transfer lane " + std::to_string(lane));
    }
    impl_->lanes[static_cast<std::size_t>(lane)].ready.push_back(std::move(job));
  }
  impl_->wake();
}

void TransferEngine::run(const std::function<void(Response&&)>& on_done) { impl_->run(on_done); }

TransferEngine::Hold TransferEngine::hold() {
  impl_->holds.fetch_add(1);
  return Hold(this);
}

TransferEngine::Hold::Hold(Hold&& other) noexcept : engine_(std::exchange(other.engine_, nullptr)) {}

TransferEngine::Hold& TransferEngine::Hold::operator=(Hold&& other) noexcept {
  if (this != &other) {
    Hold old(std::move(*this));
    engine_ = std::exchange(other.engine_, nullptr);
  }
  return *this;
}

TransferEngine::Hold::~Hold() {
  if (!engine_) return;
  engine_->impl_->holds.fetch_sub(1);
  engine_->impl_->wake();
}

TransferStats TransferEngine::stats() const {
  TransferStats s;
  s.requests = impl_->shared.requests.load();
  s.body_bytes = impl_->shared.body_bytes.load();
  s.connections = impl_->shared.connections.load();
  return s;
}

}  // namespace esxmirror::net
