"""Downloads served from a fake opener (no network), checksums, and safe extraction."""

from __future__ import annotations

import hashlib
import importlib
import io
import tarfile
import urllib.error

import pytest

from reslab.data import Archive, download, load_splits, safe_extract, verify_file
from reslab.errors import DataError

from .builders import cifar_files, write_tar_gz

# the function `download` shadows its module's name on the package, so fetch the module itself
download_module = importlib.import_module("reslab.data.download")


class _FakeResponse(io.BytesIO):
    def __init__(self, content: bytes, url: str) -> None:
        super().__init__(content)
        self.url = url
        self.headers = {"Content-Length": str(len(content))}


@pytest.fixture
def served(monkeypatch):
    """Replace the URL opener: URLs in the returned dict are served, others are unreachable."""
    pages: dict[str, bytes] = {}
    calls: list[str] = []

    def fake_open(url: str, timeout: float):
        calls.append(url)
        if url not in pages:
            raise urllib.error.URLError("[Errno -3] Temporary failure\nin name resolution")
        return _FakeResponse(pages[url], url)

    monkeypatch.setattr(download_module, "_open_url", fake_open)
    pages_and_calls = pages, calls
    return pages_and_calls


def _register(monkeypatch, name: str, content: bytes, *, url: str, checksum: str | None = None):
    checksum = checksum or "md5:" + hashlib.md5(content).hexdigest()
    archive = Archive(url, url.rsplit("/", 1)[1], checksum)
    monkeypatch.setitem(download_module.ARCHIVES, name, [archive])
    return archive


def test_download_verifies_and_skips_a_good_copy(tmp_path, monkeypatch, served):
    pages, calls = served
    content = b"hello archive" * 1000
    url = "https://example.test/data/thing.bin"
    pages[url] = content
    _register(monkeypatch, "cifar10", content, url=url)
    dest = download("cifar10", tmp_path, progress=False)
    assert dest == tmp_path / "cifar10"
    assert (dest / "thing.bin").read_bytes() == content
    assert sorted(p.name for p in dest.iterdir()) == ["thing.bin"]  # no temp file left
    download("cifar10", tmp_path, progress=False)
    assert calls == [url]  # the verified copy was kept, not fetched again


def test_download_then_load_cifar(tmp_path, monkeypatch, served):
    pages, _ = served
    archive = write_tar_gz(
        tmp_path / "src.tar.gz",
        {f"cifar-10-batches-py/{k}": v for k, v in cifar_files("cifar10", 2, 1).items()},
    )
    url = "https://example.test/cifar-10-python.tar.gz"
    pages[url] = archive.read_bytes()
    _register(monkeypatch, "cifar10", pages[url], url=url)
    splits = load_splits("cifar10", root=tmp_path / "store", download=True)
    assert len(splits.train) == 100
    assert (tmp_path / "store" / "cifar10" / "cifar-10-python.tar.gz").is_file()


def test_checksum_mismatch_leaves_nothing_behind(tmp_path, monkeypatch, served):
    pages, _ = served
    url = "https://example.test/thing.bin"
    pages[url] = b"tampered bytes"
    _register(monkeypatch, "mnist", b"", url=url, checksum="md5:" + "0" * 32)
    actual = hashlib.md5(b"tampered bytes").hexdigest()
    with pytest.raises(DataError) as info:
        download("mnist", tmp_path, progress=False)
    message = str(info.value)
    assert "0" * 32 in message and actual in message and str(tmp_path / "mnist") in message
    assert list((tmp_path / "mnist").iterdir()) == []


def test_non_https_is_refused_before_any_request(tmp_path, monkeypatch, served):
    _, calls = served
    _register(monkeypatch, "mnist", b"x", url="http://example.test/thing.bin")
    with pytest.raises(DataError, match="only https"):
        download("mnist", tmp_path, progress=False)
    _register(monkeypatch, "mnist", b"x", url="file:///etc/passwd")
    with pytest.raises(DataError, match="only https"):
        download("mnist", tmp_path, progress=False)
    assert calls == []


def test_redirect_to_http_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(
        download_module, "_open_url", lambda url, timeout: _FakeResponse(b"x", "http://evil.test/")
    )
    _register(monkeypatch, "mnist", b"x", url="https://example.test/thing.bin")
    with pytest.raises(DataError, match="non-https"):
        download("mnist", tmp_path, progress=False)
    assert list((tmp_path / "mnist").iterdir()) == []


