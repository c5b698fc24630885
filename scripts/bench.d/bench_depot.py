"""The online-depot scenarios of scripts/bench (issue 9): S6, a full mirror of a depot of many VIBs
against aria2c + sha256sum on the bare VIB list, then its no-op night; S7, a no-op night with 20,000
VIBs known. A mixin of scripts/bench's Bench (esx_sync, repeat, tables come from there)."""
import io
import itertools
import os
import posixpath
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
import zipfile

from bench_lib import (CLEANUP, HELPERS, RunFailed, Site, Table, check, fmt_int, human_bytes, log, measure, median,
                       rmtree)

DEPOT_VERSION = "8.0.3"  # the generated depot's one release


def fetch(url):
    """A document of the sample site, untimed and without any proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url) as answer:
        return answer.read()


def depot_vibs(depot_url):
    """Every VIB the depot's metadata lists: [(url, sha256)], read the way a client reads the depot
    (depot index -> vendor index -> metadata zip -> vibs/*.xml), so the baseline gets no help from esxmirror."""
    vibs = []
    for vendor in ET.fromstring(fetch(depot_url)).iter("vendor"):
        vendor_url = urllib.parse.urljoin(depot_url, vendor.findtext("relativePath", "") + vendor.findtext("indexfile"))
        for metadata in ET.fromstring(fetch(vendor_url)).iter("metadata"):
            zip_url = urllib.parse.urljoin(vendor_url, metadata.findtext("url"))
            base = posixpath.dirname(zip_url) + "/"
            with zipfile.ZipFile(io.BytesIO(fetch(zip_url))) as z:
                for name in z.namelist():
                    if name.startswith("vibs/") and name.endswith(".xml"):
                        vib = ET.fromstring(z.read(name))
                        vibs.append((urllib.parse.urljoin(base, vib.findtext("relative-path")),
                                     vib.find("checksum").text.strip()))
    return sorted(set(vibs))


class DepotScenarios:
    def depot_site(self, key, vibs, vib_size, latency):
        log(f"{key}: starting the sample site with a depot of {vibs} VIBs x {human_bytes(vib_size)}, {latency} ms")
        site = Site(self.site_binary, os.path.join(CLEANUP.tmp, f"site-{key}"), 1, 1024, latency, depot_vibs=vibs,
                    depot_vib_size=vib_size)
        log(f"  site ready in {site.startup_s:.1f} s: {site.depot_url}")
        return site

    def depot_sync(self, site, dest, jobs):
        return self.esx_sync(site, dest, jobs=jobs, source=site.depot_url, version=DEPOT_VERSION)

    @staticmethod
    def depot_counts(r):
        """(placed, failed) VIBs of the one depot source of a report."""
        (source,) = r.report["sources"]
        return source["vibs_placed"], source["vibs_failed"]

    def s6(self):
        """Full depot mirror vs aria2c -j JOBS + sha256sum -c on the VIB list; then the no-op night."""
        a = self.args
        self.stop_sites()
        site = self.depot_site("S6", a.s6_vibs, a.s6_vib_size, a.latency)
        work = os.path.join(CLEANUP.tmp, "s6")
        os.makedirs(work)
        vibs = depot_vibs(site.depot_url)
        if len(vibs) != a.s6_vibs:
            raise RunFailed(f"the depot's metadata lists {len(vibs)} VIBs, expected {a.s6_vibs}")
        urls_file, sums_file = os.path.join(work, "urls.txt"), os.path.join(work, "SHA256SUMS")
        with open(urls_file, "w") as f:
            f.write("".join(url + "\n" for url, _ in vibs))
        with open(sums_file, "w") as f:
            f.write("".join(f"{sha}  {posixpath.basename(urllib.parse.urlparse(url).path)}\n" for url, sha in vibs))
        dests, runs = {}, itertools.count(1)

        def fresh(tool):  # keeps only the latest destination of each tool (the no-op run goes on from esxmirror's)
            rmtree(dests.get(tool, ""))
            dests[tool] = os.path.join(work, f"{tool}-{next(runs)}")
            return dests[tool]

        def run_esx():
            r = self.depot_sync(site, fresh("esx"), a.s6_jobs)
            placed, failed = self.depot_counts(r)
            if placed != a.s6_vibs or failed:
                raise RunFailed(f"esxmirror placed {placed} of {a.s6_vibs} VIBs, {failed} failed")
            return r

        def run_aria():
            dest = fresh("aria")
            r = measure(["bash", os.path.join(HELPERS, "aria2-sha256.sh"), urls_file, str(a.s6_jobs), dest, sums_file],
                        site, label="aria2c + sha256sum")
            n = len([f for f in os.listdir(dest) if f.endswith(".vib")])
            if n != a.s6_vibs:
                raise RunFailed(f"aria2c fetched {n} of {a.s6_vibs} VIBs")
            return r

        names = {"esx": "esxmirror sync (depot, fresh dest)",
                 "aria": f"aria2c -j {a.s6_jobs} (VIB URLs given), then sha256sum -c"}
        full, full_failures = self.repeat("S6", [("esx", names["esx"], run_esx), ("aria", names["aria"], run_aria)])
        rmtree(dests.pop("aria", ""))
        if "esx" not in dests or not full["esx"]:
            log("S6: setting up the no-op run (untimed): a full esxmirror sync")
            run_esx()

        def run_noop():
            r = self.depot_sync(site, dests["esx"], a.s6_jobs)
            placed, failed = self.depot_counts(r)
            if placed or failed:
                raise RunFailed(f"the no-op sync placed {placed} VIBs, {failed} failed")
            return r

        noop_name = "esxmirror sync (depot, no-op: the same depot again)"
        noop, noop_failures = self.repeat("S6 no-op", [("noop", noop_name, run_noop)])
        site.stop()
        t = Table(f"S6 depot: {a.s6_vibs} VIBs × {human_bytes(a.s6_vib_size)}, {a.latency} ms latency per request; "
                  f"then the same depot again")
        t.add(names["esx"], full["esx"], f"--jobs {a.s6_jobs}; depot index, vendor index, metadata zip, every VIB",
              full_failures["esx"])
        t.add(names["aria"], full["aria"], "no depot document read", full_failures["aria"])
        e = noop["noop"]
        note = ""
        if e:
            note = (f"{fmt_int(median([r.not_modified for r in e]))} × 304, "
                    f"{fmt_int(median([r.vib_requests for r in e]))} VIB requests")
        t.add(noop_name, e, note, noop_failures["noop"])
        self.tables.append(t.render(names["esx"]))
        esx, aria, idle = t.wall(names["esx"]), t.wall(names["aria"]), t.wall(noop_name)
        check("S6", "full ≥ 1.25× faster than aria2c + sha256sum", (esx, aria),
              lambda x, b: f"{b / x:.2f}× ({x:.2f} s vs {b:.2f} s)", lambda x, b: b / x >= 1.25)
        check("S6", "no-op wall ≤ 5% of the full run", (idle, esx),
              lambda x, f: f"{x:.3f} s = {100 * x / f:.1f}% of {f:.2f} s", lambda x, f: x <= 0.05 * f)
        check("S6", "no-op: zero VIB requests", (max((r.vib_requests for r in e), default=None),), str,
              lambda n: n == 0)

    def s7(self):
        """A no-op night of a depot whose 20,000 VIBs are all placed."""
        a = self.args
        self.stop_sites()
        site = self.depot_site("S7", a.s7_vibs, a.s7_vib_size, 0)
        dest = os.path.join(CLEANUP.tmp, "s7", "mirror")
        log(f"S7: setting up (untimed, 0 ms latency, --jobs 16): full sync of {a.s7_vibs} VIBs")
        setup = self.depot_sync(site, dest, 16)
        log(f"  setup sync: {setup.wall:.1f} s, {setup.requests} requests")
        placed, failed = self.depot_counts(setup)
        if placed != a.s7_vibs or failed:
            raise RunFailed(f"the S7 setup sync placed {placed} of {a.s7_vibs} VIBs, {failed} failed")
        site.set_latency(a.latency)

        def run_noop():
            r = self.depot_sync(site, dest, a.jobs)
            placed, failed = self.depot_counts(r)
            if placed or failed or r.vib_requests:
                raise RunFailed(f"the no-op sync placed {placed} VIBs, {failed} failed, {r.vib_requests} VIB requests")
            return r

        name = "esxmirror sync (depot, no-op)"
        results, failures = self.repeat("S7", [("noop", name, run_noop)])
        site.stop()
        t = Table(f"S7 depot no-op: {a.s7_vibs} VIBs placed, {a.latency} ms latency, nothing changed")
        note = f"setup sync at 0 ms latency: {setup.wall:.1f} s"
        if results["noop"]:
            note = f"{fmt_int(median([r.not_modified for r in results['noop']]))} × 304; " + note
        t.add(name, results["noop"], note, failures["noop"])
        self.tables.append(t.render(None))
        check("S7", "no-op ≤ 0.5 s", (t.wall(name),), lambda w: f"{w:.3f} s", lambda w: w <= 0.5)
