"""Infrastructure of scripts/bench: the sample site driven over its control channel, one measured
command (wall, peak RSS, CPU, what the site saw), result tables, targets, the build and the machine."""
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELPERS = os.path.join(ROOT, "scripts", "bench.d")
VERSION = "3.5.0"
MiB = 1024 * 1024
TIME = "/usr/bin/time"  # GNU time (Debian package "time", installed by scripts/setup)


def parse_size(text):
    text = text.strip().upper().rstrip("B").rstrip("I")
    factor = {"K": 1024, "M": MiB, "G": 1024 * MiB}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * factor)


def human_bytes(n):
    if n is None:
        return "—"
    for unit, size in (("GiB", 1024 ** 3), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Children get no proxy settings at all: nothing but 127.0.0.1 is ever contacted.
CHILD_ENV = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
CHILD_ENV.update({"no_proxy": "*", "NO_PROXY": "*", "LC_ALL": "C"})


class Cleanup:
    """Everything to undo on exit, including Ctrl-C: the sites and a measured command still running."""

    def __init__(self):
        self.sites = []
        self.running = None  # Popen of the measured command (its own process group)
        self.tmp = None
        self.keep = False

    def run(self):
        if self.running is not None and self.running.poll() is None:
            try:
                os.killpg(self.running.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for site in list(self.sites):
            site.stop()
        if self.tmp and os.path.isdir(self.tmp):
            if self.keep:
                log(f"kept {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)


CLEANUP = Cleanup()


class Site:
    """The sample vendor site, driven over its --control stdin; counts requests via --log-requests.
    With depot_vibs, it also serves a generated online depot 'main' of that many VIBs (depot_url)."""

    def __init__(self, binary, work, patches, bundle_size, latency_ms, depot_vibs=0, depot_vib_size=65536):
        os.makedirs(work, exist_ok=True)
        self.log_path = os.path.join(work, "requests.log")
        port_file = os.path.join(work, "port")
        self.stderr = open(os.path.join(work, "site.stderr"), "w")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [binary, "--patches", str(patches), "--bundle-size", str(bundle_size), "--version", VERSION,
             "--latency-ms", str(latency_ms), "--port-file", port_file, "--log-requests", self.log_path,
             "--control", *(["--depot-vibs", str(depot_vibs), "--depot-vib-size", str(depot_vib_size)]
                            if depot_vibs else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True, env=CHILD_ENV)
        CLEANUP.sites.append(self)
        while not os.path.exists(port_file):
            if self.process.poll() is not None:
                raise SystemExit(f"bench: the sample site exited ({self.process.returncode}); see {work}/site.stderr")
            time.sleep(0.05)
        self.startup_s = time.monotonic() - started
        self.process.stdout.readline()  # "sample site: URL"
        self.depot_url = None
        if depot_vibs:  # "sample depot: URL" (no token: the URL is the request form)
            self.depot_url = self.process.stdout.readline().strip().split(": ", 1)[1]
        self.port = int(open(port_file).read())
        self.index_url = f"http://127.0.0.1:{self.port}/download/vi/vi3_patches.html"
        self.log_offset = 0

    def command(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise SystemExit(f"bench: sample site refused '{line}': {answer or 'no answer'}")
        return answer

    def set_latency(self, ms):
        self.command(f"latency {ms}")

    def take_requests(self):
        """The requests answered since the last call: [(method, path, status, bytes, conditional, range)]."""
        self.command("flush")
        with open(self.log_path) as f:
            f.seek(self.log_offset)
            text = f.read()
            self.log_offset = f.tell()
        out = []
        for line in text.splitlines():
            method, path, status, size, conditional, ranged = line.split("\t")
            out.append((method, path, int(status), int(size), conditional == "1", ranged == "1"))
        return out

    def stop(self):
        if self in CLEANUP.sites:
            CLEANUP.sites.remove(self)
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # end of input stops it
                self.process.wait(timeout=15)
            except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
                self.process.kill()
                self.process.wait()
        self.stderr.close()


class Result:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class RunFailed(Exception):
    """One measured command failed or produced the wrong result: recorded in its row, the bench goes on."""


def last_lines(text, n=3):
    return " / ".join(line.strip() for line in text.strip().splitlines()[-n:])


def listen_drops():
    """The kernel's count of connection attempts dropped on a full listen queue (TcpExt, all sockets)."""
    try:
        lines = open("/proc/net/netstat").read().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            row = dict(zip(names.split()[1:], map(int, values.split()[1:])))
            return row.get("ListenOverflows", 0) + row.get("ListenDrops", 0)
    return None


def measure(argv, site=None, stdout=None, expect_rc=(0,), label=""):
    """Runs argv once: wall, peak RSS, CPU, and what the site saw."""
    if site:
        site.take_requests()  # drop anything before
    os.sync()
    drops_before = listen_drops()
    err_path = os.path.join(CLEANUP.tmp, "last.stderr")
    usage_path = os.path.join(CLEANUP.tmp, "last.usage")
    # /usr/bin/time, not wait4() here: a child forked from Python would count Python's own pages in its
    # peak RSS; time(1) is small, and reports the peak of the largest process of the command's tree.
    with open(err_path, "w") as err, open(stdout or os.devnull, "w") as out:
        started = time.monotonic()
        process = subprocess.Popen([TIME, "-f", "%M %U %S", "-o", usage_path, "--", *argv], stdout=out, stderr=err,
                                   env=CHILD_ENV, start_new_session=True)
        CLEANUP.running = process
        process.wait()
        wall = time.monotonic() - started
        CLEANUP.running = None
    stderr = open(err_path).read()
    if site:
        hits = site.take_requests()
    if process.returncode not in expect_rc:
        raise RunFailed(f"{label or argv[0]} exited {process.returncode}: {last_lines(stderr)}")
    rss_kib, user, system = open(usage_path).read().split("\n")[-2].split()
    r = Result(wall=wall, rss=int(rss_kib) * 1024, cpu=float(user) + float(system), stderr=stderr,
               requests=None, bytes=None, bundle_bytes=None, vib_requests=None, unconditional=None,
               not_modified=None, phases={},
               note=None)
    drops_after = listen_drops()
    if drops_before is not None and drops_after is not None and drops_after > drops_before:
        r.note = f"{drops_after - drops_before} SYNs dropped on a full listen queue (1 s retries)"
    for line in stderr.splitlines():  # helper scripts: "bench-phase NAME START END"
        if line.startswith("bench-phase "):
            _, name, start, end = line.split()
            r.phases[name] = float(end) - float(start)
    if site:
        r.requests = len(hits)
        r.bytes = sum(h[3] for h in hits)
        r.bundle_bytes = sum(h[3] for h in hits if h[1].endswith((".tgz", ".vib")))  # bundle or VIB bodies
        r.vib_requests = sum(1 for h in hits if h[1].endswith(".vib"))
        r.unconditional = sum(1 for h in hits if not h[4])
        r.not_modified = sum(1 for h in hits if h[2] == 304)
    return r


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_int(x):
    return "—" if x is None else str(int(x))


# ---------------------------------------------------------------------------------------------------------
# Output


class Table:
    def __init__(self, title):
        self.title = title
        self.rows = []  # (name, [Result], note, [failure])

    def add(self, name, results, note="", failures=()):
        self.rows.append((name, results, note, list(failures)))

    def wall(self, name):
        for row_name, results, _, _ in self.rows:
            if row_name == name:
                return median([r.wall for r in results])
        return None

    def render(self, reference):
        ref = self.wall(reference) if reference else None
        lines = [f"### {self.title}", "",
                 "| tool | wall s (median; min–max) | × esxmirror | requests | bytes served | bundle/VIB bytes "
                 "| peak RSS | CPU s | notes |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for name, results, note, failures in self.rows:
            name = name.replace("|", "\\|")  # markdown
            failed = ""
            if failures:
                failed = (f"**FAILED {len(failures)} of {len(failures) + len(results)} runs**: " +
                          failures[0].replace("|", "\\|"))
            if not results:
                lines.append(f"| {name} | failed | — | — | — | — | — | — | {failed} |")
                continue
            walls = [r.wall for r in results]
            w = median(walls)
            spread = f" ({min(walls):.3f}–{max(walls):.3f})" if len(walls) > 1 else ""
            ratio = f"{w / ref:.2f}" if ref else "—"
            phases = {}
            for r in results:
                for k, v in r.phases.items():
                    phases.setdefault(k, []).append(v)
            extra = ", ".join(f"{k} {median(v):.2f} s" for k, v in phases.items())
            checks = "; ".join(sorted({r.note for r in results if r.note}))
            notes = "; ".join(x for x in (note, extra, checks, failed) if x)
            lines.append(f"| {name} | {w:.3f}{spread} | {ratio} | {fmt_int(median([r.requests for r in results]))} "
                         f"| {human_bytes(median([r.bytes for r in results]))} "
                         f"| {human_bytes(median([r.bundle_bytes for r in results]))} "
                         f"| {human_bytes(median([r.rss for r in results]))} "
                         f"| {median([r.cpu for r in results]):.2f} | {notes} |")
        return "\n".join(lines)


TARGETS = []  # (scenario, target, measured, holds)


def target(scenario, text, measured, holds):
    TARGETS.append((scenario, text, measured, holds))


def check(scenario, text, values, measure_text, holds):
    """A target over medians; 'not measured' when a run it needs failed every time."""
    if any(v is None for v in values):
        target(scenario, text, "not measured (runs failed)", False)
    else:
        target(scenario, text, measure_text(*values), holds(*values))


def build(build_dir):
    subprocess.run([os.path.join(ROOT, "scripts", "setup")], check=True)
    log(f"building Release into {build_dir}")
    subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                    "-DESXMIRROR_WERROR=OFF"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j", str(os.cpu_count() or 2), "--target", "esxmirror",
                    "esxmirror-sample-site"], check=True, stdout=subprocess.DEVNULL)


def source_state():
    """The commit built, and whether src/, include/ or the sample site had uncommitted changes."""
    def git(*args):
        try:
            return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True).stdout.strip()
        except OSError:  # no git: not a checkout
            return ""
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "src", "include", "tests/support", "CMakeLists.txt", "cmake")
    n = len(dirty.splitlines())
    return f"commit {head}" + (f" + {n} uncommitted file(s) in src/include/tests/support" if n else "")


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem_kib = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:")), 0)
    load = open("/proc/loadavg").read().split()[:3]
    return (f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}; "
            f"memory {mem_kib / 1024 / 1024:.1f} GiB; load average at start {' '.join(load)} "
            f"(the machine is shared: compare ratios within one run)")