def test_offline_is_one_clear_line(tmp_path, monkeypatch, served):
    url = "https://example.test/files/thing.bin"
    _register(monkeypatch, "mnist", b"x", url=url)  # not served: the opener raises URLError
    with pytest.raises(DataError) as info:
        download("mnist", tmp_path, progress=False)
    message = str(info.value)
    assert message.startswith("could not reach example.test")
    assert f"download {url} by hand and put it in {tmp_path / 'mnist'}" in message
    assert "\n" not in message


def test_mirror_is_tried_when_the_first_host_is_down(tmp_path, monkeypatch, served):
    pages, calls = served
    content = b"mirrored"
    mirror = "https://mirror.test/thing.bin"
    pages[mirror] = content
    archive = Archive(
        "https://down.test/thing.bin",
        "thing.bin",
        "md5:" + hashlib.md5(content).hexdigest(),
        (mirror,),
    )
    monkeypatch.setitem(download_module.ARCHIVES, "mnist", [archive])
    download("mnist", tmp_path, progress=False)
    assert calls == ["https://down.test/thing.bin", mirror]
    assert (tmp_path / "mnist" / "thing.bin").read_bytes() == content


def test_builtin_datasets_have_nothing_to_download(tmp_path):
    with pytest.raises(DataError, match="nothing to download"):
        download("digits", tmp_path)


def test_official_table_uses_https_and_published_md5s():
    table = download_module.ARCHIVES
    assert set(table) == {"cifar10", "cifar100", "mnist", "fashion_mnist"}
    for archives in table.values():
        for archive in archives:
            for url in (archive.url, *archive.mirrors):
                assert url.startswith("https://") and url.endswith(archive.filename)
            assert archive.checksum.startswith("md5:") and len(archive.checksum) == 36
    assert table["cifar10"][0].checksum == "md5:c58f30108f718f92721af3b95e74349a"
    assert len(table["mnist"]) == len(table["fashion_mnist"]) == 4


def test_verify_file_md5_sha256_and_bare_hex(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    md5, sha = hashlib.md5(b"abc").hexdigest(), hashlib.sha256(b"abc").hexdigest()
    assert verify_file(path, f"md5:{md5}") and verify_file(path, f"sha256:{sha}")
    assert verify_file(path, md5) and verify_file(path, sha.upper())
    assert not verify_file(path, "md5:" + "1" * 32)
    with pytest.raises(DataError, match="unsupported checksum"):
        verify_file(path, "crc32:abcd")


def _tar_with(path, member: tarfile.TarInfo, content: bytes = b"x"):
    with tarfile.open(path, "w:gz") as tar:
        member.size = len(content) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(content) if member.isfile() else None)
    return path


@pytest.mark.parametrize(
    "name", ["../evil", "/abs/evil", "ok/../../evil"], ids=["dotdot", "absolute", "nested"]
)
def test_safe_extract_refuses_paths_outside(tmp_path, name):
    archive = _tar_with(tmp_path / "a.tar.gz", tarfile.TarInfo(name))
    dest = tmp_path / "out" / "deep"
    with pytest.raises(DataError, match="unsafe"):
        safe_extract(archive, dest)
    assert not (tmp_path / "out" / "evil").exists() and not (tmp_path / "evil").exists()
    assert list(dest.iterdir()) == []


def test_safe_extract_refuses_links_out_of_the_tree(tmp_path):
    link = tarfile.TarInfo("inside/link")
    link.type, link.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
    with pytest.raises(DataError, match="links to"):
        safe_extract(_tar_with(tmp_path / "a.tar.gz", link), tmp_path / "out")
    absolute = tarfile.TarInfo("link")
    absolute.type, absolute.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with pytest.raises(DataError, match="links to"):
        safe_extract(_tar_with(tmp_path / "b.tar.gz", absolute), tmp_path / "out")


def test_safe_extract_extracts_a_good_archive(tmp_path):
    archive = write_tar_gz(tmp_path / "good.tar.gz", {"folder/a.txt": b"A", "b.txt": b"B"})
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "folder" / "a.txt").read_bytes() == b"A"
    assert (tmp_path / "out" / "b.txt").read_bytes() == b"B"
