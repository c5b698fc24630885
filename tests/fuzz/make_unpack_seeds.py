#!/usr/bin/env python3
"""Writes the seed archives of fuzz_unpack into tests/fuzz/seeds/fuzz_unpack/ (committed; rerun to regenerate).

Small well-formed bundles (tgz, tar, zip, the ESX layout) and the hostile tricks of issue 4 point 4, so the
fuzzer starts next to every refusal path. Absolute names point at /tmp/esxmirror-fuzz-escape, which the
fuzz target checks never appears."""
import io
import os
import stat
import tarfile
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "fuzz_unpack")
CANARY = "/tmp/esxmirror-fuzz-escape"
MTIME = 1175126400  # 2007-03-29
tarfile.RECORDSIZE = tarfile.BLOCKSIZE  # no padding to 10 KiB records: small seeds


def tar_bytes(entries, mode="w"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.mtime = MTIME
            info.type = e.get("type", tarfile.REGTYPE)
            info.mode = e.get("mode", 0o755 if info.type == tarfile.DIRTYPE else 0o644)
            info.linkname = e.get("link", "")
            info.devmajor, info.devminor = e.get("dev", (0, 0))
            data = e.get("data", b"")
            info.size = len(data) if info.type == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if info.size else None)
    return buf.getvalue()


def d(name, **kw):
    return dict(name=name, type=tarfile.DIRTYPE, **kw)


def f(name, data=b"x\n", **kw):
    return dict(name=name, data=data, **kw)


def sym(name, link):
    return dict(name=name, type=tarfile.SYMTYPE, link=link)


def hard(name, link):
    return dict(name=name, type=tarfile.LNKTYPE, link=link)


ESX = [
    d("ESX-1000039/"),
    f("ESX-1000039/contents.xml", b"<contents><rpm>VMware-esx-1.rpm</rpm></contents>\n"),
    f("ESX-1000039/descriptor.xml", b"<descriptor id='ESX-1000039' release='2007-03-29'/>\n"),
    d("ESX-1000039/RPMS/"),
    f("ESX-1000039/RPMS/VMware-esx-1.rpm", b"\xed\xab\xee\xdb" + b"rpm" * 20),
]


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2007, 3, 29, 0, 0, 0))
            info.create_system = 3  # unix: external_attr holds the mode
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


seeds = {
    "esx_bundle.tgz": tar_bytes(ESX, "w:gz"),
    "esx_bundle.tar": tar_bytes(ESX[:3]),
    "esx_bundle.tar.bz2": tar_bytes(ESX[:3], "w:bz2"),
    "esx_bundle.tar.xz": tar_bytes(ESX[:3], "w:xz"),
    "esx_bundle.zip": zip_bytes([
        ("ESX-1000039/", b"", stat.S_IFDIR | 0o755),
        ("ESX-1000039/contents.xml", b"<contents/>\n", stat.S_IFREG | 0o644),
        ("ESX-1000039/link", b"contents.xml", stat.S_IFLNK | 0o777),
    ]),
    "dotdot.tgz": tar_bytes([d("ESX-1/"), f("ESX-1/../../evil")], "w:gz"),
    "dotdot_inside.tar": tar_bytes([d("ESX-1/a/"), f("ESX-1/a/../b")]),
    "absolute.tar": tar_bytes([f(CANARY + "/pwned")]),
    "symlink_out.tar": tar_bytes([d("ESX-1/"), sym("ESX-1/up", "../../.."), sym("ESX-1/abs", CANARY)]),
    "symlink_write.tar": tar_bytes([d("ESX-1/"), sym("ESX-1/d", CANARY), f("ESX-1/d/pwned")]),
    "symlink_chain.tar": tar_bytes([
        d("ESX-1/a/b/"), sym("ESX-1/a/b/up", ".."), sym("ESX-1/x", "a/b/up/../.."), f("ESX-1/x/pwned"),
    ]),
    "hardlink_out.tar": tar_bytes([d("ESX-1/"), hard("ESX-1/h", CANARY), hard("ESX-1/g", "../outside")]),
    "hardlink_in.tar": tar_bytes([d("ESX-1/"), f("ESX-1/a"), hard("ESX-1/b", "ESX-1/a"), f("ESX-1/b", b"y")]),
    "setuid.tar": tar_bytes([d("ESX-1/", mode=0o1777), f("ESX-1/su", mode=0o6755)]),
    "device.tar": tar_bytes([
        d("ESX-1/"), dict(name="ESX-1/null", type=tarfile.CHRTYPE, dev=(1, 3)),
        dict(name="ESX-1/fifo", type=tarfile.FIFOTYPE),
    ]),
    "bomb.tgz": tar_bytes([f("ESX-1/zeros", b"\0" * (2 << 20))], "w:gz"),
    "many_entries.tgz": tar_bytes([f("ESX-1/f%03d" % i, b"") for i in range(70)], "w:gz"),
    "zip_tricks.zip": zip_bytes([
        ("../evil", b"x", stat.S_IFREG | 0o644),
        (CANARY + "/pwned", b"x", stat.S_IFREG | 0o644),
        ("ESX-1/l", CANARY.encode(), stat.S_IFLNK | 0o777),
        ("ESX-1/l/pwned", b"x", stat.S_IFREG | 0o644),
        ("ESX-1/su", b"x", stat.S_IFREG | 0o4755),
    ]),
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as out:
        out.write(data)
print("wrote %d seeds, %d bytes" % (len(seeds), sum(len(v) for v in seeds.values())))
